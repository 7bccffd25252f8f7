import Foundation
import Models

/// One pretraining objective: MLM, NSP/SOP, SBO, ELECTRA's replaced-token detection, …
///
/// An objective owns its heads (and, for ELECTRA, whole networks) and says everything the
/// trainer needs to know about it, so the loop, checkpoints, held-out evaluation, `metrics.jsonl`,
/// the plots and `pretrain report` handle any set of objectives by name:
/// - which rows of the shared encoder's last layer it reads (``rowsRead(in:)``: the encoder then
///   computes those rows only),
/// - the counts its loss is averaged over (``normalizerCounts(in:)``): the trainer adds them up
///   over every micro-batch of an accumulated batch and hands the totals back to ``loss(_:normalizers:statistics:)``,
///   so k accumulated micro-batches give exactly the gradient of one k-times-larger batch,
/// - its metrics, as sums over counts in ``ObjectiveStatistics`` (`mlm_loss`, `rtd_recall`, …),
/// - its forward FLOPs (``forwardFLOPs(of:)``, for `train_flops`),
/// - the networks saved beside the run's model (``exports``).
///
/// Adding an objective is one file with such a type, a case of ``ObjectiveKind`` and its line in
/// ``PretrainingObjectives/init(recipe:config:)``.
public protocol PretrainingObjective: AnyObject {
    /// The recipe key, also the prefix of its metric names.
    var name: String { get }
    /// The parameters it trains that the shared model does not hold (its own heads, networks).
    var parameters: [Parameter] { get }
    /// Networks it writes as model folders of the run (beside the shared model's `model/`).
    var exports: [ModelExport] { get }
    /// Flat positions (b·T + t) of the shared encoder's output it reads; empty if it reads none
    /// (or only the pooled [CLS], which the encoder always computes).
    func rowsRead(in batch: PretrainingBatch) -> [Int32]
    /// The counts its loss divides by, in its own order (e.g. [predictions]).
    func normalizerCounts(in batch: PretrainingBatch) -> [Int]
    /// Its loss on one micro-batch, divided by `normalizers` (``normalizerCounts(in:)`` summed over
    /// the accumulated batch) and weighted as the recipe says; adds its metric sums to
    /// `statistics`. nil when the batch has nothing for it.
    func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable?
    /// Forward FLOPs of what it computes beyond the shared encoder (see ``Encoder/forwardFLOPs(sequences:length:)``).
    func forwardFLOPs(of batch: PretrainingBatch) -> Double
    /// Held-out metrics that need every evaluation batch at once (perplexity, baselines).
    func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double]
}

extension PretrainingObjective {
    public var exports: [ModelExport] { [] }
    public func rowsRead(in batch: PretrainingBatch) -> [Int32] { [] }
    public func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double] { [:] }
}

/// Where a training step's time went (`pretrain bench train --profile`).
public struct StepProfile: Sendable {
    public var forwardSeconds = 0.0, backwardSeconds = 0.0
    /// Seconds per backward rule, by op name (``Tape/backwardProfile``).
    public var backwardRules: [String: Double] = [:]
    public init() {}
}

/// A network of a run written as a Hugging Face model folder `RUN_DIR/<folder>/`.
public struct ModelExport {
    public let folder: String
    public let model: PretrainingModel
    /// The prefix its own parameters carry in the joint checkpoint (removed in the export).
    public let checkpointPrefix: String?

    public init(folder: String, model: PretrainingModel, checkpointPrefix: String? = nil) {
        (self.folder, self.model, self.checkpointPrefix) = (folder, model, checkpointPrefix)
    }
}

/// Named sums over micro-batches: each metric is Σ value / Σ count, so merging micro-batches
/// (or evaluation batches) and then reading the means gives the means of the whole.
public struct ObjectiveStatistics: Sendable, Equatable {
    public private(set) var totals: [String: Double] = [:]
    public private(set) var counts: [String: Double] = [:]
    /// Σ of the objectives' normalised losses: the loss that is optimised.
    public var loss = 0.0
    /// Non-pad tokens, and sequence positions (padding included).
    public var tokens = 0
    public var positions = 0
    /// Forward FLOPs of the networks that train.
    public var forwardFLOPs = 0.0

    public init() {}

    /// Adds `value` to the metric's sum and `count` to its denominator.
    public mutating func add(_ metric: String, _ value: Double, over count: Int) {
        totals[metric, default: 0] += value
        counts[metric, default: 0] += Double(count)
    }

    public mutating func merge(_ other: ObjectiveStatistics) {
        for (key, value) in other.totals { totals[key, default: 0] += value }
        for (key, value) in other.counts { counts[key, default: 0] += value }
        loss += other.loss
        tokens += other.tokens
        positions += other.positions
        forwardFLOPs += other.forwardFLOPs
    }

    /// The metric's mean (0 when its count is 0), nil if no objective reported it.
    public func mean(_ metric: String) -> Double? {
        guard let total = totals[metric] else { return nil }
        return total / max(1, counts[metric] ?? 0)
    }

    /// Every metric's mean.
    public var means: [String: Double] {
        var out: [String: Double] = [:]
        for key in totals.keys { out[key] = mean(key) }
        return out
    }
}

/// One micro-batch's forward pass, handed to every objective: the batch, the tape, and the
/// shared encoder's output, computed once (on the union of the rows the objectives read) when
/// the first objective asks for it.
public final class ForwardPass {
    public let batch: PretrainingBatch
    public let tape: Tape
    public let training: Bool
    /// Draws an objective makes besides dropout (ELECTRA's samples), one stream per step.
    public var random: RandomGenerator
    let model: PretrainingModel?
    let rowsRead: [Int32]?
    private var output: EncoderOutput?

    init(batch: PretrainingBatch, tape: Tape, training: Bool, random: RandomGenerator, model: PretrainingModel?, rowsRead: [Int32]?) {
        (self.batch, self.tape, self.training, self.random, self.model, self.rowsRead) = (batch, tape, training, random, model, rowsRead)
    }

    /// The shared encoder on the batch's input.
    public func encoderOutput() throws -> EncoderOutput {
        if let output { return output }
        guard let model else {
            throw ModelError.invalidConfiguration("an objective reads the shared encoder, but these objectives build none")
        }
        let out = try model.encoder(batch.input, training: training, tape: tape, readingOnly: rowsRead)
        output = out
        return out
    }
}

/// The objectives of a run and the shared model they read (nil when each objective brings its
/// own networks, as ELECTRA does): their parameters, checkpoint and exports, and the summed loss
/// of one micro-batch.
public final class PretrainingObjectives: Module {
    /// The encoder and Hugging Face heads the MLM-family objectives share (`RUN_DIR/model/`).
    public let model: PretrainingModel?
    public let objectives: [PretrainingObjective]
    /// Every trained parameter once, the shared model's first; names are unique (checkpoint keys).
    public let parameters: [Parameter]

    public init(model: PretrainingModel?, objectives: [PretrainingObjective]) throws {
        self.model = model
        self.objectives = objectives
        var seen = Set<ObjectIdentifier>(), names = Set<String>(), all: [Parameter] = []
        for p in (model?.parameters ?? []) + objectives.flatMap(\.parameters) where seen.insert(ObjectIdentifier(p)).inserted {
            guard names.insert(p.name).inserted else {
                throw ModelError.invalidConfiguration("two trained parameters are both named \(p.name); a checkpoint needs unique names")
            }
            all.append(p)
        }
        parameters = all
    }

    /// The networks written as model folders: the shared model as `model/`, then the objectives'.
    public var exports: [ModelExport] {
        (model.map { [ModelExport(folder: "model", model: $0)] } ?? []) + objectives.flatMap(\.exports)
    }

    /// Each objective's normaliser counts summed over `batches` (one accumulated batch).
    public func normalizers(for batches: [PretrainingBatch]) -> [[Int]] {
        objectives.map { objective in
            var total: [Int] = []
            for batch in batches {
                let counts = objective.normalizerCounts(in: batch)
                if total.isEmpty { total = counts } else { for i in counts.indices { total[i] += counts[i] } }
            }
            return total
        }
    }

    /// One micro-batch: the sum of every objective's loss (to differentiate) and the statistics.
    ///
    /// `random` is the stream of the objectives' own draws, continued from micro-batch to
    /// micro-batch of one step: drawing row by row, k accumulated micro-batches draw what one
    /// k-times-larger batch would.
    public func loss(_ batch: PretrainingBatch, normalizers: [[Int]], training: Bool, tape: Tape,
                     random: inout RandomGenerator) throws -> (Variable, ObjectiveStatistics) {
        // The last layer computes only the rows some objective reads.
        let rows = objectives.flatMap { $0.rowsRead(in: batch) }
        let pass = ForwardPass(batch: batch, tape: tape, training: training, random: random, model: model, rowsRead: rows.isEmpty ? nil : rows)
        var stats = ObjectiveStatistics()
        var total: Variable?
        for (objective, counts) in zip(objectives, normalizers) {
            guard let loss = try objective.loss(pass, normalizers: counts, statistics: &stats) else { continue }
            stats.loss += Double(loss.value.scalar)
            total = total.map { tape.add($0, loss) } ?? loss
        }
        random = pass.random
        guard let total else { throw ModelError.invalidConfiguration("no objective had anything to predict in this batch") }
        stats.tokens = batch.tokenCount
        stats.positions = batch.input.batch * batch.input.length
        stats.forwardFLOPs = forwardFLOPs(of: batch)
        return (total, stats)
    }

    /// Forward and backward of one accumulated batch: each micro-batch's loss (normalised over
    /// all of them) differentiated into the parameters' gradients. `dropoutSeed` gives each
    /// micro-batch's tape its seed; `draws` continues through the micro-batches (see
    /// ``loss(_:normalizers:training:tape:random:)``). The one training step of `Trainer` and
    /// `pretrain bench train`; with `profile`, the time of forward (with the losses) and backward,
    /// and of each backward rule, is added to it.
    ///
    /// `normalizers` defaults to the counts of `batches`; a data-parallel rank passes the counts of
    /// the whole job's batch (``DataParallel/sum(_:)-([[Int]])``).
    /// `lastBackward` sees the last micro-batch's tape before its backward pass (data parallelism
    /// starts summing gradients from it, ``DataParallel/watch(_:)``).
    public func accumulateGradients(_ batches: [PretrainingBatch], normalizers: [[Int]]? = nil, dropoutSeed: () -> UInt64,
                                    draws: inout RandomGenerator, profile: inout StepProfile?,
                                    lastBackward: (Tape) -> Void = { _ in }) throws -> ObjectiveStatistics {
        let normalizers = normalizers ?? self.normalizers(for: batches)
        var stats = ObjectiveStatistics()
        for (index, batch) in batches.enumerated() {
            let tape = Tape(seed: dropoutSeed())
            if index == batches.count - 1 { lastBackward(tape) }
            if profile != nil { tape.backwardProfile = [:] }
            let start = DispatchTime.now().uptimeNanoseconds
            let (loss, s) = try self.loss(batch, normalizers: normalizers, training: true, tape: tape, random: &draws)
            let forwardDone = DispatchTime.now().uptimeNanoseconds
            try tape.backward(loss)
            if profile != nil {
                profile?.forwardSeconds += Double(forwardDone - start) / 1e9
                profile?.backwardSeconds += Double(DispatchTime.now().uptimeNanoseconds - forwardDone) / 1e9
                profile?.backwardRules.merge(tape.backwardProfile ?? [:], uniquingKeysWith: +)
            }
            stats.merge(s)
        }
        return stats
    }

    /// Forward FLOPs of one micro-batch: the shared encoder and every objective's own part.
    public func forwardFLOPs(of batch: PretrainingBatch) -> Double {
        (model?.encoder.forwardFLOPs(sequences: batch.input.batch, length: batch.input.length) ?? 0)
            + objectives.reduce(0) { $0 + $1.forwardFLOPs(of: batch) }
    }

    /// The objectives' whole-evaluation metrics.
    public func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double] {
        var out: [String: Double] = [:]
        for objective in objectives { out.merge(objective.evaluationMetrics(over: batches, statistics: statistics)) { a, _ in a } }
        return out
    }
}

extension PretrainingObjectives {
    /// The objectives a recipe names, with freshly initialised networks for `config` (the
    /// discriminator's, for ELECTRA); `maskTokenID` is the tokenizer's mask token (PLM needs it).
    public convenience init(recipe: Recipe, config: EncoderConfiguration, maskTokenID: Int32? = nil) throws {
        if recipe.objectives.contains(.distillation) {
            // The student is made from the teacher (not from `config`), then trained.
            let teacher = try PretrainingModel.load(folder: URL(fileURLWithPath: recipe.teacher))
            let layers = recipe.studentLayers.isEmpty ? PretrainingModel.defaultStudentLayers(teacherLayers: teacher.config.layers) : recipe.studentLayers
            let student = try teacher.student(layers: layers)
            let weights = KnowledgeDistillation.Weights(softTargets: Float(recipe.alphaCE), maskedLM: Float(recipe.alphaMLM), cosine: Float(recipe.alphaCos))
            let kd = try KnowledgeDistillation(teacher: teacher, student: student, temperature: Float(recipe.distillTemperature),
                                               weights: weights, softRows: recipe.distillPositions)
            try self.init(model: student, objectives: [kd])
            return
        }
        if recipe.objectives.contains(.rtd) {
            let rtd = try ReplacedTokenDetection(config: config, generatorSize: recipe.generatorSize,
                                                 discriminatorWeight: recipe.discWeight, temperature: Float(recipe.temperature),
                                                 seed: recipe.seed)
            try self.init(model: nil, objectives: [rtd])
            return
        }
        if recipe.objectives.contains(.plm) {
            guard let maskTokenID else {
                throw RecipeError.invalid("plm starts its query stream from the mask token's embedding: the tokenizer needs a mask token ([MASK] or <mask>)")
            }
            let model = try PretrainingModel(config: config, heads: [.maskedLM], seed: recipe.seed)
            try self.init(model: model, objectives: [try PermutationLanguageModeling(model: model, maskTokenID: maskTokenID)])
            return
        }
        if recipe.objectives.contains(.clm) {
            let model = try PretrainingModel(config: config, heads: [.causalLM], seed: recipe.seed)
            try self.init(model: model, objectives: [try CausalLanguageModeling(model: model)])
            return
        }
        let task = recipe.sentenceTask
        let model = try PretrainingModel(config: config, heads: task == .none ? [.maskedLM] : [.maskedLM, .sentencePair], seed: recipe.seed)
        let objectives: [PretrainingObjective] = try recipe.objectives.map { kind in
            switch kind {
            case .mlm: return try MaskedLanguageModeling(model: model)
            case .nsp, .sop: return try SentencePairPrediction(task: task, model: model)
            case .sbo: return SpanBoundaryObjective(model: model, seed: recipe.seed)
            case .rtd, .distillation, .clm, .plm: throw RecipeError.invalid("\(kind.rawValue) cannot be combined with other objectives")
            }
        }
        try self.init(model: model, objectives: objectives)
    }
}

/// How many predicted ids equal their labels (the fused loss's ignored rows, −1 vs −100, never do).
func matches(_ predictions: [Int32], _ labels: [Int32]) -> Int {
    zip(predictions, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
}

/// Rows of `logits` (N,C) whose argmax equals the label (ignored rows, −100, never match).
func correctCount(_ logits: Tensor, _ labels: [Int32]) -> Int {
    let (n, c) = (logits.rowCount, logits.lastDimension)
    let hits = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, n))
    defer { hits.deallocate() }
    let data = logits.data, out = hits.baseAddress!
    labels.withUnsafeBufferPointer { labels in
        let labels = labels.baseAddress!
        parallelFor(n, grain: 16) { range in
            for r in range {
                let row = data + r * c
                var best = 0
                for j in 1..<c where row[j] > row[best] { best = j }
                out[r] = best == Int(labels[r]) ? 1 : 0
            }
        }
    }
    return hits.prefix(n).reduce(0) { $0 + Int($1) }
}
