import ArgumentParser
import Foundation
import Models
import Tokenizers

/// TEXT, or --input FILE with one text per line.
struct TextInputOptions: ParsableArguments {
    @Option(help: "File with one text per line (each line taken literally).")
    var input: String?

    @Argument(help: "The text (when --input is not given).")
    var text: String?

    @Option(help: "Texts per forward pass.")
    var batchSize: Int = 32

    func validate() throws {
        if (text == nil) == (input == nil) { throw ValidationError("give either TEXT or --input FILE") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func texts() throws -> [String] {
        if let input { return try TextFiles.lines(input) }
        return [text!]
    }

    /// The texts in consecutive batches of ``batchSize``.
    func batches() throws -> [[String]] {
        let all = try texts()
        return stride(from: 0, to: all.count, by: batchSize).map { Array(all[$0..<min(all.count, $0 + batchSize)]) }
    }
}

/// A model folder (config.json + model.safetensors + tokenizer.json) ready to run.
struct LoadedModel {
    let model: PretrainingModel
    let tokenizer: Tokenizer
    let folder: URL

    init(_ path: String, heads: HeadSet? = nil) throws {
        let folder = URL(fileURLWithPath: path)
        self.folder = folder
        model = try PretrainingModel.load(folder: folder, heads: heads)
        let tokenizerPath = ["tokenizer.json", "vocab.txt"].map { folder.appendingPathComponent($0).path }
            .first { FileManager.default.fileExists(atPath: $0) }
        guard let tokenizerPath else { throw ModelError.missingFile(folder.appendingPathComponent("tokenizer.json").path) }
        tokenizer = try Tokenizer.load(path: tokenizerPath)
        if tokenizer.vocabularySize > model.config.vocabSize {
            throw ModelError.invalidConfiguration(
                "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(model.config.vocabSize); they do not belong together")
        }
    }

    /// The longest sequence the model takes.
    var maxLength: Int { model.config.maxPositions - model.config.positionOffset }

    /// Encodes texts (truncated to `maxLength`), padded to the longest into one batch.
    func batch(_ texts: [String], maxLength limit: Int? = nil) throws -> (EncoderInput, [Encoding]) {
        let encodings = try tokenizer.encodeBatch(texts, truncation: .some(TruncationParams(maxLength: min(limit ?? maxLength, maxLength))),
                                                  padding: .some(nil))
        let length = max(1, encodings.map(\.count).max() ?? 1)
        var ids: [Int32] = [], types: [Int32] = [], mask: [Float] = []
        for e in encodings {
            let pad = length - e.count
            ids += e.ids.map { Int32($0) } + [Int32](repeating: Int32(model.config.padTokenId), count: pad)
            types += e.typeIDs.map { Int32($0) } + [Int32](repeating: 0, count: pad)
            mask += [Float](repeating: 1, count: e.count) + [Float](repeating: 0, count: pad)
        }
        return (EncoderInput(ids: ids, tokenTypes: types, attentionMask: mask, batch: encodings.count, length: length), encodings)
    }
}

/// Writes one JSON object per line to standard output.
func printJSONLine(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// `pretrain params`: parameter counts of a preset or config.json, by part.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "Count a model's parameters: embeddings, encoder, pooler, heads.")

    @Option(help: "A preset (\(EncoderConfiguration.presetNames.joined(separator: ", "))) or a config.json / model folder.")
    var config: String

    @Flag(help: "Print {\"total\", \"embeddings\", \"encoder\", \"pooler\", \"heads\", \"backbone\"} as JSON.")
    var json = false

    func run() throws {
        let c = try EncoderConfiguration.resolve(config)
        let heads = HeadSet.pretraining(c.family)
        let n = ParameterCount(config: c, heads: heads)
        if json {
            try printJSONLine(["total": n.total, "embeddings": n.embeddings, "encoder": n.encoder, "pooler": n.pooler,
                               "heads": n.heads, "backbone": n.backbone])
            return
        }
        func m(_ x: Int) -> String { String(format: "%12d  (%.2fM)", x, Double(x) / 1e6) }
        print("\(config): \(c.family.rawValue) L\(c.layers) H\(c.hiddenSize) A\(c.heads) I\(c.intermediateSize) E\(c.embeddingSize) V\(c.vocabSize), sharing \(c.sharing.rawValue)")
        print("embeddings \(m(n.embeddings))   tables V·E + P·E + T·E, LayerNorm\(c.embeddingSize != c.hiddenSize || c.family == .albert ? ", E→H projection" : "")")
        print("encoder    \(m(n.encoder))   distinct layer parameters")
        print("pooler     \(m(n.pooler))")
        print("heads      \(m(n.heads))   \(ArchitectureName.name(family: c.family, heads: heads)) heads (decoder tied to the embeddings)")
        print("backbone   \(m(n.backbone))   = embeddings + encoder + pooler (Hugging Face's …Model)")
        print("total      \(m(n.total))")
        if c.family == .electra {
            let own = ParameterCount.electraGeneratorOwn(discriminator: c)
            let g = c.electraGenerator()
            print("generator  \(m(own))   pretraining only: H\(g.hiddenSize) A\(g.heads) I\(g.intermediateSize) projection, layers and MLM head (embeddings shared)")
            print("pretrained \(m(n.total + own))   discriminator + generator (recipe electra)")
        }
    }
}

/// `pretrain fill-mask`: the most likely tokens at each mask position.
struct FillMaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask", abstract: "Predict the tokens behind [MASK] / <mask> with a masked-LM model folder.")

    @Option(help: "Model folder: config.json, model.safetensors, tokenizer.json.")
    var model: String

    @Option(help: "Predictions per mask.")
    var topK: Int = 5

    @Flag(help: "One JSON object per line: {\"masks\": [{\"position\", \"top_ids\", \"top_tokens\", \"top_probs\"}]}.")
    var json = false

    @OptionGroup var inputs: TextInputOptions

    func run() throws {
        let loaded = try LoadedModel(model, heads: [.maskedLM])
        guard let head = loaded.model.maskedLM else { throw ModelError.invalidConfiguration("\(model) has no masked-LM head") }
        guard let maskID = loaded.tokenizer.id(of: "[MASK]") ?? loaded.tokenizer.id(of: "<mask>") else {
            throw ModelError.invalidConfiguration("the tokenizer has no [MASK] or <mask> token")
        }
        for chunk in try inputs.batches() {
            let (input, encodings) = try loaded.batch(chunk)
            var positions: [Int32] = []
            for (b, e) in encodings.enumerated() {
                for (t, id) in e.ids.enumerated() where id == maskID { positions.append(Int32(b * input.length + t)) }
            }
            let tape = Tape(recording: false)
            // Only the mask rows are read, so the last layer runs on those rows alone.
            let out = try loaded.model.encoder(input, training: false, tape: tape, readingOnly: positions)
            let logits = positions.isEmpty ? nil : try head(out.hidden, positions: out.rows(at: positions), tape: tape).value
            var row = 0
            for (b, e) in encodings.enumerated() {
                var masks: [[String: Any]] = []
                for (t, id) in e.ids.enumerated() where id == maskID {
                    let v = loaded.model.config.vocabSize
                    let scores = Array(UnsafeBufferPointer(start: logits!.data + row * v, count: v))
                    row += 1
                    let mx = scores.max()!
                    let total = scores.reduce(0.0) { $0 + exp(Double($1 - mx)) }
                    let top = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(topK)
                    masks.append(["position": t, "top_ids": Array(top),
                                  "top_tokens": top.map { loaded.tokenizer.token(of: $0) ?? "" },
                                  "top_probs": top.map { exp(Double(scores[$0] - mx)) / total }])
                }
                _ = b
                if json {
                    try printJSONLine(["masks": masks])
                } else {
                    print(chunk[b])
                    for m in masks {
                        // Shown as text (Hugging Face's `token_str`): "Ġthe" → " the", "##ing" → "ing".
                        let shown = (m["top_ids"] as! [Int]).map { id in
                            ((try? loaded.tokenizer.decode([id])) ?? loaded.tokenizer.token(of: id) ?? "").trimmingCharacters(in: .whitespaces)
                        }
                        let pairs = zip(shown, m["top_probs"] as! [Double]).map { String(format: "%@ %.3f", $0, $1) }
                        print("  [\(m["position"]!)] " + pairs.joined(separator: ", "))
                    }
                }
            }
        }
    }
}

/// `pretrain embed`: sentence embeddings, pooled as the folder's sentence-transformers files say.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Sentence embeddings: one JSON object {\"embedding\": [...]} per text.")

    @Option(help: "Model folder (e.g. a sentence-transformers model such as all-MiniLM-L6-v2).")
    var model: String

    @OptionGroup var inputs: TextInputOptions

    func run() throws {
        let loaded = try LoadedModel(model, heads: [])
        let pooling = try SentencePooling.load(folder: loaded.folder)
        for chunk in try inputs.batches() {
            let (input, _) = try loaded.batch(chunk, maxLength: pooling.maxSequenceLength)
            let hidden = try loaded.model.encoder(input, training: false, tape: Tape(recording: false)).hidden.value
            let vectors = pooling.pool(hidden: hidden, mask: Tensor(input.attentionMask!, shape: [input.batch, input.length]))
            let h = loaded.model.config.hiddenSize
            for b in 0..<chunk.count {
                try printJSONLine(["embedding": vectors[b * h..<(b + 1) * h].map { Double($0) }])
            }
        }
    }
}

/// `pretrain detect-replaced`: ELECTRA's discriminator, one logit per token.
struct DetectReplacedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-replaced", abstract: "Score each token as original or replaced with an ELECTRA discriminator.")

    @Option(help: "ELECTRA discriminator folder (ElectraForPreTraining).")
    var model: String

    @Flag(help: "One JSON object per line: {\"tokens\", \"logits\", \"replaced\"}, specials included.")
    var json = false

    @OptionGroup var inputs: TextInputOptions

    func run() throws {
        let loaded = try LoadedModel(model, heads: [.replacedToken])
        guard let head = loaded.model.replacedToken else { throw ModelError.invalidConfiguration("\(model) is not an ELECTRA discriminator") }
        for chunk in try inputs.batches() {
            let (input, encodings) = try loaded.batch(chunk)
            let tape = Tape(recording: false)
            let logits = head(try loaded.model.encoder(input, training: false, tape: tape).hidden, tape: tape).value
            for (b, e) in encodings.enumerated() {
                let row = (0..<e.count).map { Double(logits.data[b * input.length + $0]) }
                if json {
                    try printJSONLine(["tokens": e.tokens, "logits": row, "replaced": row.map { $0 > 0 }])
                } else {
                    print(zip(e.tokens, row).map { $1 > 0 ? "[\($0)]" : $0 }.joined(separator: " "))
                }
            }
        }
    }
}

/// `pretrain init`: a randomly initialised model folder (as transformers initialises: N(0, 0.02²)
/// weights, zero biases, unit LayerNorm), ready to pretrain or to load in transformers.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a randomly initialised model folder (config.json + model.safetensors).")

    @Option(help: "A preset or a config.json / model folder.")
    var config: String

    @Option(help: "Heads: pretraining (the family's own: BERT MLM+NSP, ALBERT MLM+SOP, ELECTRA RTD, GPT-2 its LM head, others MLM), mlm, or none.")
    var heads: String = "pretraining"

    @Option(help: "Random seed for the initial weights.")
    var seed: UInt64 = 0

    @Option(help: "Output folder.")
    var out: String

    func run() throws {
        let c = try EncoderConfiguration.resolve(config)
        let set: HeadSet
        switch heads {
        case "pretraining": set = .pretraining(c.family)
        case "mlm": set = [.maskedLM]
        case "none": set = []
        default: throw ValidationError("--heads must be pretraining, mlm or none")
        }
        let model = try PretrainingModel(config: c, heads: set, seed: seed)
        try model.save(folder: URL(fileURLWithPath: out))
        print("wrote \(model.architecture) (\(model.parameterCount) parameters) to \(out)")
    }
}

/// `pretrain distill-init`: a distillation student made from a teacher's layers.
struct DistillInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill-init",
        abstract: "Write a student model folder from a teacher's embeddings, every other layer (or --layers) and MLM head.")

    @Option(help: "The teacher model folder (config.json + model.safetensors; its tokenizer.json is copied).")
    var teacher: String
    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Teacher layers the student keeps, comma-separated (default: every other from 0; 0,2,4,7,9,11 for 12 layers).")
    var layers: String?

    func run() throws {
        try reportingErrors {
            let teacherFolder = URL(fileURLWithPath: teacher)
            let model = try PretrainingModel.load(folder: teacherFolder)
            let chosen = try layers.map { list in
                try list.split(separator: ",").map { item -> Int in
                    guard let i = Int(item.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--layers: '\(item)' is not a layer index") }
                    return i
                }
            } ?? PretrainingModel.defaultStudentLayers(teacherLayers: model.config.layers)
            let student = try model.student(layers: chosen)
            let outFolder = URL(fileURLWithPath: out)
            try student.save(folder: outFolder)
            let tokenizer = teacherFolder.appendingPathComponent("tokenizer.json")
            if FileManager.default.fileExists(atPath: tokenizer.path) {
                let target = outFolder.appendingPathComponent("tokenizer.json")
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: tokenizer, to: target)
            }
            print("wrote \(student.architecture) (\(student.parameterCount) parameters, teacher layers \(chosen.map(String.init).joined(separator: ","))) from \(model.architecture) (\(model.parameterCount)) to \(out)")
        }
    }
}
