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
/// Families without a pooler (RoBERTa-style models pretrained here, ELECTRA) use the [CLS] hidden state.
public final class TaskModel: Module {
    public enum Head: Sendable, Equatable {
        case sequenceClassification(labels: Int)
        case tokenClassification(labels: Int)
        case questionAnswering
        case multipleChoice

        /// The transformers architecture name for a family.
        public func architecture(_ family: EncoderConfiguration.Family) -> String {
            let stem = ["bert": "Bert", "roberta": "Roberta", "albert": "Albert", "electra": "Electra", "distilbert": "DistilBert"][family.rawValue]!
            switch self {
            case .sequenceClassification: return stem + "ForSequenceClassification"
            case .tokenClassification: return stem + "ForTokenClassification"
            case .questionAnswering: return stem + "ForQuestionAnswering"
            case .multipleChoice: return stem + "ForMultipleChoice"
            }
        }
    }

    public let encoder: Encoder
    public let head: Head
    public let output: Linear
    public let dropout: Float

    /// A task model on a new encoder of `config` (its weights random until loaded).
    public init(config: EncoderConfiguration, head: Head, seed: UInt64) throws {
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
        }
        // Heads start from N(0, initializer_range²) weights and zero biases, as transformers' _init_weights.
        output = Linear(name, inFeatures: config.hiddenSize, outFeatures: outputs, std: config.initializerRange, rng: &rng)
    }

    public var config: EncoderConfiguration { encoder.config }
    public var parameters: [Parameter] { encoder.parameters + output.parameters }

    /// Loads a pretrained encoder from a Hugging Face folder (any heads in the file are ignored;
    /// the encoder's own weights must all be there) and puts a new `head` on it.
    public static func load(folder: URL, head: Head, seed: UInt64) throws -> TaskModel {
        let configURL = folder.appendingPathComponent("config.json"), weightsURL = folder.appendingPathComponent("model.safetensors")
        for url in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: url.path) { throw ModelError.missingFile(url.path) }
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
        if (try? Checkpoint.load(model.output.parameters, family: config.family, from: weights, file: weightsURL.path, strict: false))?.missing.isEmpty != true {
            var rng = RandomGenerator(seed: seed, stream: [0x4ead])
            for p in model.output.parameters { if p.shape.count == 2 { rng.fillNormal(p.value, std: config.initializerRange) } else { p.value.fill(0) } }
        }
        return model
    }

    /// input (B·C,T) → logits: classification (B,L); tagging (B,T,L); QA (B,T,2) as start/end
    /// columns; multiple choice with `choices` C options per example: (B,C).
    public func callAsFunction(_ input: EncoderInput, choices: Int = 1, training: Bool, tape: Tape) throws -> Variable {
        let out = try encoder(input, training: training, tape: tape)
        switch head {
        case .tokenClassification, .questionAnswering:
            var h = out.hidden
            if case .tokenClassification = head, training, dropout > 0 { h = tape.dropout(h, probability: dropout) }
            return output(h, tape: tape)
        case .sequenceClassification, .multipleChoice:
            var pooled: Variable
            if let p = out.pooled {
                pooled = p
            } else {
                let flat = tape.reshape(out.hidden, [input.batch * input.length, config.hiddenSize])
                pooled = try tape.gather(flat, indices: (0..<input.batch).map { Int32($0 * input.length) })
            }
            if training && dropout > 0 { pooled = tape.dropout(pooled, probability: dropout) }
            let logits = output(pooled, tape: tape)
            if case .multipleChoice = head { return tape.reshape(logits, [input.batch / choices, choices]) }
            return logits
        }
    }

    /// Writes a Hugging Face folder (`config.json` with the task architecture and labels,
    /// `model.safetensors` with the base-model prefix, as transformers' task models name it).
    public func save(folder: URL, labels: [String]) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        let params = parameters
        for p in params { try writer.add(p.name, shape: p.shape, values: UnsafeBufferPointer(start: p.value.data, count: p.value.count)) }
        try withExtendedLifetime(params) { try writer.write(to: folder.appendingPathComponent("model.safetensors")) }
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
