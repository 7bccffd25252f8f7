import XCTest
import Foundation
import Models
import PretrainingData
import SafeTensors
@testable import Training

/// A NaN or infinite loss never reaches the weights, a checkpoint or an exported model: the run
/// stops with a named error (or, with `on_nonfinite=skip`, skips the step and counts it); NaN
/// weights are refused when saving a checkpoint and when loading one or a model folder; optimizer
/// settings that cannot train are refused up front.
final class NonFiniteTests: XCTestCase {
    /// MLM whose loss is NaN on chosen calls (the gradient of the added constant is still finite,
    /// so only the loss says something went wrong).
    final class PoisonedMLM: PretrainingObjective {
        let inner: MaskedLanguageModeling
        let poisoned: Set<Int>
        var calls = 0
        init(model: PretrainingModel, poisoned: Set<Int>) throws { (inner, self.poisoned) = (try MaskedLanguageModeling(model: model), poisoned) }
        var name: String { inner.name }
        var parameters: [Parameter] { inner.parameters }
        func rowsRead(in batch: PretrainingBatch) -> [Int32] { inner.rowsRead(in: batch) }
        func normalizerCounts(in batch: PretrainingBatch) -> [Int] { inner.normalizerCounts(in: batch) }
        func forwardFLOPs(of batch: PretrainingBatch) -> Double { inner.forwardFLOPs(of: batch) }
        func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
            calls += 1
            guard let loss = try inner.loss(pass, normalizers: normalizers, statistics: &statistics) else { return nil }
            return poisoned.contains(calls) ? pass.tape.add(loss, Variable(constant: Tensor(scalar: .nan))) : loss
        }
    }

    func trainer(_ policy: Recipe.NonFinitePolicy, poisoned: Set<Int>, folder: URL) throws -> (Trainer, PretrainingModel) {
        var r = Recipe()
        (r.maxSteps, r.batchSize, r.seqLen, r.logEvery, r.evalEvery, r.checkpointEvery, r.warmupSteps) = (4, 4, 12, 1, 0, 0, 1)
        r.onNonfinite = policy
        let model = try PretrainingModel(config: TrainerTests.config, heads: [.maskedLM], seed: 1)
        let objectives = try PretrainingObjectives(model: model, objectives: [try PoisonedMLM(model: model, poisoned: poisoned)])
        let t = Trainer(recipe: r, objectives: objectives, stream: SyntheticStream(vocab: 60, length: 12, perEpoch: 11, seed: 7),
                        heldout: nil, runFolder: folder, padID: 0)
        (t.report, t.showsProgress) = ({ _ in }, false)
        return (t, model)
    }

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nonfinite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testANonFiniteLossStopsTheRunBeforeTheUpdate() throws {
        let (t, model) = try trainer(.stop, poisoned: [2], folder: try folder())
        XCTAssertThrowsError(try t.train()) { error in
            guard case TrainingError.nonFinite(let step, let loss, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(step, 2)
            XCTAssertTrue(loss.isNaN)
            XCTAssertTrue("\(error)".contains("on_nonfinite=skip"), "\(error)")
        }
        XCTAssertEqual(t.state.step, 1, "step 2 did not happen")
        XCTAssertNil(model.encoder.embeddings.words.weight.value.firstNonFiniteIndex)
    }

    func testSkipDropsTheStepCountsItAndKeepsTheLine() throws {
        let out = try folder()
        let (t, model) = try trainer(.skip, poisoned: [2], folder: out)
        try t.train()
        XCTAssertEqual(t.state.step, 4)
        XCTAssertEqual(t.state.skippedSteps, 1)
        XCTAssertNil(model.encoder.embeddings.words.weight.value.firstNonFiniteIndex)
        let lines = MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(lines.count, 4, "the skipped step's line is kept")
        XCTAssertTrue(lines[1]["loss"] is NSNull, "its loss is written as null")
        XCTAssertEqual(lines[3]["skipped_steps"] as? Int, 1)
        XCTAssertEqual(CheckpointStore(runFolder: out).checkpoints().map(\.step), [4])
        // The count survives a resume.
        let (again, _) = try trainer(.skip, poisoned: [], folder: out)
        try again.resume()
        XCTAssertEqual(again.state.skippedSteps, 1)
    }

    func testNaNWeightsAreNeverCheckpointedOrLoaded() throws {
        let out = try folder()
        let (t, model) = try trainer(.stop, poisoned: [], folder: out)
        try t.checkpoint()
        model.encoder.embeddings.words.weight.value.data[3] = .nan
        XCTAssertThrowsError(try t.checkpoint()) { XCTAssertTrue("\($0)".contains("word_embeddings") && "\($0)".contains("NaN"), "\($0)") }
        XCTAssertEqual(CheckpointStore(runFolder: out).checkpoints().count, 1, "the good checkpoint is kept")

        // A model holding a NaN is not saved.
        let modelFolder = out.appendingPathComponent("model")
        let file = modelFolder.appendingPathComponent("model.safetensors")
        XCTAssertThrowsError(try model.save(folder: modelFolder)) {
            XCTAssertEqual($0 as? ModelError, .nonFiniteWeightsToSave(name: "bert.embeddings.word_embeddings.weight", index: 3))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path))
        // A model folder with a NaN weight (put into the file by hand) is refused on load, naming the tensor.
        model.encoder.embeddings.words.weight.value.data[3] = 0
        try model.save(folder: modelFolder)
        var bytes = try Data(contentsOf: file)
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as? [String: Any]
        let entry = header?["bert.embeddings.word_embeddings.weight"] as? [String: Any]
        let start = try XCTUnwrap((entry?["data_offsets"] as? [Int])?.first) + 8 + headerLength + 3 * 4
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { bytes.replaceSubrange(start..<(start + 4), with: $0) }
        try bytes.write(to: file)
        XCTAssertThrowsError(try PretrainingModel.load(folder: modelFolder)) { error in
            XCTAssertEqual(error as? ModelError, .nonFiniteWeights(name: "bert.embeddings.word_embeddings.weight", index: 3,
                                                                   file: modelFolder.appendingPathComponent("model.safetensors").path))
        }
    }

    func testSettingsThatCannotTrainAreRefused() throws {
        for (override, key) in [("lr=-0.001", "lr"), ("beta2=1", "beta2"), ("eps=0", "eps"), ("weight_decay=-1", "weight_decay"),
                                ("clip_norm=-1", "clip_norm"), ("dropout=1", "dropout"), ("on_nonfinite=ignore", "on_nonfinite"),
                                ("keep_checkpoints=0", "keep_checkpoints"), ("seq_len=1000000000", "seq_len"),
                                ("batch_size=1000000000", "batch_size")] {
            XCTAssertThrowsError(try Recipe.parse(Data("{}".utf8), source: "test", overrides: [override]), override) {
                XCTAssertTrue("\($0)".contains(key), "\(override): \($0)")
            }
        }
        XCTAssertEqual(try Recipe.parse(Data("{}".utf8), source: "test", overrides: ["on_nonfinite=skip"]).onNonfinite, .skip)
    }
}
