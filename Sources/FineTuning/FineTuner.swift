import Collectives
import Foundation
import Models
import Tasks
import Tokenizers
import Training

/// Fine-tuning settings; `--set key=value` overrides them (keys as below, snake_case).
public struct FineTuneSettings: Sendable, Equatable {
    public var lr: Float = 1e-4
    public var epochs: Int = 3
    public var batchSize: Int = 32
    public var maxLength: Int = 128
    /// QA windows: tokens per window and context tokens shared by neighbours (`doc_stride`).
    public var qaMaxLength: Int = 192
    public var docStride: Int = 64
    public var warmupFraction: Float = 0.1
    public var weightDecay: Float = 0.01
    /// Layer-wise learning-rate decay (ELECTRA, 0.8): layer l of L gets lr·decay^(L−l); 1 = off.
    public var layerDecay: Float = 1
    public var seed: UInt64 = 42
    public var threads: Int = 0
    /// Use at most this many training examples (0 = all).
    public var maxTrainExamples: Int = 0
    /// The head: the task kind's own (`default`: classifier, tagger, QA, multiple choice) or the
    /// sentence-embedding bi-encoder (`embedding`, sentence-pair tasks).
    public var head: HeadChoice = .default
    /// The sentence-embedding head's loss (`embedding_loss=cosine|ranking`).
    public var embeddingLoss: EmbeddingLoss = .cosine
    /// The ranking loss's scale on cosines (sentence-transformers' default, 20).
    public var rankingScale: Float = 20
    /// Task-specific distillation: a model folder fine-tuned on the same task ("" = none), the
    /// soft targets' τ and their weight α (loss = (1 − α)·task + α·soft; see ``TaskDistillation``).
    public var teacher: String = ""
    public var distillTemperature: Float = 2
    public var distillAlpha: Float = 0.5
    /// A step whose loss or gradient norm is not finite: stop with ``FineTuningError/nonFinite(step:epoch:loss:gradientNorm:)``
    /// or skip it (the weights untouched either way), as pretraining's `on_nonfinite`.
    public var onNonfinite: Recipe.NonFinitePolicy = .stop

    /// Which head `head=` asks for.
    public enum HeadChoice: String, Sendable, CaseIterable {
        case `default`, embedding
    }

    public init() {}

    public static let keys = ["lr", "epochs", "batch_size", "max_length", "qa_max_length", "doc_stride", "warmup_fraction",
                              "weight_decay", "layer_decay", "seed", "threads", "max_train_examples", "head", "embedding_loss", "ranking_scale",
                              "teacher", "distill_temperature", "distill_alpha", "on_nonfinite"]

    /// Applies "key=value" overrides.
    public mutating func apply(_ overrides: [String]) throws {
        for text in overrides {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw RecipeError.badOverride(text) }
            let (key, value) = (parts[0], parts[1])
            func number<T: LosslessStringConvertible>(_ type: T.Type) throws -> T {
                guard let v = T(value) else { throw RecipeError.invalid("\(key) must be a number, got '\(value)'") }
                return v
            }
            switch key {
            case "lr": lr = try number(Float.self)
            case "epochs": epochs = try number(Int.self)
            case "batch_size": batchSize = try number(Int.self)
            case "max_length": maxLength = try number(Int.self)
            case "qa_max_length": qaMaxLength = try number(Int.self)
            case "doc_stride": docStride = try number(Int.self)
            case "warmup_fraction": warmupFraction = try number(Float.self)
            case "weight_decay": weightDecay = try number(Float.self)
            case "layer_decay": layerDecay = try number(Float.self)
            case "seed": seed = try number(UInt64.self)
            case "threads": threads = try number(Int.self)
            case "max_train_examples": maxTrainExamples = try number(Int.self)
            case "head":
                guard let choice = HeadChoice(rawValue: value) else { throw RecipeError.invalid("head must be default or embedding, got '\(value)'") }
                head = choice
            case "embedding_loss":
                guard let loss = EmbeddingLoss(rawValue: value) else { throw RecipeError.invalid("embedding_loss must be cosine or ranking, got '\(value)'") }
                embeddingLoss = loss
            case "ranking_scale": rankingScale = try number(Float.self)
            case "teacher": teacher = value
            case "distill_temperature": distillTemperature = try number(Float.self)
            case "distill_alpha": distillAlpha = try number(Float.self)
            case "on_nonfinite":
                guard let policy = Recipe.NonFinitePolicy(rawValue: value) else { throw RecipeError.invalid("on_nonfinite must be stop or skip, got '\(value)'") }
                onNonfinite = policy
            default: throw RecipeError.invalid("unknown fine-tuning key '\(key)'; valid keys: \(Self.keys.joined(separator: ", "))")
            }
        }
        guard epochs >= 1, batchSize >= 1, maxLength >= 8, lr > 0 else { throw RecipeError.invalid("epochs, batch_size, lr must be positive and max_length ≥ 8") }
    }

    public var json: [String: Any] {
        ["lr": Double(lr), "epochs": epochs, "batch_size": batchSize, "max_length": maxLength, "qa_max_length": qaMaxLength,
         "doc_stride": docStride, "warmup_fraction": Double(warmupFraction), "weight_decay": Double(weightDecay),
         "layer_decay": Double(layerDecay), "seed": seed, "threads": threads, "max_train_examples": maxTrainExamples,
         "head": head.rawValue, "embedding_loss": embeddingLoss.rawValue, "ranking_scale": Double(rankingScale),
         "teacher": teacher, "distill_temperature": Double(distillTemperature), "distill_alpha": Double(distillAlpha),
         "on_nonfinite": onNonfinite.rawValue]
    }
}

/// Fine-tunes a ``TaskModel`` on a task's train split, evaluating on dev after every epoch and
/// keeping the best model in `RUN_DIR/model`.
public final class FineTuner {
    public let task: TaskData
    public let model: TaskModel
    public let tokenizer: Tokenizer
    public let settings: FineTuneSettings
    public let runFolder: URL
    /// The label treated as positive by binary F1, when the task has one.
    public let positiveLabel: String?
    public var report: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    /// Sentence-embedding head, binary labels: pairs with a cosine above this are predicted
    /// positive. `train()` chooses it on dev each epoch (and saves the best epoch's with the
    /// model); when nil, `evaluate(split:)` chooses it on dev first, so a test score never
    /// uses test labels.
    public var similarityThreshold: Double?
    let padID: Int32
    var windows: [TaskSplit: [QuestionAnsweringWindow]] = [:]
    /// Set when the requested lengths were lowered to the model's positions.
    public let lengthAdjustment: String?
    /// A teacher fine-tuned on the task, when this is task-specific distillation.
    public var distillation: TaskDistillation?

    public init(task: TaskData, model: TaskModel, tokenizer: Tokenizer, settings: FineTuneSettings, runFolder: URL, positiveLabel: String?) {
        self.task = task
        self.model = model
        self.tokenizer = tokenizer
        // Features never exceed the positions the model has: longer lengths are lowered to them
        // (and said so when training starts), so every example is truncated or windowed to fit.
        let capacity = model.config.maxPositions - model.config.positionOffset
        var fitted = settings
        fitted.maxLength = min(settings.maxLength, capacity)
        fitted.qaMaxLength = min(settings.qaMaxLength, capacity)
        lengthAdjustment = fitted.maxLength < settings.maxLength || fitted.qaMaxLength < settings.qaMaxLength
            ? "the model has \(capacity) positions: max_length \(settings.maxLength) → \(fitted.maxLength), qa_max_length \(settings.qaMaxLength) → \(fitted.qaMaxLength)"
            : nil
        self.settings = fitted
        self.runFolder = runFolder
        self.positiveLabel = positiveLabel
        padID = Int32(model.config.padTokenId)
    }

    /// The head for a task under `settings`: the kind's own, or the sentence-embedding head
    /// (`head=embedding`), which needs sentence pairs (throws ``FineTuningError`` otherwise).
    public static func head(for task: TaskData, settings: FineTuneSettings, positiveLabel: String?) throws -> TaskModel.Head {
        guard settings.head == .embedding else { return head(for: task) }
        try validateEmbeddingTask(task, loss: settings.embeddingLoss, positiveLabel: positiveLabel)
        return .sentenceEmbedding
    }

    /// Checks that a task can train and score the sentence-embedding head: pairs in every split,
    /// a positive label for classification, and positive pairs (a classification task) for the ranking loss.
    static func validateEmbeddingTask(_ task: TaskData, loss: EmbeddingLoss, positiveLabel: String?) throws {
        guard task.kind == .sequenceClassification || task.kind == .regression else {
            throw FineTuningError.noSentencePairs(task: task.name, reason: "it is \(task.kind.rawValue)")
        }
        for split in TaskSplit.allCases {
            let examples = task.examples(split).classification ?? []
            let single = examples.filter { $0.pair == nil }.count
            if single > 0 {
                throw FineTuningError.noSentencePairs(task: task.name, reason: "\(single) of the \(examples.count) \(split.rawValue) examples have no second text")
            }
        }
        if task.kind == .sequenceClassification {
            guard let positiveLabel, task.labels.contains(positiveLabel) else {
                throw FineTuningError.noPositiveLabel(task: task.name, labels: task.labels)
            }
        } else if loss == .ranking {
            throw FineTuningError.noPositivePairs(task: task.name, reason: "a regression task has no labelled positive pairs; use embedding_loss=cosine")
        }
    }

    /// The head a task kind needs.
    public static func head(for task: TaskData) -> TaskModel.Head {
        switch task.kind {
        case .sequenceClassification: return .sequenceClassification(labels: task.labels.count)
        case .regression: return .sequenceClassification(labels: 1)
        case .tokenClassification: return .tokenClassification(labels: task.labels.count)
        case .questionAnswering: return .questionAnswering
        case .multipleChoice: return .multipleChoice
        }
    }

    /// The task loss of a batch and its logits.
    /// The sentence-embedding head's "logits" are the pairs' cosines (B).
    func loss(_ batch: ArraySlice<Feature>, training: Bool, tape: Tape) throws -> (Variable, Variable, EncoderInput) {
        let (input, choices) = input(batch)
        let logits = try model(input, choices: choices, training: training, tape: tape)
        if model.head == .sentenceEmbedding {
            let cosines = try EmbeddingLoss.pairCosines(logits, tape: tape)
            switch settings.embeddingLoss {
            case .cosine:
                return (EmbeddingLoss.cosineLoss(cosines: cosines, targets: batch.map(\.value), tape: tape), cosines, input)
            case .ranking:
                // Evaluation batches hold negative pairs too, which the ranking loss would treat as
                // positives; only the cosines matter there.
                let loss = training ? try EmbeddingLoss.rankingLoss(embeddings: logits, scale: settings.rankingScale, tape: tape)
                                    : Variable(constant: Tensor(scalar: 0))
                return (loss, cosines, input)
            }
        }
        switch task.kind {
        case .sequenceClassification, .multipleChoice:
            return (tape.crossEntropy(logits, targets: batch.map { $0.targets[0] }), logits, input)
        case .regression:
            let target = Tensor(batch.map { -$0.value }, shape: [batch.count, 1])
            let diff = tape.add(logits, Variable(constant: target))
            return (tape.mean(tape.multiply(diff, diff)), logits, input)
        case .tokenClassification:
            let targets = Self.tokenTargets(batch, length: input.length)
            let flat = tape.reshape(logits, [input.batch * input.length, task.labels.count])
            return (tape.crossEntropy(flat, targets: targets), logits, input)
        case .questionAnswering:
            // logits (B,T,2): the start and end columns, each (B,T), scored over the positions.
            let (starts, ends) = try QuestionAnsweringLogits.split(logits, input: input, tape: tape)
            let loss = tape.add(tape.crossEntropy(starts, targets: batch.map { $0.targets[0] }),
                                tape.crossEntropy(ends, targets: batch.map { $0.targets[1] }))
            return (tape.scale(loss, by: 0.5), logits, input)
        }
    }

    /// Tagging targets laid out flat (b·T + t), −100 where a token has no label.
    static func tokenTargets(_ batch: ArraySlice<Feature>, length: Int) -> [Int32] {
        var targets = [Int32](repeating: -100, count: batch.count * length)
        for (r, f) in batch.enumerated() { for (t, label) in f.targets.enumerated() { targets[r * length + t] = label } }
        return targets
    }

    /// A training batch's loss: the task's, or with a teacher the distillation mix (and its soft term).
    func trainingLoss(_ batch: ArraySlice<Feature>, tape: Tape) throws -> (Variable, EncoderInput, soft: Double?) {
        let (taskLoss, logits, input) = try loss(batch, training: true, tape: tape)
        guard let distillation else { return (taskLoss, input, nil) }
        let rows = task.kind == .tokenClassification
            ? Self.tokenTargets(batch, length: input.length).enumerated().compactMap { $1 != -100 ? Int32($0) : nil } : []
        let (combined, soft) = try distillation.loss(task: taskLoss, student: logits, input: input, choices: batch.first?.ids.count ?? 1,
                                                     kind: task.kind, labelledTokens: rows, tape: tape)
        return (combined, input, soft)
    }

    // MARK: training

    /// Per-parameter learning-rate multipliers for layer-wise decay: embeddings get decay^(L+1)…
    /// the head 1 (Clark et al. 2020, Appendix A).
    func layerScales() -> [Float]? {
        guard settings.layerDecay < 1 else { return nil }
        let layers = model.config.layers
        var depth: [ObjectIdentifier: Int] = [:]
        for p in model.encoder.embeddingParameters { depth[ObjectIdentifier(p)] = 0 }
        for (i, layer) in model.encoder.layers.enumerated() { for p in layer.parameters where depth[ObjectIdentifier(p)] == nil { depth[ObjectIdentifier(p)] = i + 1 } }
        return model.trainableParameters.map { p in
            let d = depth[ObjectIdentifier(p)] ?? (layers + 1)
            return pow(settings.layerDecay, Float(layers + 1 - d))
        }
    }

    /// What a batch's loss is averaged over: its rows, or for tagging its labelled tokens.
    func normalizerCount(_ batch: ArraySlice<Feature>) -> Int {
        task.kind == .tokenClassification && model.head != .sentenceEmbedding
            ? batch.reduce(0) { $0 + $1.targets.filter { $0 != -100 }.count } : batch.count
    }

    /// Trains for `epochs`, evaluating on dev after each and saving the best model; returns the
    /// best dev metrics (on rank 0; the other ranks of an `mpirun` job return none).
    ///
    /// Under `mpirun` each rank computes its share of every batch (``DataParallel``): its loss,
    /// a mean over its rows (or tagged tokens), is weighted by its share of the whole batch's, so
    /// the summed gradients are the one-process gradient. Rank 0 evaluates and saves.
    public func train(group: ProcessGroup = .world) throws -> [String: Double] {
        if let lengthAdjustment, group.isLeader { report(lengthAdjustment) }
        let train = try features(.train)
        let dev = group.isLeader ? try features(.dev) : []
        let parallel = DataParallel(parameters: model.trainableParameters, group: group)
        if parallel.isDistributed {
            try parallel.checkSplits(batchSize: settings.batchSize, what: "batch_size")
            if model.head == .sentenceEmbedding && settings.embeddingLoss == .ranking {
                throw FineTuningError.notDataParallel("embedding_loss=ranking scores every pair of a batch against the others (in-batch negatives), which ranks holding parts of the batch cannot; use embedding_loss=cosine or one process")
            }
        }
        try parallel.synchronize(model.trainableParameters, state: "\(task.name) train \(train.count)")
        let optimizer = AdamW(parameters: model.trainableParameters, weightDecay: settings.weightDecay)
        optimizer.clearsGradients = true
        optimizer.learningRateScales = layerScales()
        let stepsPerEpoch = (train.count + settings.batchSize - 1) / settings.batchSize
        let total = stepsPerEpoch * settings.epochs
        let schedule = LearningRateSchedule(peak: settings.lr, warmupSteps: Int(Float(total) * settings.warmupFraction), totalSteps: total)
        var log: MetricsLog?
        if group.isLeader {
            try FileManager.default.createDirectory(at: runFolder, withIntermediateDirectories: true)
            log = try MetricsLog(url: runFolder.appendingPathComponent("metrics.jsonl"), resumedStep: nil)
        }
        var rng = RandomGenerator(seed: settings.seed, stream: [0xf1])
        var progress = ProgressLine()
        var step = 0, best: [String: Double] = [:], bestScore = -Double.infinity
        let start = DispatchTime.now().uptimeNanoseconds
        var tokens = 0
        for epoch in 1...settings.epochs {
            var order = Array(train.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.integer(below: i + 1)) }
            var lossSum = 0.0, softSum = 0.0, updates = 0
            for b in 0..<stepsPerEpoch {
                let whole = order[(b * settings.batchSize)..<min(order.count, (b + 1) * settings.batchSize)]
                let share = parallel.share(of: whole.count)
                let batch = ArraySlice(whole.dropFirst(share.lowerBound).prefix(share.count).map { train[$0] })
                let tape = Tape(seed: parallel.rankSeed(rng.next()))
                var stepLoss = 0.0, stepSoft = 0.0, stepTokens = 0
                let count = batch.isEmpty ? 0 : normalizerCount(batch)
                let wholeCount = parallel.sum([[count]])[0][0]
                // The last batch of an epoch can leave a rank without rows (or tags): it adds no gradient.
                if count > 0 {
                    var (loss, input, soft) = try trainingLoss(batch, tape: tape)
                    if parallel.isDistributed {
                        let weight = Float(count) / Float(wholeCount)
                        loss = tape.scale(loss, by: weight)
                        soft = soft.map { $0 * Double(weight) }
                    }
                    try tape.backward(loss)
                    (stepLoss, stepSoft, stepTokens) = (Double(loss.value.scalar), soft ?? 0, input.batch * input.length)
                }
                parallel.sumGradients()
                if parallel.isDistributed {
                    let summed = parallel.group.sum([stepLoss, stepSoft, Double(stepTokens)])
                    (stepLoss, stepSoft, stepTokens) = (summed[0], summed[1], Int(summed[2]))
                }
                let lr = schedule.rate(at: step)
                let (applied, gradientNorm) = applyUpdate(optimizer, to: model.trainableParameters, lr: lr, maxNorm: 1, loss: stepLoss)
                if !applied {
                    guard settings.onNonfinite == .skip else {
                        throw FineTuningError.nonFinite(step: step + 1, epoch: epoch, loss: stepLoss, gradientNorm: Double(gradientNorm))
                    }
                    report("warning: step \(step + 1) skipped: loss \(stepLoss), gradient norm \(gradientNorm)")
                } else {
                    (lossSum, softSum, updates) = (lossSum + stepLoss, softSum + stepSoft, updates + 1)
                }
                step += 1
                tokens += stepTokens
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                try log?.append(["step": step, "epoch": epoch, "split": "train", "loss": stepLoss, "lr": Double(lr)])
                if parallel.isLeader {
                    progress.update(step: step, of: total, loss: stepLoss, lr: lr, tokensPerSecond: Double(tokens) / elapsed, elapsed: elapsed)
                }
            }
            // Rank 0 evaluates and saves; the others go on to the next epoch's collectives.
            guard let log else { continue }
            progress.finishLine()
            similarityThreshold = nil  // chosen afresh on dev for this epoch's model
            var metrics = try evaluate(features: dev, split: .dev)
            // Over the steps that updated the weights (a skipped step's loss is not finite).
            metrics["train_loss"] = updates > 0 ? lossSum / Double(updates) : .nan
            if distillation != nil { metrics["train_soft_loss"] = updates > 0 ? softSum / Double(updates) : .nan }
            var record: [String: Any] = ["step": step, "epoch": epoch, "split": "dev"]
            for (k, v) in metrics { record[k] = v }
            try log.append(record)
            let score = metrics[Self.primaryMetric(task.kind)] ?? -Double.infinity
            report("epoch \(epoch): " + metrics.sorted(by: { $0.key < $1.key }).map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  "))
            if score > bestScore {
                bestScore = score
                best = metrics
                let folder = runFolder.appendingPathComponent("model")
                try model.save(folder: folder, labels: task.labels, maxSequenceLength: settings.maxLength)
                try tokenizer.save(to: folder.appendingPathComponent("tokenizer.json"))
                if model.head == .sentenceEmbedding {
                    let range = task.kind == .regression ? try labelRange() : nil
                    try EmbeddingHeadRecord(task: task.name, loss: settings.embeddingLoss, threshold: similarityThreshold,
                                            positiveLabel: task.kind == .regression ? nil : positiveLabel,
                                            labelRange: range.map { [$0.low, $0.high] }).save(folder: folder)
                }
            }
        }
        return best
    }
}
