import Foundation
import ModelConfig

/// A pretraining recipe: every setting of a run, read from a JSON data file in `recipes/` and
/// overridable with `--set key=value`. Keys are snake_case, as in the files.
///
/// The four shipped recipes follow their papers at CPU scale: `bert` (Devlin et al. 2019: MLM+NSP,
/// static masking, WordPiece), `roberta` (Liu et al. 2019: dynamic masking, FULL-SENTENCES, no NSP,
/// byte-level BPE, β2 0.98, large batches by accumulation), `albert` (Lan et al. 2020: E=128,
/// all-shared layers, SOP, n-gram masking, LAMB, Unigram), `spanbert` (Joshi et al. 2020: span
/// masking + SBO on single segments).
public struct Recipe: Codable, Sendable, Equatable {
    public var name: String = "custom"
    public var description: String = ""

    // Model
    /// Model family: bert, roberta, albert (checkpoint names and config.json keys).
    public var family: String = "bert"
    /// A size preset (tiny, mini, small, bert-base, …) or a config.json file.
    public var model: String = "mini"
    /// Factorised embedding width (ALBERT); 0 = the hidden size.
    public var embeddingSize: Int = 0
    /// Cross-layer sharing: none, all, attention, ffn.
    public var sharing: String = "none"
    public var dropout: Float = 0.1

    // Tokenizer
    /// wordpiece, bpe or unigram (trained on the corpus), or a tokenizer.json path.
    public var tokenizer: String = "wordpiece"
    public var vocabSize: Int = 8000

    // Data and objectives
    /// Any of mlm, nsp, sop, sbo.
    public var objectives: [String] = ["mlm", "nsp"]
    /// segment_pair, sentence_pair, full_sentences, doc_sentences, single_segment.
    public var format: String = "segment_pair"
    /// token, whole_word, ngram, span.
    public var masking: String = "token"
    /// static (fixed at preparation, `dupe_factor` copies) or dynamic (fresh every epoch).
    public var maskMode: String = "dynamic"
    public var dupeFactor: Int = 10
    public var maskProb: Double = 0.15
    public var maxPredictions: Int = 20
    public var seqLen: Int = 128
    public var shortSeqProb: Double = 0.1
    /// Share of documents held out for evaluation.
    public var heldoutFraction: Double = 0.02

    // Optimisation
    /// adamw or lamb.
    public var optimizer: String = "adamw"
    public var lr: Float = 5e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-6
    public var weightDecay: Float = 0.01
    public var warmupSteps: Int = 100
    /// linear, polynomial, cosine, constant.
    public var schedule: String = "linear"
    /// Global gradient-norm clip; 0 = off.
    public var clipNorm: Float = 1.0
    public var batchSize: Int = 32
    public var gradAccum: Int = 1
    public var maxSteps: Int = 1000
    /// Stop (with a checkpoint and the export) after this many minutes; 0 = no limit.
    public var timeLimitMinutes: Double = 0

    // Bookkeeping
    public var seed: UInt64 = 42
    public var logEvery: Int = 10
    /// Held-out evaluation period in steps, and once at the end; 0 = never.
    public var evalEvery: Int = 200
    /// Held-out batches per evaluation.
    public var evalBatches: Int = 20
    public var checkpointEvery: Int = 500
    public var keepCheckpoints: Int = 2
    /// Threads for kernels and BLAS; 0 = all cores.
    public var threads: Int = 0

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, family, model, sharing, dropout, tokenizer, objectives, format, masking, optimizer, lr
        case beta1, beta2, eps, schedule, seed, threads
        case embeddingSize = "embedding_size", vocabSize = "vocab_size", maskMode = "mask_mode", dupeFactor = "dupe_factor"
        case maskProb = "mask_prob", maxPredictions = "max_predictions", seqLen = "seq_len", shortSeqProb = "short_seq_prob"
        case heldoutFraction = "heldout_fraction", weightDecay = "weight_decay", warmupSteps = "warmup_steps"
        case clipNorm = "clip_norm", batchSize = "batch_size", gradAccum = "grad_accum", maxSteps = "max_steps"
        case timeLimitMinutes = "time_limit_minutes", logEvery = "log_every", evalEvery = "eval_every"
        case evalBatches = "eval_batches", checkpointEvery = "checkpoint_every", keepCheckpoints = "keep_checkpoints"
    }

    /// Missing keys keep their defaults, so a recipe file lists only what differs.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.name, &name); try read(.description, &description); try read(.family, &family); try read(.model, &model)
        try read(.embeddingSize, &embeddingSize); try read(.sharing, &sharing); try read(.dropout, &dropout)
        try read(.tokenizer, &tokenizer); try read(.vocabSize, &vocabSize)
        try read(.objectives, &objectives); try read(.format, &format); try read(.masking, &masking); try read(.maskMode, &maskMode)
        try read(.dupeFactor, &dupeFactor); try read(.maskProb, &maskProb); try read(.maxPredictions, &maxPredictions)
        try read(.seqLen, &seqLen); try read(.shortSeqProb, &shortSeqProb); try read(.heldoutFraction, &heldoutFraction)
        try read(.optimizer, &optimizer); try read(.lr, &lr); try read(.beta1, &beta1); try read(.beta2, &beta2); try read(.eps, &eps)
        try read(.weightDecay, &weightDecay); try read(.warmupSteps, &warmupSteps); try read(.schedule, &schedule)
        try read(.clipNorm, &clipNorm); try read(.batchSize, &batchSize); try read(.gradAccum, &gradAccum); try read(.maxSteps, &maxSteps)
        try read(.timeLimitMinutes, &timeLimitMinutes); try read(.seed, &seed); try read(.logEvery, &logEvery)
        try read(.evalEvery, &evalEvery); try read(.evalBatches, &evalBatches); try read(.checkpointEvery, &checkpointEvery)
        try read(.keepCheckpoints, &keepCheckpoints); try read(.threads, &threads)
    }

    /// Every key a recipe file or `--set` accepts.
    public static var keys: [String] { CodingKeys.allCases.map(\.stringValue).sorted() }
}

/// Errors in a recipe or its overrides.
public enum RecipeError: Error, CustomStringConvertible, Equatable {
    case notFound(String, searched: [String])
    case unreadable(String, reason: String)
    case badOverride(String)
    case unknownKey(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let name, let searched):
            return "no recipe '\(name)': looked for \(searched.joined(separator: ", ")). Pass a recipe file path or one of the names `pretrain recipe list` prints."
        case .unreadable(let path, let reason):
            return "recipe \(path) is not valid JSON for a recipe: \(reason)"
        case .badOverride(let text):
            return "--set expects key=value, got '\(text)'"
        case .unknownKey(let key):
            return "unknown recipe key '\(key)'; valid keys: \(Recipe.keys.joined(separator: ", "))"
        case .invalid(let reason):
            return "invalid recipe: \(reason)"
        }
    }
}

extension Recipe {
    /// Folders searched for named recipes: `./recipes`, then `recipes/` of the package the
    /// executable was built in (…/.build/<config>/pretrain → …/recipes).
    public static func searchFolders() -> [URL] {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("recipes")
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var package = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            package = package.deletingLastPathComponent()
            let candidate = package.appendingPathComponent("recipes")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("bert.json").path) {
                return cwd.standardizedFileURL == candidate.standardizedFileURL ? [cwd] : [cwd, candidate]
            }
        }
        return [cwd]
    }

    /// Names of the recipes found in the search folders.
    public static func availableNames() -> [String] {
        var names = Set<String>()
        for folder in searchFolders() {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where file.hasSuffix(".json") {
                names.insert(String(file.dropLast(5)))
            }
        }
        return names.sorted()
    }

    /// A recipe by name (`recipes/NAME.json`) or file path, with `overrides` ("key=value") applied.
    public static func load(_ nameOrPath: String, overrides: [String] = []) throws -> Recipe {
        var candidates: [URL] = []
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") { candidates.append(URL(fileURLWithPath: nameOrPath)) }
        candidates += searchFolders().map { $0.appendingPathComponent(nameOrPath + ".json") }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw RecipeError.notFound(nameOrPath, searched: candidates.map(\.path))
        }
        let data = try Data(contentsOf: url)
        return try parse(data, source: url.path, overrides: overrides)
    }

    /// Decodes recipe JSON and applies overrides; values are read as JSON when they parse
    /// (numbers, booleans, lists) and as strings otherwise.
    public static func parse(_ data: Data, source: String, overrides: [String] = []) throws -> Recipe {
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw RecipeError.unreadable(source, reason: "not a JSON object")
        }
        let valid = Set(keys)
        for key in object.keys where !valid.contains(key) { throw RecipeError.unknownKey(key) }
        for text in overrides {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { throw RecipeError.badOverride(text) }
            let key = String(text[..<eq]), raw = String(text[text.index(after: eq)...])
            guard valid.contains(key) else { throw RecipeError.unknownKey(key) }
            if key == "objectives" {
                object[key] = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            } else if let parsed = try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed]),
                      !(parsed is [String: Any]) {
                // Text fields stay text even when they look like numbers ("model=3" is a file name).
                let textKeys: Set<String> = ["name", "description", "family", "model", "sharing", "tokenizer", "format", "masking",
                                             "mask_mode", "optimizer", "schedule"]
                object[key] = textKeys.contains(key) ? raw : parsed
            } else {
                object[key] = raw
            }
        }
        do {
            let merged = try JSONSerialization.data(withJSONObject: object)
            let recipe = try JSONDecoder().decode(Recipe.self, from: merged)
            try recipe.validate()
            return recipe
        } catch let error as RecipeError {
            throw error
        } catch let DecodingError.typeMismatch(_, context) {
            throw RecipeError.unreadable(source, reason: "wrong type for '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw RecipeError.unreadable(source, reason: "\(error)")
        }
    }

    /// Checks values that decoding cannot.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw RecipeError.invalid(message) } }
        try check(["bert", "roberta", "albert"].contains(family), "family must be bert, roberta or albert (got \(family))")
        try check(["none", "all", "attention", "ffn"].contains(sharing), "sharing must be none, all, attention or ffn")
        let known: Set<String> = ["mlm", "nsp", "sop", "sbo"]
        try check(!objectives.isEmpty && objectives.allSatisfy(known.contains), "objectives must be from mlm, nsp, sop, sbo (got \(objectives))")
        try check(objectives.contains("mlm"), "objectives must include mlm")
        try check(!(objectives.contains("nsp") && objectives.contains("sop")), "choose nsp or sop, not both")
        let pairFormats: Set<String> = ["segment_pair", "sentence_pair"]
        try check(["segment_pair", "sentence_pair", "full_sentences", "doc_sentences", "single_segment"].contains(format),
                  "format must be segment_pair, sentence_pair, full_sentences, doc_sentences or single_segment")
        if objectives.contains("nsp") || objectives.contains("sop") {
            try check(pairFormats.contains(format), "\(objectives.contains("nsp") ? "nsp" : "sop") needs format segment_pair or sentence_pair")
        }
        try check(["token", "whole_word", "ngram", "span"].contains(masking), "masking must be token, whole_word, ngram or span")
        if objectives.contains("sbo") { try check(masking == "span", "sbo needs masking=span") }
        try check(["static", "dynamic"].contains(maskMode), "mask_mode must be static or dynamic")
        try check(["adamw", "lamb"].contains(optimizer), "optimizer must be adamw or lamb")
        try check(LearningRateScheduleName(rawValue: schedule) != nil, "schedule must be linear, polynomial, cosine or constant")
        try check(seqLen >= 8, "seq_len must be at least 8")
        try check(batchSize >= 1 && gradAccum >= 1 && maxSteps >= 1, "batch_size, grad_accum and max_steps must be positive")
        try check(maskProb > 0 && maskProb < 1, "mask_prob must be in (0, 1)")
        try check(heldoutFraction >= 0 && heldoutFraction < 0.5, "heldout_fraction must be in [0, 0.5)")
        try check(dupeFactor >= 1, "dupe_factor must be at least 1")
        try check(vocabSize >= 100, "vocab_size must be at least 100")
    }

    /// The recipe as pretty, key-sorted JSON (what `pretrain recipe show` prints).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Micro-batches × batch size: the sequences behind one optimizer step.
    public var globalBatch: Int { batchSize * gradAccum }
}

/// Schedule names as recipes spell them.
enum LearningRateScheduleName: String { case linear, polynomial, cosine, constant }

extension Recipe {
    /// The model this recipe trains for a tokenizer with `vocabSize` tokens and padding id `padID`:
    /// the size preset (or config file) with the family's conventions applied.
    public func encoderConfiguration(vocabSize: Int, padID: Int) throws -> EncoderConfiguration {
        var c = try EncoderConfiguration.resolve(model)
        guard let family = EncoderConfiguration.Family(rawValue: family),
              let sharing = EncoderConfiguration.Sharing(rawValue: sharing) else { throw RecipeError.invalid("family or sharing") }
        c.family = family
        c.vocabSize = vocabSize
        c.padTokenId = padID
        c.hiddenDropout = dropout
        c.attentionDropout = dropout
        c.sharing = sharing
        if embeddingSize > 0 { c.embeddingSize = embeddingSize }
        c.maxPositions = max(c.maxPositions, seqLen)
        switch family {
        case .roberta:
            // Position ids start after the padding id (Hugging Face's RoBERTa convention).
            c.positionOffset = padID + 1
            c.maxPositions = max(c.maxPositions, seqLen) + padID + 1
            c.typeVocabSize = 1
            c.layerNormEps = 1e-5
        case .albert:
            c.hiddenAct = "gelu_new"
        default:
            break
        }
        c.pooler = objectives.contains("nsp") || objectives.contains("sop")
        if c.heads > 0 && c.hiddenSize % c.heads != 0 { throw RecipeError.invalid("hidden size \(c.hiddenSize) is not a multiple of \(c.heads) heads") }
        return c
    }
}
