import Collectives
import Foundation
import Models
import PretrainingData

/// Where batches come from: an endless, deterministic sequence of masked instances addressed by
/// (epoch, index), so a checkpoint's ``DataPosition`` is all it takes to continue the stream.
public protocol InstanceStream: AnyObject {
    /// Instances in `epoch` (≥ 1).
    func count(epoch: Int) throws -> Int
    /// The instance at `index` of `epoch`, masked.
    func item(epoch: Int, index: Int) throws -> (instance: PretrainingInstance, masked: MaskedInstance)
    /// Whether a batch pads to its longest instance (rounded up to 16, at most the length asked
    /// for) instead of the full length: for streams of short single sentences, whose FLOPs are
    /// then what their sequences cost.
    var padsToLongest: Bool { get }
}

extension InstanceStream {
    /// The next `size` instances from `position`, moving it on (across epoch ends); with `rows`,
    /// only those of the `size` (a data-parallel rank's share) are read and collated.
    public func batch(size: Int, length: Int, padID: Int32, from position: inout DataPosition,
                      rows: Range<Int>? = nil) throws -> PretrainingBatch {
        let rows = rows ?? 0..<size
        var items: [(instance: PretrainingInstance, masked: MaskedInstance)] = []
        items.reserveCapacity(rows.count)
        var row = 0
        while row < size {
            if position.index >= (try count(epoch: position.epoch)) {
                position = DataPosition(epoch: position.epoch + 1, index: 0)
                continue
            }
            if rows.contains(row) { items.append(try item(epoch: position.epoch, index: position.index)) }
            position.index += 1
            row += 1
        }
        guard padsToLongest else { return PretrainingBatch(items, length: length, padID: padID) }
        let longest = items.map(\.masked.inputIDs.count).max() ?? 1
        return PretrainingBatch(items, length: min(length, (longest + 15) / 16 * 16), padID: padID)
    }

    public var padsToLongest: Bool { false }
}

/// The optimisation loop of a pretraining run, short enough to read in one screen: accumulate
/// `grad_accum` micro-batches (each objective's loss normalised over the whole accumulated batch),
/// clip, step the optimizer on the schedule, log, evaluate, checkpoint. It knows objectives only
/// through ``PretrainingObjectives``: metrics are logged by the names the objectives give them.
///
/// Under `mpirun` every rank runs this loop on its share of each micro-batch (``DataParallel``):
/// the recipe's `batch_size × grad_accum` is the job's global batch. Rank 0 alone writes metrics,
/// evaluations and checkpoints; every rank loads a checkpoint on resume.
public final class Trainer {
    public let recipe: Recipe
    public let objectives: PretrainingObjectives
    public let optimizer: Optimizer
    public let schedule: LearningRateSchedule
    public let stream: InstanceStream
    public let heldout: InstanceStream?
    public let runFolder: URL
    public let padID: Int32
    public private(set) var state: TrainerState
    /// The job's processes and the flat gradient buffer they sum.
    public let parallel: DataParallel
    /// Where progress and warnings go (stderr by default; tests silence it).
    public var report: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    public var showsProgress = true
    /// Held-out metrics beyond the objectives' (cross-lingual retrieval, the other sentence task),
    /// added to every evaluation.
    public var additionalEvaluation: (() throws -> [String: Double])?

    public init(recipe: Recipe, objectives: PretrainingObjectives, stream: InstanceStream, heldout: InstanceStream?,
                runFolder: URL, padID: Int32, group: ProcessGroup = .world) {
        self.recipe = recipe
        parallel = DataParallel(parameters: objectives.parameters, group: group, bucketBytes: Int(recipe.allreduceBucketMB * 1_048_576))
        parallel.overlapsBackward = recipe.overlapAllreduce
        self.objectives = objectives
        self.stream = stream
        self.heldout = heldout
        self.runFolder = runFolder
        self.padID = padID
        let params = objectives.parameters
        let adam: AdamMoments & Optimizer
        switch recipe.optimizer {
        case .lamb: adam = LAMB(parameters: params, beta1: recipe.beta1, beta2: recipe.beta2, eps: recipe.eps, weightDecay: recipe.weightDecay)
        case .adamw: adam = AdamW(parameters: params, beta1: recipe.beta1, beta2: recipe.beta2, eps: recipe.eps, weightDecay: recipe.weightDecay)
        }
        adam.clearsGradients = true
        adam.biasCorrection = recipe.biasCorrection
        optimizer = adam
        schedule = LearningRateSchedule(peak: recipe.lr, warmupSteps: recipe.warmupSteps, totalSteps: recipe.maxSteps, decay: recipe.schedule)
        state = TrainerState(step: 0, optimizerSteps: 0, data: DataPosition(),
                             random: RandomGenerator(seed: recipe.seed, stream: [0xd0]), elapsedSeconds: 0)
    }

    var store: CheckpointStore { CheckpointStore(runFolder: runFolder) }

    /// Where the learning-rate schedule is: the step, or with a FLOPs budget the budget's spent
    /// share of `max_steps` when that is further, so a compute-matched run (whose steps cost
    /// what its sequences cost) warms up and decays over its budget whichever limit stops it.
    var scheduleStep: Int {
        guard recipe.maxTrainFLOPs > 0 else { return state.step }
        return max(state.step, Int(min(1, state.trainFLOPs / recipe.maxTrainFLOPs) * Double(recipe.maxSteps)))
    }

    /// Continues from the newest valid checkpoint (falling back past damaged ones).
    public func resume() throws {
        // Stopped before its first checkpoint: nothing to load, and a fresh start is what the
        // uninterrupted run did (its metrics lines past step 0 are dropped by MetricsLog).
        if store.checkpoints().isEmpty {
            report("no checkpoint yet in \(store.folder.path): starting at step 0 (the run stopped before its first checkpoint)")
            return
        }
        let loaded = try store.loadLatest(parameters: objectives.parameters, optimizer: optimizer, warn: report)
        // The data position must exist in this run's stream (epochs can be longer than one pass).
        if loaded.data.epoch > 0, loaded.data.index > (try stream.count(epoch: loaded.data.epoch)) {
            throw CheckpointError.corrupt(store.folder.path, reason: "its data position \(loaded.data.epoch):\(loaded.data.index) is past the end of this run's data; the checkpoint belongs to another corpus")
        }
        state = loaded
        report("resumed at step \(state.step) from \(store.checkpoints().first { $0.step == state.step }?.url.path ?? "?")")
    }

    /// Trains to `max_steps` (or the time limit, or the FLOPs budget), then writes a final evaluation (unless
    /// `eval_every` is 0) and checkpoint.
    public func train() throws {
        let parameters = objectives.parameters
        try parallel.checkSplits(batchSize: recipe.batchSize, what: "batch_size")
        try parallel.synchronize(parameters, state: "step \(state.step) data \(state.data.epoch):\(state.data.index)")
        let log = parallel.isLeader ? try MetricsLog(url: runFolder.appendingPathComponent("metrics.jsonl"), resumedStep: state.step) : nil
        let rows = parallel.share(of: recipe.batchSize)
        var progress = ProgressLine()
        var window = (seconds: 0.0, tokens: 0, positions: 0, steps: 0, wait: 0.0, reduce: 0.0, bytes: 0)
        let deadline = recipe.timeLimitMinutes > 0 ? recipe.timeLimitMinutes * 60 : .infinity
        let budget = recipe.maxTrainFLOPs > 0 ? recipe.maxTrainFLOPs : .infinity
        while state.step < recipe.maxSteps && state.elapsedSeconds < deadline && state.trainFLOPs < budget {
            let start = DispatchTime.now().uptimeNanoseconds
            var batches: [PretrainingBatch] = []
            for _ in 0..<recipe.gradAccum {
                batches.append(try stream.batch(size: recipe.batchSize, length: recipe.seqLen, padID: padID, from: &state.data, rows: rows))
            }
            // The objectives' draws: one stream through the step's micro-batches, keyed by the step
            // (not by how many micro-batches came before), so accumulation draws what one batch would.
            var draws = RandomGenerator(seed: recipe.seed, stream: [0x0b1, UInt64(state.step)] + (parallel.isDistributed ? [UInt64(parallel.group.rank)] : []))
            var noProfile: StepProfile?
            let normalizers = parallel.sum(objectives.normalizers(for: batches))
            let local = try objectives.accumulateGradients(batches, normalizers: normalizers, dropoutSeed: { parallel.rankSeed(state.random.next()) },
                                                           draws: &draws, profile: &noProfile, lastBackward: parallel.watch)
            parallel.sumGradients()
            let stats = parallel.sum(local)
            let lr = schedule.rate(at: scheduleStep)
            let (applied, gradNorm) = applyUpdate(optimizer, to: parameters, lr: lr, maxNorm: recipe.clipNorm, loss: stats.loss)
            if !applied {
                // The weights stay as they were before this step.
                guard recipe.onNonfinite == .skip else {
                    throw TrainingError.nonFinite(step: state.step + 1, loss: stats.loss, gradientNorm: Double(gradNorm))
                }
                state.skippedSteps += 1
                report("warning: step \(state.step + 1) skipped: loss \(stats.loss), gradient norm \(gradNorm) (\(state.skippedSteps) skipped so far)")
            }
            state.step += 1
            // Forward + backward ≈ 3 × forward (the backward pass does two products per forward one).
            state.trainFLOPs += 3 * stats.forwardFLOPs
            let seconds = parallel.slowest(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            state.elapsedSeconds += seconds
            window.seconds += seconds
            window.steps += 1
            window.tokens += stats.tokens
            window.positions += stats.positions
            if parallel.isDistributed {
                let traffic = parallel.lastTraffic
                window.wait += traffic.waitSeconds
                window.reduce += traffic.reduceSeconds
                window.bytes += traffic.bytes
            }

            if state.step % max(1, recipe.logEvery) == 0 || state.step == recipe.maxSteps {
                var record = self.record(stats, split: "train")
                record["lr"] = Double(lr)
                record["grad_norm"] = Double(gradNorm)
                record["tokens_per_s"] = Double(window.tokens) / max(1e-9, window.seconds)
                // Sequence positions processed, padding included (what `bench train` counts).
                record["positions_per_s"] = Double(window.positions) / max(1e-9, window.seconds)
                record["epoch"] = state.data.epoch
                if state.skippedSteps > 0 { record["skipped_steps"] = state.skippedSteps }
                if parallel.isDistributed {
                    // Per step: waiting for the slowest rank, then summing the gradients.
                    let steps = Double(max(1, window.steps))
                    record["ranks"] = parallel.group.size
                    record["wait_s"] = window.wait / steps
                    record["allreduce_s"] = window.reduce / steps
                    record["allreduce_bytes"] = window.bytes / max(1, window.steps)
                    record["comm_fraction"] = (window.wait + window.reduce) / max(1e-9, window.seconds)
                }
                try log?.append(record)
                window = (0, 0, 0, 0, 0, 0, 0)
            }
            if showsProgress && parallel.isLeader {
                progress.update(step: state.step, of: recipe.maxSteps, loss: stats.loss, lr: lr,
                                tokensPerSecond: Double(stats.tokens) / max(1e-9, seconds), elapsed: state.elapsedSeconds)
            }
            let checkpointsNow = recipe.checkpointEvery > 0 && state.step % recipe.checkpointEvery == 0 && state.step < recipe.maxSteps
            if checkpointsNow { try parallel.checkInSync(parameters, step: state.step) }
            // Rank 0 evaluates and writes; the others wait for it in the next step's collectives.
            guard let log else { continue }
            if recipe.evalEvery > 0 && state.step % recipe.evalEvery == 0 && state.step < recipe.maxSteps {
                if let record = try evaluate() { try log.append(record) }
            }
            if checkpointsNow { try checkpoint() }
        }
        try parallel.checkInSync(parameters, step: state.step)
        guard let log else { return }
        if showsProgress { progress.finishLine() }
        if recipe.evalEvery > 0, let record = try evaluate() { try log.append(record) }
        try checkpoint()
    }

    /// Writes a checkpoint of the current state.
    public func checkpoint() throws {
        try store.save(parameters: objectives.parameters, optimizer: optimizer, state: state, keep: recipe.keepCheckpoints)
    }

    /// Every objective's held-out metrics over the first `eval_batches` held-out batches — the
    /// same batches, masks and draws every time.
    public func evaluate() throws -> [String: Any]? {
        guard let heldout, recipe.evalBatches > 0 else { return nil }
        let (stats, batches) = try statistics(of: objectives, on: heldout)
        var record = self.record(stats, split: "eval")
        record.merge(objectives.evaluationMetrics(over: batches, statistics: stats)) { a, _ in a }
        if let additionalEvaluation { record.merge(try additionalEvaluation()) { a, _ in a } }
        return record
    }

    /// The statistics of `objectives` on the first `eval_batches` batches of a fixed `stream`
    /// (no dropout, no gradients), and those batches.
    public func statistics(of objectives: PretrainingObjectives, on stream: InstanceStream) throws -> (ObjectiveStatistics, [PretrainingBatch]) {
        var position = DataPosition()
        var batches: [PretrainingBatch] = []
        for _ in 0..<recipe.evalBatches {
            batches.append(try stream.batch(size: recipe.batchSize, length: recipe.seqLen, padID: padID, from: &position))
            if position.epoch > 0 { break }
        }
        let normalizers = objectives.normalizers(for: batches)
        var stats = ObjectiveStatistics()
        var draws = RandomGenerator(seed: recipe.seed, stream: [0xe7a1])
        for batch in batches {
            stats.merge(try objectives.loss(batch, normalizers: normalizers, training: false, tape: Tape(recording: false), random: &draws).1)
        }
        return (stats, batches)
    }

    /// A metrics line: the step, the split, the optimised loss, every objective metric's mean and
    /// the training compute so far.
    func record(_ stats: ObjectiveStatistics, split: String) -> [String: Any] {
        var r: [String: Any] = ["step": state.step, "split": split, "loss": stats.loss, "train_flops": state.trainFLOPs]
        for (key, value) in stats.means { r[key] = value }
        return r
    }
}

/// A training run that cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(step: Int, loss: Double, gradientNorm: Double)

    public var description: String {
        switch self {
        case let .nonFinite(step, loss, norm):
            return "step \(step) gave loss \(loss) and gradient norm \(norm); the weights were not updated and the last checkpoint is intact. Lower lr (or raise warmup_steps), keep clip_norm on, and --resume; or --set on_nonfinite=skip to skip such steps."
        }
    }
}
