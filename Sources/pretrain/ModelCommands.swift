import ArgumentParser
import Foundation
import Models
import PretrainKit
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
        try reportingErrors {
            let loaded = try TextModel(model, heads: [.maskedLM])
            for chunk in try inputs.batches() {
                for (text, masks) in zip(chunk, try loaded.fillMask(chunk, topK: topK)) {
                    if json {
                        try printJSONLine(["masks": masks.map { m in
                            ["position": m.position, "top_ids": m.candidates.map(\.id), "top_tokens": m.candidates.map(\.token),
                             "top_probs": m.candidates.map(\.probability)] as [String: Any]
                        }])
                    } else {
                        print(text)
                        for m in masks {
                            print("  [\(m.position)] " + m.candidates.map { String(format: "%@ %.3f", $0.text, $0.probability) }.joined(separator: ", "))
                        }
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
        try reportingErrors {
            let loaded = try TextModel(model, heads: [])
            for chunk in try inputs.batches() {
                for vector in try loaded.embed(chunk) { try printJSONLine(["embedding": vector.map(Double.init)]) }
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
        try reportingErrors {
            let loaded = try TextModel(model, heads: [.replacedToken])
            for chunk in try inputs.batches() {
                for scores in try loaded.detectReplaced(chunk) {
                    if json {
                        try printJSONLine(["tokens": scores.tokens, "logits": scores.logits.map(Double.init), "replaced": scores.replaced])
                    } else {
                        print(zip(scores.tokens, scores.replaced).map { $1 ? "[\($0)]" : $0 }.joined(separator: " "))
                    }
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
