import Foundation
import Models
import SafeTensors

/// The fine-tuning heads of the seeds' benchmarks, named as Hugging Face's task models so a
/// fine-tuned folder loads in transformers (`AutoModelFor…`):
/// - `sequenceClassification` (GLUE): dropout + `classifier` on the pooled [CLS] (`…ForSequenceClassification`);
///   one label means regression (similarity scores, MSE).
/// - `tokenClassification` (NER, POS): dropout + `classifier` on every token (`…ForTokenClassification`).
/// - `questionAnswering` (SQuAD): `qa_outputs` → start and end logits per token (`…ForQuestionAnswering`).
/// - `multipleChoice` (RACE, SWAG): dropout + `classifier` → one score per (context, option) pair,
///   a softmax over the options (`…ForMultipleChoice`).
/// - `sentenceEmbedding` (a bi-encoder, sentence-transformers): each sentence is encoded on its
///   own and its token states are mean-pooled over the attention mask; a pair scores cos(u, v).
///   No parameters beyond the encoder; saved as a base model (`…Model`) with sentence-transformers'
///   module files, so `SentenceTransformer(folder)` and `pretrain embed` load it.
/// Families without a pooler (RoBERTa-style models pretrained here, ELECTRA) use the [CLS] hidden state.
public final class TaskModel: Module {
    public enum Head: Sendable, Equatable {
        case sequenceClassification(labels: Int)
        case tokenClassification(labels: Int)
        case questionAnswering
        case multipleChoice
        case sentenceEmbedding

        /// The transformers architecture name for a family.
        public func architecture(_ family: EncoderConfiguration.Family) -> String {
            let stem = ArchitectureName.stem(family)
            switch self {
            case .sequenceClassification: return stem + "ForSequenceClassification"
            case .tokenClassification: return stem + "ForTokenClassification"
            case .questionAnswering: return stem + "ForQuestionAnswering"
            case .multipleChoice: return stem + "ForMultipleChoice"
            case .sentenceEmbedding: return stem + "Model"
            }
        }
    }

    public let encoder: Encoder
    public let head: Head
    /// The head's output layer; nil for the sentence-embedding head, which has none.
    public let output: Linear?
    public let dropout: Float

    /// A task model on a new encoder of `config` (its weights random until loaded).
    public init(config: EncoderConfiguration, head: Head, seed: UInt64) throws {
        // The heads read the first token or every token of a bidirectional encoder; a causal model's
        // first token has seen nothing else (GPT2ForSequenceClassification reads the last one).
        guard !config.causal else {
            throw ModelError.invalidConfiguration("fine-tuning heads here read bidirectional encoders; \(config.family.rawValue) is causal — fine-tune a BERT-family model, or use a GPT-2 with `pretrain generate` / `eval --perplexity`")
        }
        var rng = RandomGenerator(seed: seed)
        encoder = try Encoder(config: config, rng: &rng)
        self.head = head
        dropout = config.hiddenDropout
        let outputs: Int
        let name: String
        switch head {
        case .sequenceClassification(let labels): (outputs, name) = (labels, "classifier")
        case .tokenClassification(let labels): (outputs, name) = (labels, "classifier")
        case .questionAnswering: (outputs, name) = (2, "qa_outputs")
        case .multipleChoice: (outputs, name) = (1, "classifier")
        case .sentenceEmbedding:
            output = nil
            return
        }
        // Heads start from N(0, initializer_range²) weights and zero biases, as transformers' _init_weights.
        output = Linear(name, inFeatures: config.hiddenSize, outFeatures: outputs, std: config.initializerRange, rng: &rng)
    }

    public var config: EncoderConfiguration { encoder.config }
    public var parameters: [Parameter] { encoder.parameters + (output?.parameters ?? []) }

    /// The parameters fine-tuning updates. Under the sentence-embedding head no loss reaches the
    /// pooler; sentence-transformers leaves it as loaded (no gradient, so AdamW skips it), whereas
    /// here weight decay would still shrink it — so it is left out and saved unchanged.
    public var trainableParameters: [Parameter] {
        guard head == .sentenceEmbedding, let pooler = encoder.pooler else { return parameters }
        let frozen = Set(pooler.parameters.map(ObjectIdentifier.init))
        return parameters.filter { !frozen.contains(ObjectIdentifier($0)) }
    }

    /// Loads a pretrained encoder from a Hugging Face folder (any heads in the file are ignored;
    /// the encoder's own weights must all be there) and puts a new `head` on it — or, with
    /// `requiringHead` (a distillation teacher), the folder's own head, which must be there.
    public static func load(folder: URL, head: Head, seed: UInt64, requiringHead: Bool = false) throws -> TaskModel {
        let (configURL, weightsURL) = try ModelFolder.files(in: folder)
        let file = try ConfigFile.load(from: configURL)
        var config = file.encoder
        let weights = try SafeTensorsFile(contentsOf: weightsURL)
        // A pooler is used when the checkpoint has one (BERT-style); otherwise the [CLS] state.
        let prefix = CheckpointLayout.of(config.family).basePrefix
        if let pooler = CheckpointLayout.of(config.family).pooler {
            config.pooler = weights.names.contains { $0 == "\(pooler).weight" || $0 == "\(prefix).\(pooler).weight" || $0 == "\(pooler).dense.weight" || $0 == "\(prefix).\(pooler).dense.weight" }
        } else {
            config.pooler = false
        }
        let model = try TaskModel(config: config, head: head, seed: seed)
        let report = try Checkpoint.load(model.encoder.parameters, family: config.family, from: weights, file: weightsURL.path, strict: false)
        guard report.missing.isEmpty else {
            throw ModelError.missingAndUnexpectedKeys(missing: report.missing, unexpected: [], file: weightsURL.path)
        }
        // A folder fine-tuned here carries its head too: keep it when the shape fits.
        if let output = model.output,
           (try? Checkpoint.load(output.parameters, family: config.family, from: weights, file: weightsURL.path, strict: false))?.missing.isEmpty != true {
            if requiringHead {
                throw ModelError.missingAndUnexpectedKeys(missing: output.parameters.map(\.name), unexpected: [], file: weightsURL.path + " (a teacher fine-tuned on this task, with a head of this shape)")
            }
            var rng = RandomGenerator(seed: seed, stream: [0x4ead])
            for p in output.parameters { if p.shape.count == 2 { rng.fillNormal(p.value, std: config.initializerRange) } else { p.value.fill(0) } }
        }
        return model
    }

    /// Whether a folder holds a sentence-embedding model rather than a task model: config.json
    /// names a base model (`…Model`, no task head) and sentence-transformers' `modules.json` is
    /// there — what ``save(folder:labels:maxSequenceLength:)`` writes for the embedding head, and
    /// what sentence-transformers models such as all-MiniLM-L6-v2 are.
    public static func isSentenceEmbeddingFolder(_ folder: URL) -> Bool {
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("modules.json").path),
              let file = try? ConfigFile.load(from: folder.appendingPathComponent("config.json")) else { return false }
        return !(file.architectures.first ?? "").contains("For")
    }

    /// input (B·C,T) → logits: classification (B,L); tagging (B,T,L); QA (B,T,2) as start/end
    /// columns; multiple choice with `choices` C options per example: (B,C); sentence embedding:
    /// one mean-pooled vector per input row (B·C,H), unnormalised (the losses take cosines).
    public func callAsFunction(_ input: EncoderInput, choices: Int = 1, training: Bool, tape: Tape) throws -> Variable {
        // Classification heads read the first token only, so the last layer runs on that row alone.
        let readsFirstTokenOnly = switch head {
        case .sequenceClassification, .multipleChoice: true
        default: false
        }
        let out = try encoder(input, training: training, tape: tape, readingOnly: readsFirstTokenOnly ? [] : nil)
        switch head {
        case .sentenceEmbedding:
            let mask = input.attentionMask ?? [Float](repeating: 1, count: input.batch * input.length)
            return tape.meanPool(out.hidden, mask: Tensor(mask, shape: [input.batch, input.length]))
        case .tokenClassification, .questionAnswering:
            var h = out.hidden
            if case .tokenClassification = head, training, dropout > 0 { h = tape.dropout(h, probability: dropout) }
            return try outputLayer()(h, tape: tape)
        case .sequenceClassification, .multipleChoice:
            var pooled: Variable
            if let p = out.pooled {
                pooled = p
            } else {
                let flat = tape.reshape(out.hidden, [-1, config.hiddenSize])
                pooled = try tape.gather(flat, indices: out.rows(at: (0..<input.batch).map { Int32($0 * input.length) }))
            }
            if training && dropout > 0 { pooled = tape.dropout(pooled, probability: dropout) }
            let logits = try outputLayer()(pooled, tape: tape)
            if case .multipleChoice = head { return tape.reshape(logits, [input.batch / choices, choices]) }
            return logits
        }
    }

    func outputLayer() throws -> Linear {
        guard let output else { throw ModelError.invalidConfiguration("the \(head) head has no output layer") }
        return output
    }

    /// Writes a Hugging Face folder (`config.json` with the task architecture and labels,
    /// `model.safetensors` with the base-model prefix, as transformers' task models name it).
    /// The sentence-embedding head writes a base model instead (`…Model`, names without the
    /// prefix, as `BertModel.save_pretrained`) plus sentence-transformers' files: mean pooling,
    /// then L2 normalisation — the score is a cosine, which normalising leaves unchanged, and unit
    /// vectors make a dot product that cosine for whoever uses the embeddings.
    /// `maxSequenceLength` goes into `sentence_bert_config.json` (the length trained at).
    public func save(folder: URL, labels: [String], maxSequenceLength: Int? = nil) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        let params = parameters
        let prefix = encoder.layout.basePrefix + "."
        try Checkpoint.add(params, family: config.family, to: &writer) { p in
            head == .sentenceEmbedding && p.name.hasPrefix(prefix) ? String(p.name.dropFirst(prefix.count)) : p.name
        }
        // A base model of a family with a pooler (`BertModel`, `RobertaModel`, `AlbertModel`) has one
        // in every loader's eyes. An encoder loaded without one (a RoBERTa pretrained here) gets
        // the pooler transformers would initialise (N(0, initializer_range²), zero bias): the
        // embeddings never use it, and the folder then loads strictly here and without warnings there.
        var pooler: [Tensor] = []
        if head == .sentenceEmbedding, encoder.pooler == nil, let name = encoder.layout.pooler {
            var rng = RandomGenerator(seed: 0, stream: [0x9001])
            let weight = Tensor(uninitialized: [config.hiddenSize, config.hiddenSize])
            rng.fillNormal(weight, std: config.initializerRange)
            pooler = [weight, Tensor(zeros: [config.hiddenSize])]
            for (suffix, t) in zip(["weight", "bias"], pooler) {
                try writer.add("\(name).\(suffix)", shape: t.shape, values: UnsafeBufferPointer(start: t.data, count: t.count))
            }
        }
        try withExtendedLifetime((params, pooler)) { try writer.write(to: folder.appendingPathComponent("model.safetensors")) }
        if head == .sentenceEmbedding {
            try ConfigFile(encoder: config, architectures: [head.architecture(config.family)], extras: [:])
                .write(to: folder.appendingPathComponent("config.json"))
            try SentencePooling(mode: .mean, normalize: true, maxSequenceLength: maxSequenceLength).save(folder: folder, hiddenSize: config.hiddenSize)
            return
        }
        var extras: [String: JSONValue] = [:]
        if !labels.isEmpty {
            extras["id2label"] = .object(Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), JSONValue.string($0.element)) }))
            extras["label2id"] = .object(Dictionary(labels.enumerated().map { ($0.element, JSONValue.int($0.offset)) }, uniquingKeysWith: { a, _ in a }))
        }
        if case .sequenceClassification(1) = head { extras["problem_type"] = .string("regression") }
        try ConfigFile(encoder: config, architectures: [head.architecture(config.family)], extras: extras)
            .write(to: folder.appendingPathComponent("config.json"))
    }
}
