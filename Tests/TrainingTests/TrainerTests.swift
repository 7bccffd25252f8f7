import XCTest
import Foundation
import Models
import PretrainingData
@testable import Training

/// A deterministic synthetic stream: one of two runs of consecutive ids, every fifth non-special position predicted,
/// spans of two for SBO, an alternating sentence label.
final class SyntheticStream: InstanceStream {
    let vocab: Int, length: Int, perEpoch: Int, seed: UInt64
    init(vocab: Int, length: Int, perEpoch: Int, seed: UInt64) { (self.vocab, self.length, self.perEpoch, self.seed) = (vocab, length, perEpoch, seed) }
    func count(epoch: Int) -> Int { perEpoch }
    func item(epoch: Int, index: Int) -> (instance: PretrainingInstance, masked: MaskedInstance) {
        var rng = RandomGenerator(seed: seed, stream: [UInt64(epoch), UInt64(index)])
        let n = length - rng.integer(below: 3)
        // One of two fixed runs of ids: a masked token is predictable from its position and neighbours.
        let start = 7 * rng.integer(below: 2)
        var ids = (0..<n).map { Int32(5 + (start + $0) % (vocab - 5)) }
        ids[0] = 2; ids[n - 1] = 3
        let special = (0..<n).map { $0 == 0 || $0 == n - 1 }
        var input = ids, positions: [Int32] = [], labels: [Int32] = [], spans: [SpanTarget] = []
        var p = 1 + rng.integer(below: 3)
        while p + 1 < n - 1 {
            for k in 0..<2 {
                positions.append(Int32(p + k)); labels.append(ids[p + k]); input[p + k] = 4
                spans.append(SpanTarget(leftBoundary: Int32(p - 1), rightBoundary: Int32(p + 2), offset: Int32(k)))
            }
            p += 5
        }
        let instance = PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: n), isSpecial: special,
                                           wordStarts: [Bool](repeating: true, count: n), sentenceLabel: Int32(index % 2))
        return (instance, MaskedInstance(inputIDs: input, positions: positions, labels: labels, spanTargets: spans))
    }
}

final class TrainerTests: XCTestCase {
    static let config = EncoderConfiguration(vocabSize: 60, hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 32, maxPositions: 32)

    func makeTrainer(_ recipe: Recipe, folder: URL, sbo: Bool = false, nsp: Bool = false, electra: Bool = false,
                     distillation: Bool = false, dropout: Float = 0.1) throws -> Trainer {
        var config = Self.config
        (config.hiddenDropout, config.attentionDropout) = (dropout, dropout)
        let objectives: PretrainingObjectives
        if electra {
            config.family = .electra
            config.pooler = false
            let rtd = try ReplacedTokenDetection(config: config, seed: recipe.seed)
            objectives = try PretrainingObjectives(model: nil, objectives: [rtd])
        } else if distillation {
            // A fixed random teacher and the student of its layer 0 (as a run remakes them on resume).
            let teacher = try PretrainingModel(config: config, heads: [.maskedLM], seed: 99)
            let student = try teacher.student(layers: [0])
            objectives = try PretrainingObjectives(model: student, objectives: [try KnowledgeDistillation(teacher: teacher, student: student)])
        } else {
            let model = try PretrainingModel(config: config, heads: nsp ? [.maskedLM, .sentencePair] : [.maskedLM], seed: recipe.seed)
            var parts: [PretrainingObjective] = [try MaskedLanguageModeling(model: model)]
            if nsp { parts.append(try SentencePairPrediction(task: .nsp, model: model)) }
            if sbo { parts.append(SpanBoundaryObjective(model: model, seed: recipe.seed)) }
            objectives = try PretrainingObjectives(model: model, objectives: parts)
        }
        let trainer = Trainer(recipe: recipe, objectives: objectives,
                              stream: SyntheticStream(vocab: 60, length: recipe.seqLen, perEpoch: 11, seed: 7),
                              heldout: SyntheticStream(vocab: 60, length: recipe.seqLen, perEpoch: 6, seed: 8),
                              runFolder: folder, padID: 0)
        trainer.report = { _ in }
        trainer.showsProgress = false
        return trainer
    }

    func recipe(steps: Int) -> Recipe {
        var r = Recipe()
        r.maxSteps = steps
        r.batchSize = 4
        r.seqLen = 12
        r.logEvery = 1
        r.evalEvery = 2
        r.evalBatches = 2
        r.checkpointEvery = 0
        r.warmupSteps = 2
        r.lr = 3e-3
        return r
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Metrics lines without the wall-clock fields.
    func deterministicLines(_ folder: URL) -> [String] {
        MetricsLog.read(folder.appendingPathComponent("metrics.jsonl")).map { record in
            var r = record
            r.removeValue(forKey: "tokens_per_s"); r.removeValue(forKey: "positions_per_s")
            return String(decoding: try! JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self)
        }
    }

    func testResumeContinuesBitForBit() throws {
        for (sbo, nsp, electra, kd) in [(false, false, false, false), (true, true, false, false), (false, false, true, false), (false, false, false, true)] {
            let straight = try temporaryFolder(), split = try temporaryFolder()
            try makeTrainer(recipe(steps: 8), folder: straight, sbo: sbo, nsp: nsp, electra: electra, distillation: kd).train()

            // The first half: a run of the same recipe stopped after step 4.
            try trainSteps(try makeTrainer(recipe(steps: 8), folder: split, sbo: sbo, nsp: nsp, electra: electra, distillation: kd), until: 4)
            let second = try makeTrainer(recipe(steps: 8), folder: split, sbo: sbo, nsp: nsp, electra: electra, distillation: kd)
            try second.resume()
            XCTAssertEqual(second.state.step, 4)
            try second.train()

            let a = deterministicLines(straight), b = deterministicLines(split)
            XCTAssertEqual(a.count, 8 + 3 + 1, "8 train lines, 3 periodic + 1 final evaluation")
            XCTAssertEqual(a, b, "sbo \(sbo) nsp \(nsp) electra \(electra) distillation \(kd)")
            let weightsA = try Data(contentsOf: CheckpointStore(runFolder: straight).checkpoints()[0].url.appendingPathComponent("model.safetensors"))
            let weightsB = try Data(contentsOf: CheckpointStore(runFolder: split).checkpoints()[0].url.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(weightsA, weightsB, "final weights identical")
        }
    }

    /// Emulates a run killed after `steps` steps: train with a checkpoint every step, then delete
    /// the checkpoints after `steps` (resume must rewrite the metrics lines past it).
    func trainSteps(_ trainer: Trainer, until steps: Int) throws {
        var everyStep = trainer.recipe
        everyStep.checkpointEvery = 1
        everyStep.keepCheckpoints = 100
        let copy = Trainer(recipe: everyStep, objectives: trainer.objectives, stream: trainer.stream, heldout: trainer.heldout,
                           runFolder: trainer.runFolder, padID: trainer.padID)
        copy.report = { _ in }
        copy.showsProgress = false
        try copy.train()
        for checkpoint in CheckpointStore(runFolder: trainer.runFolder).checkpoints() where checkpoint.step > steps {
            try FileManager.default.removeItem(at: checkpoint.url)
        }
    }

    func testAccumulationEqualsOneLargeBatch() throws {
        try checkAccumulation(electra: false)
    }

    /// ELECTRA's two normalisers (masked positions for the generator, non-pad tokens for the
    /// discriminator) also span the accumulated batch, and the generator's draws continue one
    /// stream through the micro-batches, so they are the big batch's.
    func testElectraAccumulationEqualsOneLargeBatch() throws {
        try checkAccumulation(electra: true)
    }

    /// Distillation's two normalisers (non-pad tokens for the soft targets and the cosine, masked
    /// positions for MLM) span the accumulated batch too.
    func testDistillationAccumulationEqualsOneLargeBatch() throws {
        try checkAccumulation(electra: false, distillation: true)
    }

    func checkAccumulation(electra: Bool, distillation: Bool = false) throws {
        var big = recipe(steps: 3)
        big.batchSize = 8
        big.evalEvery = 0
        var accumulated = big
        accumulated.batchSize = 4
        accumulated.gradAccum = 2
        // Without dropout (whose masks depend on how rows split into micro-batches) the two must agree.
        let (sbo, nsp) = (!electra && !distillation, !electra && !distillation)
        let a = try makeTrainer(big, folder: try temporaryFolder(), sbo: sbo, nsp: nsp, electra: electra, distillation: distillation, dropout: 0)
        let b = try makeTrainer(accumulated, folder: try temporaryFolder(), sbo: sbo, nsp: nsp, electra: electra, distillation: distillation, dropout: 0)
        try a.train()
        try b.train()
        for (p, q) in zip(a.objectives.parameters, b.objectives.parameters) {
            for i in 0..<p.value.count { XCTAssertEqual(p.value.data[i], q.value.data[i], accuracy: 2e-5, p.name) }
        }
        let la = MetricsLog.read(a.runFolder.appendingPathComponent("metrics.jsonl")).filter { $0["split"] as? String == "train" }
        let lb = MetricsLog.read(b.runFolder.appendingPathComponent("metrics.jsonl")).filter { $0["split"] as? String == "train" }
        XCTAssertEqual(la.count, 3)
        for (x, y) in zip(la, lb) {
            XCTAssertEqual(x["loss"] as! Double, y["loss"] as! Double, accuracy: 1e-5)
        }
    }

    /// A finished 4-step run with checkpoints at steps 2 and 4.
    func runWithTwoCheckpoints() throws -> (folder: URL, recipe: Recipe, store: CheckpointStore) {
        let folder = try temporaryFolder()
        var r = recipe(steps: 4)
        r.checkpointEvery = 2
        r.keepCheckpoints = 3
        try makeTrainer(r, folder: folder).train()
        let store = CheckpointStore(runFolder: folder)
        XCTAssertEqual(store.checkpoints().map(\.step), [4, 2])
        return (folder, r, store)
    }

    func testDamagedCheckpointFallsBackToThePreviousOne() throws {
        let (folder, r, store) = try runWithTwoCheckpoints()
        // Truncate the newest checkpoint's weights.
        let weights = store.checkpoints()[0].url.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        var warnings: [String] = []
        let resumed = try makeTrainer(r, folder: folder)
        resumed.report = { warnings.append($0) }
        try resumed.resume()
        XCTAssertEqual(resumed.state.step, 2)
        XCTAssertTrue(warnings.contains { $0.contains("step-00000004") && $0.contains("checksum") }, "\(warnings)")
        // With every checkpoint damaged, a clear error.
        try Data("{".utf8).write(to: store.checkpoints()[1].url.appendingPathComponent("state.json"))
        XCTAssertThrowsError(try makeTrainer(r, folder: folder).resume()) { error in
            XCTAssertTrue("\(error)".contains("no usable checkpoint"), "\(error)")
        }
    }

    /// The state is checksummed like the tensors: an edited step or data position is a damaged
    /// checkpoint (the previous one is used), never a run that "resumes" where it never was.
    func testAnEditedStateIsCaught() throws {
        let (folder, r, store) = try runWithTwoCheckpoints()
        let stateURL = store.checkpoints()[0].url.appendingPathComponent("state.json")
        let text = try String(contentsOf: stateURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"step\" : 4", with: "\"step\" : 999").write(to: stateURL, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try String(contentsOf: stateURL, encoding: .utf8), text, "the edit took")
        var warnings: [String] = []
        let resumed = try makeTrainer(r, folder: folder)
        resumed.report = { warnings.append($0) }
        try resumed.resume()
        XCTAssertEqual(resumed.state.step, 2)
        XCTAssertTrue(warnings.contains { $0.contains("state.json does not match") }, "\(warnings)")
    }

    func testLossFallsOnALearnableStream() throws {
        var r = recipe(steps: 40)
        r.evalEvery = 0
        r.lr = 1e-2
        r.warmupSteps = 5
        let trainer = try makeTrainer(r, folder: try temporaryFolder())
        try trainer.train()
        let lines = MetricsLog.read(trainer.runFolder.appendingPathComponent("metrics.jsonl")).filter { $0["split"] as? String == "train" }
        let first = lines.prefix(3).map { $0["loss"] as! Double }.reduce(0, +) / 3
        let last = lines.suffix(3).map { $0["loss"] as! Double }.reduce(0, +) / 3
        XCTAssertLessThan(last, first - 0.5, "training must lower the loss (\(first) → \(last))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: trainer.runFolder.appendingPathComponent("checkpoints").path))
    }

    /// On runs of consecutive ids a replaced token breaks the run: the discriminator must learn to
    /// find replacements (beat calling everything original) while the generator learns to fill in.
    func testElectraDiscriminatorLearnsOnALearnableStream() throws {
        var r = recipe(steps: 150)
        r.evalEvery = 150
        r.evalBatches = 4
        r.lr = 3e-3
        r.warmupSteps = 10
        let trainer = try makeTrainer(r, folder: try temporaryFolder(), electra: true, dropout: 0)
        try trainer.train()
        let eval = try XCTUnwrap(MetricsLog.read(trainer.runFolder.appendingPathComponent("metrics.jsonl")).last { $0["split"] as? String == "eval" })
        let accuracy = try XCTUnwrap(eval["rtd_accuracy"] as? Double), baseline = try XCTUnwrap(eval["rtd_baseline_accuracy"] as? Double)
        print("ELECTRA on the synthetic stream:", eval)
        XCTAssertGreaterThan(accuracy, baseline + 0.5 * (1 - baseline), "the discriminator halves the baseline's errors")
        XCTAssertGreaterThan(try XCTUnwrap(eval["rtd_recall"] as? Double), 0.3)
    }
}
