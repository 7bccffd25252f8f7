import Foundation
import ModelConfig
import Optimizers
import PretrainingData

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
    /// Model family: checkpoint names and config.json keys.
    public var family: EncoderConfiguration.Family = .bert
    /// A size preset (tiny, mini, small, bert-base, …) or a config.json file.
    public var model: String = "mini"
    /// Factorised embedding width (ALBERT, ELECTRA); 0 = the hidden size.
    public var embeddingSize: Int = 0
    /// Transformer layers; 0 = the size preset's (a DistilBERT teacher deeper than `tiny`).
    public var layers: Int = 0
    /// Cross-layer sharing: none, all, attention, ffn.
    public var sharing: EncoderConfiguration.Sharing = .none
    public var dropout: Float = 0.1

    // Tokenizer
    /// wordpiece, bpe or unigram (trained on the corpus), or a tokenizer.json path.
    public var tokenizer: String = "wordpiece"
    public var vocabSize: Int = 8000

    // Data and objectives
    /// mlm (with any of nsp, sop, sbo), rtd (ELECTRA: generator MLM + replaced-token detection),
    /// distillation (DistilBERT) or clm (GPT-2: next-token prediction, nothing masked).
    public var objectives: [ObjectiveKind] = [.mlm, .nsp]
    public var format: Format = .segmentPair
    public var masking: Masking = .token
    /// static (fixed at preparation, `dupe_factor` copies) or dynamic (fresh every epoch).
    public var maskMode: MaskMode = .dynamic
    public var dupeFactor: Int = 10
    public var maskProb: Double = 0.15
    /// Of the predicted tokens: the share replaced by the mask token, and by a random token (the
    /// rest stay unchanged). BERT 0.8 / 0.1; ELECTRA 0.85 / 0.
    public var maskRatio: Double = 0.8
    public var randomRatio: Double = 0.1
    public var maxPredictions: Int = 20
    public var seqLen: Int = 128
    public var shortSeqProb: Double = 0.1
    /// Share of documents held out for evaluation.
    public var heldoutFraction: Double = 0.02

    // Translation LM (format translation: a parallel corpus, `pretrain corpus parallel`)
    /// Share of batches that are translation pairs (TLM); the rest hold one language alone (MLM).
    /// 0 = MLM on both languages only (XLM's `--mlm_steps 'en,es'`).
    public var tlmRatio: Double = 0.5
    /// Books held out whole (evaluation and cross-lingual retrieval), as the references spell them.
    public var heldoutBooks: [String] = Recipe.defaultHeldoutBooks
    /// Ruth, Jonah, Philippians, James and 1 John: 450 verses from both testaments and five kinds of text.
    public static let defaultHeldoutBooks = ["Ruth", "Jonah", "Philippians", "James", "I John"]

    // Permutation LM (objective plm)
    /// Share of the tokens predicted, in spans (XLNet: 1/6).
    public var plmProbability: Double = 1.0 / 6
    /// Longest span of targets (XLNet: 5).
    public var maxSpanLength: Int = 5

    // ELECTRA (objective rtd)
    /// The generator's hidden size as a fraction of the discriminator's (Clark et al. 2020: 1/4).
    public var generatorSize: Double = 0.25
    /// λ in loss = MLM_generator + λ · RTD (50).
    public var discWeight: Double = 50
    /// Softmax temperature of the generator's samples.
    public var temperature: Double = 1

    // Distillation (objective distillation)
    /// The teacher: a masked-LM model folder with its tokenizer.json (the run's tokenizer).
    public var teacher: String = ""
    /// Teacher layers the student starts from; empty = every other (0,2,4,7,9,11 for 12).
    public var studentLayers: [Int] = []
    /// Weights of the soft-target, hard MLM and cosine losses (DistilBERT: 5, 2, 1).
    public var alphaCE: Double = 5
    public var alphaMLM: Double = 2
    public var alphaCos: Double = 1
    /// τ of the soft targets (softmax(logits/τ), loss × τ²).
    public var distillTemperature: Double = 2
    /// Rows of the soft-target loss: every non-pad token (the reference) or the masked ones.
    public var distillPositions: KnowledgeDistillation.SoftTargetRows = .all

    // Optimisation
    public var optimizer: OptimizerKind = .adamw
    public var lr: Float = 5e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-6
    public var weightDecay: Float = 0.01
    /// Adam's bias correction (ELECTRA's reference optimizer has none).
    public var biasCorrection: Bool = true
    public var warmupSteps: Int = 100
    public var schedule: LearningRateSchedule.Decay = .linear
    /// Global gradient-norm clip; 0 = off.
    public var clipNorm: Float = 1.0
    /// What a step with a NaN or infinite loss or gradient norm does: stop the run with an error
    /// naming the step (the weights as they were before it), or skip it (no update) and count it.
    public var onNonfinite: NonFinitePolicy = .stop
    public var batchSize: Int = 32
    public var gradAccum: Int = 1
    public var maxSteps: Int = 1000
    /// Stop (with a checkpoint and the export) after this many minutes; 0 = no limit.
    public var timeLimitMinutes: Double = 0
    /// Stop once `train_flops` reaches this budget (runs compared at equal compute); 0 = no limit.
    public var maxTrainFLOPs: Double = 0

    // Bookkeeping
    public var seed: UInt64 = 42
    public var logEvery: Int = 10
    /// Held-out evaluation period in steps, and once at the end; 0 = never.
    public var evalEvery: Int = 200
    /// Held-out batches per evaluation.
    public var evalBatches: Int = 20
    public var checkpointEvery: Int = 500
    public var keepCheckpoints: Int = 2
    /// Threads for kernels and BLAS; 0 = all cores (under `mpirun`: the cores shared among the machine's ranks).
    public var threads: Int = 0

    // Data parallelism (under `mpirun`; see DataParallel)
    /// Gradients are summed across ranks in buckets of about this many MB.
    public var allreduceBucketMB: Double = 4
    /// Start each bucket's sum during the backward pass, as soon as its gradients are final.
    public var overlapAllreduce: Bool = false

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, family, model, layers, sharing, dropout, tokenizer, objectives, format, masking, optimizer, lr
        case beta1, beta2, eps, schedule, seed, threads
        case embeddingSize = "embedding_size", vocabSize = "vocab_size", maskMode = "mask_mode", dupeFactor = "dupe_factor"
        case maskProb = "mask_prob", maxPredictions = "max_predictions", seqLen = "seq_len", shortSeqProb = "short_seq_prob"
        case heldoutFraction = "heldout_fraction", weightDecay = "weight_decay", warmupSteps = "warmup_steps"
        case maskRatio = "mask_ratio", randomRatio = "random_ratio", generatorSize = "generator_size", discWeight = "disc_weight"
        case teacher, studentLayers = "student_layers", alphaCE = "alpha_ce", alphaMLM = "alpha_mlm", alphaCos = "alpha_cos"
        case distillTemperature = "distill_temperature", distillPositions = "distill_positions"
        case temperature, biasCorrection = "bias_correction", maxTrainFLOPs = "max_train_flops", onNonfinite = "on_nonfinite"
        case clipNorm = "clip_norm", batchSize = "batch_size", gradAccum = "grad_accum", maxSteps = "max_steps"
        case timeLimitMinutes = "time_limit_minutes", logEvery = "log_every", evalEvery = "eval_every"
        case evalBatches = "eval_batches", checkpointEvery = "checkpoint_every", keepCheckpoints = "keep_checkpoints"
        case allreduceBucketMB = "allreduce_bucket_mb", overlapAllreduce = "overlap_allreduce"
        case tlmRatio = "tlm_ratio", heldoutBooks = "heldout_books"
        case plmProbability = "plm_probability", maxSpanLength = "max_span_length"
    }

    /// Missing keys keep their defaults, so a recipe file lists only what differs.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        // A choice is read as text and checked here, so a typo names the key and the valid values.
        func readChoice<T: RawRepresentable & CaseIterable>(_ key: CodingKeys, _ value: inout T) throws where T.RawValue == String {
            if let text = try c.decodeIfPresent(String.self, forKey: key) { value = try choice(key.stringValue, text) }
        }
        func readChoices<T: RawRepresentable & CaseIterable>(_ key: CodingKeys, _ value: inout [T]) throws where T.RawValue == String {
            if let texts = try c.decodeIfPresent([String].self, forKey: key) { value = try texts.map { try choice(key.stringValue, $0) } }
        }
        try read(.name, &name); try read(.description, &description); try readChoice(.family, &family); try read(.model, &model)
        try read(.embeddingSize, &embeddingSize); try read(.layers, &layers); try readChoice(.sharing, &sharing); try read(.dropout, &dropout)
        try read(.tokenizer, &tokenizer); try read(.vocabSize, &vocabSize)
        try readChoices(.objectives, &objectives); try readChoice(.format, &format); try readChoice(.masking, &masking); try readChoice(.maskMode, &maskMode)
        try read(.dupeFactor, &dupeFactor); try read(.maskProb, &maskProb); try read(.maxPredictions, &maxPredictions)
        try read(.seqLen, &seqLen); try read(.shortSeqProb, &shortSeqProb); try read(.heldoutFraction, &heldoutFraction)
        try readChoice(.optimizer, &optimizer); try read(.lr, &lr); try read(.beta1, &beta1); try read(.beta2, &beta2); try read(.eps, &eps)
        try read(.weightDecay, &weightDecay); try read(.warmupSteps, &warmupSteps); try readChoice(.schedule, &schedule)
        try read(.clipNorm, &clipNorm); try read(.batchSize, &batchSize); try read(.gradAccum, &gradAccum); try read(.maxSteps, &maxSteps)
        try read(.timeLimitMinutes, &timeLimitMinutes); try read(.seed, &seed); try read(.logEvery, &logEvery)
        try read(.evalEvery, &evalEvery); try read(.evalBatches, &evalBatches); try read(.checkpointEvery, &checkpointEvery)
        try read(.keepCheckpoints, &keepCheckpoints); try read(.threads, &threads)
        try read(.allreduceBucketMB, &allreduceBucketMB); try read(.overlapAllreduce, &overlapAllreduce)
        try read(.maskRatio, &maskRatio); try read(.randomRatio, &randomRatio); try read(.generatorSize, &generatorSize)
        try read(.discWeight, &discWeight); try read(.temperature, &temperature); try read(.biasCorrection, &biasCorrection)
        try read(.maxTrainFLOPs, &maxTrainFLOPs); try readChoice(.onNonfinite, &onNonfinite)
        try read(.tlmRatio, &tlmRatio); try read(.heldoutBooks, &heldoutBooks)
        try read(.plmProbability, &plmProbability); try read(.maxSpanLength, &maxSpanLength)
        try read(.teacher, &teacher); try read(.studentLayers, &studentLayers); try read(.alphaCE, &alphaCE); try read(.alphaMLM, &alphaMLM)
        try read(.alphaCos, &alphaCos); try read(.distillTemperature, &distillTemperature); try readChoice(.distillPositions, &distillPositions)
    }

    /// Every key a recipe file or `--set` accepts.
    public static var keys: [String] { CodingKeys.allCases.map(\.stringValue).sorted() }
}

/// The pretraining objectives a recipe names (see ``PretrainingObjective``).
public enum ObjectiveKind: String, Codable, Sendable, CaseIterable {
    /// Masked language modelling (Devlin et al. 2019).
    case mlm
    /// Next-sentence prediction (Devlin et al. 2019).
    case nsp
    /// Sentence-order prediction (Lan et al. 2020).
    case sop
    /// SpanBERT's span-boundary objective (Joshi et al. 2020).
    case sbo
    /// ELECTRA's replaced-token detection with its MLM generator (Clark et al. 2020).
    case rtd
    /// DistilBERT's soft targets + MLM + cosine from a frozen teacher (Sanh et al. 2019).
    case distillation
    /// Causal language modelling: next-token prediction at every position (GPT-2, Radford et al. 2019).
    case clm
    /// Permutation language modelling with two-stream attention (XLNet, Yang et al. 2019).
    case plm
}

extension Recipe {
    /// How sentences become model inputs (RoBERTa §4.2 names), as recipes spell them.
    public enum Format: String, Codable, Sendable, CaseIterable {
        case segmentPair = "segment_pair", sentencePair = "sentence_pair", fullSentences = "full_sentences"
        case docSentences = "doc_sentences", singleSegment = "single_segment", blocks
        /// XLM's translation pairs and single sentences from a parallel corpus (``TranslationInstanceStream``).
        case translation

        /// The corpus layout of the instance builders; nil for `translation`, which reads a parallel corpus.
        public var inputFormat: InputFormat? {
            switch self {
            case .translation: return nil
            case .segmentPair: return .segmentPair
            case .sentencePair: return .sentencePair
            case .fullSentences: return .fullSentences
            case .docSentences: return .docSentences
            case .singleSegment: return .singleSegment
            case .blocks: return .blocks
            }
        }
    }

    /// Which tokens MLM predicts: single tokens, whole words, ALBERT's n-grams, SpanBERT's spans.
    public enum Masking: String, Codable, Sendable, CaseIterable {
        case token, wholeWord = "whole_word", ngram, span

        public var scheme: MaskingScheme {
            switch self {
            case .token: return .token
            case .wholeWord: return .wholeWord
            case .ngram: return .albertNgram
            case .span: return .spanBERT
            }
        }
    }

    /// Masks fixed at preparation (BERT, `dupe_factor` copies) or drawn afresh every epoch (RoBERTa).
    public enum MaskMode: String, Codable, Sendable, CaseIterable { case `static`, dynamic }

    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adamw, lamb }

    /// See ``onNonfinite``.
    public enum NonFinitePolicy: String, Codable, Sendable, CaseIterable { case stop, skip }
}

/// A recipe value from its text, or an error naming the key and the valid values.
func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ text: String) throws -> T where T.RawValue == String {
    guard let value = T(rawValue: text) else {
        throw RecipeError.invalid("\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(text)')")
    }
    return value
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
    /// `validated: false` skips the checks of ``validate()`` (a recipe that needs a `--set`, such
    /// as distilbert's teacher, can still be listed).
    public static func load(_ nameOrPath: String, overrides: [String] = [], validated: Bool = true) throws -> Recipe {
        var candidates: [URL] = []
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") { candidates.append(URL(fileURLWithPath: nameOrPath)) }
        candidates += searchFolders().map { $0.appendingPathComponent(nameOrPath + ".json") }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw RecipeError.notFound(nameOrPath, searched: candidates.map(\.path))
        }
        let data = try Data(contentsOf: url)
        return try parse(data, source: url.path, overrides: overrides, validated: validated)
    }

    /// Decodes recipe JSON and applies overrides; values are read as JSON when they parse
    /// (numbers, booleans, lists) and as strings otherwise.
    public static func parse(_ data: Data, source: String, overrides: [String] = [], validated: Bool = true) throws -> Recipe {
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
            } else if key == "student_layers" {
                // "0,2,4" as well as the JSON list "[0,2,4]".
                let items = raw.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",")
                object[key] = try items.map { item -> Int in
                    guard let i = Int(item.trimmingCharacters(in: .whitespaces)) else {
                        throw RecipeError.invalid("student_layers must list teacher layer indices such as 0,2,4 (got '\(raw)')")
                    }
                    return i
                }
            } else if key == "heldout_books" {
                // "Ruth,I John" as well as the JSON list ["Ruth","I John"].
                if let list = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String] { object[key] = list } else {
                    object[key] = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                }
            } else if let parsed = try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed]),
                      !(parsed is [String: Any]) {
                // Text fields stay text even when they look like numbers ("model=3" is a file name).
                let textKeys: Set<String> = ["name", "description", "family", "model", "sharing", "tokenizer", "format", "masking",
                                             "mask_mode", "optimizer", "schedule", "on_nonfinite", "teacher", "distill_positions"]
                object[key] = textKeys.contains(key) ? raw : parsed
            } else {
                object[key] = raw
            }
        }
        do {
            let merged = try JSONSerialization.data(withJSONObject: object)
            let recipe = try JSONDecoder().decode(Recipe.self, from: merged)
            if validated { try recipe.validate() }
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
        let kinds = Set(objectives)
        try check(kinds.count == objectives.count, "objectives lists one twice (\(objectives.map(\.rawValue)))")
        if kinds.contains(.rtd) {
            try check(kinds == [.rtd], "rtd trains its own MLM generator: use objectives [\"rtd\"] alone")
            try check(family == .electra, "rtd needs family electra (generator and discriminator are ELECTRA models)")
            try check(generatorSize > 0 && generatorSize <= 1, "generator_size must be in (0, 1]")
            try check(discWeight > 0 && temperature > 0, "disc_weight and temperature must be positive")
        } else if kinds.contains(.distillation) {
            try check(kinds == [.distillation], "distillation brings its own MLM loss: use objectives [\"distillation\"] alone")
            try check(!teacher.isEmpty, "distillation needs a teacher model folder: --set teacher=DIR")
            try check([alphaCE, alphaMLM, alphaCos].allSatisfy { $0 >= 0 && $0.isFinite } && alphaCE + alphaMLM + alphaCos > 0,
                      "alpha_ce, alpha_mlm and alpha_cos must be ≥ 0, and not all 0")
            try check(distillTemperature > 0 && distillTemperature.isFinite, "distill_temperature must be positive")
            try check(studentLayers.allSatisfy { $0 >= 0 }, "student_layers must be teacher layer indices (≥ 0)")
        } else if kinds.contains(.clm) {
            try check(kinds == [.clm], "clm predicts every next token: use objectives [\"clm\"] alone")
            try check(family == .gpt2, "clm trains a causal model: use family gpt2")
            try check(format.inputFormat.map { !$0.isPair } ?? false, "clm reads single sequences: use format blocks (GPT-2), single_segment, full_sentences or doc_sentences")
        } else if kinds.contains(.plm) {
            try check(kinds == [.plm], "plm predicts its targets in a permutation order: use objectives [\"plm\"] alone")
            try check([.bert, .roberta, .albert, .electra].contains(family), "plm runs two-stream attention on post-LN encoders: family bert, roberta, albert or electra")
            try check(format != .translation, "plm reads a one-language corpus: use format full_sentences, doc_sentences or single_segment")
            try check(plmProbability > 0 && plmProbability < 1, "plm_probability must be in (0, 1) (got \(plmProbability))")
            try check(maxSpanLength >= 1, "max_span_length must be at least 1")
        } else {
            try check(kinds.contains(.mlm), "objectives must include mlm (or be [\"rtd\"] for ELECTRA, [\"distillation\"] for DistilBERT, [\"clm\"] for GPT-2, [\"plm\"] for XLNet-style permutation LM)")
            try check(family != .gpt2, "GPT-2 is a causal model: use objectives [\"clm\"]")
        }
        try check(!(kinds.contains(.nsp) && kinds.contains(.sop)), "choose nsp or sop, not both")
        if let task = objectives.first(where: { $0 == .nsp || $0 == .sop }) {
            try check(format.inputFormat?.isPair ?? false, "\(task.rawValue) needs format segment_pair or sentence_pair")
        }
        if kinds.contains(.sbo) { try check(masking == .span, "sbo needs masking=span") }
        if format == .translation {
            try check(kinds == [.mlm], "format translation trains MLM/TLM: use objectives [\"mlm\"]")
            try check(family == .bert || family == .roberta, "format translation needs family bert or roberta")
            try check(tlmRatio >= 0 && tlmRatio <= 1, "tlm_ratio must be in [0, 1] (got \(tlmRatio))")
            try check(!heldoutBooks.isEmpty, "heldout_books must name at least one book of the parallel corpus")
        }
        try check(seqLen >= 8 && seqLen <= 65536, "seq_len must be between 8 and 65536 (got \(seqLen))")
        try check(batchSize <= 65536 && batchSize * seqLen <= 1 << 22,
                  "batch_size × seq_len must be at most 4,194,304 positions per micro-batch (got \(batchSize) × \(seqLen)); raise grad_accum instead")
        try check(batchSize >= 1 && gradAccum >= 1 && maxSteps >= 1, "batch_size, grad_accum and max_steps must be positive")
        try check(maskProb > 0 && maskProb < 1, "mask_prob must be in (0, 1)")
        try check(maskRatio >= 0 && randomRatio >= 0 && maskRatio + randomRatio <= 1, "mask_ratio and random_ratio must be ≥ 0 and add up to at most 1")
        try check(heldoutFraction >= 0 && heldoutFraction < 0.5, "heldout_fraction must be in [0, 0.5)")
        try check(dupeFactor >= 1, "dupe_factor must be at least 1")
        try check(vocabSize >= 100, "vocab_size must be at least 100")
        // Optimisation settings that would train nothing, or NaN, are refused before a run starts.
        try check(lr.isFinite && lr > 0, "lr must be a positive number (got \(lr))")
        try check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "beta1 and beta2 must be in [0, 1) (got \(beta1), \(beta2))")
        try check(eps.isFinite && eps > 0, "eps must be positive (got \(eps))")
        try check(weightDecay.isFinite && weightDecay >= 0, "weight_decay must be ≥ 0 (got \(weightDecay))")
        try check(clipNorm.isFinite && clipNorm >= 0, "clip_norm must be ≥ 0 (0 = off; got \(clipNorm))")
        try check(warmupSteps >= 0, "warmup_steps must be ≥ 0")
        try check(dropout >= 0 && dropout < 1, "dropout must be in [0, 1) (got \(dropout))")
        try check(maxPredictions >= 1, "max_predictions must be at least 1")
        try check(logEvery >= 1 && evalEvery >= 0 && evalBatches >= 0 && checkpointEvery >= 0 && keepCheckpoints >= 1,
                  "log_every and keep_checkpoints must be ≥ 1; eval_every, eval_batches and checkpoint_every ≥ 0")
        try check(layers >= 0 && embeddingSize >= 0, "layers and embedding_size must be ≥ 0 (0: the size preset's)")
        try check(threads >= 0 && timeLimitMinutes >= 0 && maxTrainFLOPs >= 0, "threads, time_limit_minutes and max_train_flops must be ≥ 0")
        try check(allreduceBucketMB > 0, "allreduce_bucket_mb must be > 0 (got \(allreduceBucketMB))")
    }

    /// Whether the objectives predict masked tokens (all but clm and plm): the data is masked as `masking` says.
    public var masksTokens: Bool { !objectives.contains(.clm) && !objectives.contains(.plm) }

    /// The sentence-level task the objectives train, if any.
    public var sentenceTask: SentenceTask {
        objectives.contains(.nsp) ? .nsp : objectives.contains(.sop) ? .sop : .none
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

extension Recipe {
    /// The model this recipe trains for a tokenizer with `vocabSize` tokens and padding id `padID`:
    /// the size preset (or config file) with the family's conventions applied.
    public func encoderConfiguration(vocabSize: Int, padID: Int) throws -> EncoderConfiguration {
        var c = try EncoderConfiguration.resolve(model)
        c.family = family
        c.vocabSize = vocabSize
        c.padTokenId = padID
        c.hiddenDropout = dropout
        c.attentionDropout = dropout
        c.sharing = sharing
        if embeddingSize > 0 { c.embeddingSize = embeddingSize }
        if layers > 0 { c.layers = layers }
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
        case .gpt2:
            // GPT-2's conventions whatever the size preset; `padID` is the end-of-text token (GPT-2
            // has no padding token).
            c = c.asGPT2()
        case .bert, .electra, .distilbert:
            break
        }
        // XLM's language embeddings: the parallel corpus's two languages.
        if format == .translation { c.languages = 2 }
        c.pooler = sentenceTask != .none
        if c.heads > 0 && c.hiddenSize % c.heads != 0 { throw RecipeError.invalid("hidden size \(c.hiddenSize) is not a multiple of \(c.heads) heads") }
        return c
    }
}
