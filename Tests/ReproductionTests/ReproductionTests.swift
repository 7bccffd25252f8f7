import XCTest
import Foundation
@testable import Reproduction
import Training

/// The report builder on recorded summaries (verdicts follow the numbers and their spread; missing
/// runs are listed), and the runner end to end on a small corpus (a finished run is skipped).
final class ReproductionTests: XCTestCase {
    func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("reproduce-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func claim(_ expectation: Expectation, higherIsBetter: Bool = true) -> Claim {
        Claim(id: "test-claim", title: "A is better than B", source: "a test", statement: "A beats B.", corpus: .bibles, compute: .equalSteps,
              arms: [Arm("a", "arm A", recipe: "roberta"), Arm("b", "arm B", recipe: "roberta")],
              measure: "heldout_mlm_accuracy", higherIsBetter: higherIsBetter, expectation: expectation, common: [])
    }

    func summaries(a: [Double], b: [Double]) -> [RunSummary] {
        a.enumerated().map { RunSummary(claim: "test-claim", arm: "a", seed: $0 + 1, commands: ["pretrain train …"], steps: 10, trainFLOPs: 1e9,
                                        metrics: ["heldout_mlm_accuracy": $1], curve: [.init(flops: 5e8, value: $1 / 2), .init(flops: 1e9, value: $1)]) }
            + b.enumerated().map { RunSummary(claim: "test-claim", arm: "b", seed: $0 + 1, commands: [], steps: 10, trainFLOPs: 1e9,
                                              metrics: ["heldout_mlm_accuracy": $1]) }
    }

    func testVerdictsFollowTheNumbersAndTheirSpread() {
        let seeds = [1, 2, 3]
        func verdict(_ e: Expectation, _ a: [Double], _ b: [Double], higherIsBetter: Bool = true) -> Verdict {
            ReproductionReport.result(claim(e, higherIsBetter: higherIsBetter), summaries: summaries(a: a, b: b), seeds: seeds).verdict
        }
        // Clearly apart (difference 0.1, standard error ~0.006): holds one way, contradicted the other.
        XCTAssertEqual(verdict(.better, [0.40, 0.41, 0.39], [0.30, 0.31, 0.29]), .holds)
        XCTAssertEqual(verdict(.better, [0.30, 0.31, 0.29], [0.40, 0.41, 0.39]), .contradicted)
        // The same means with a spread as large as the difference: not shown.
        XCTAssertEqual(verdict(.better, [0.30, 0.50, 0.40], [0.20, 0.40, 0.30]), .notShown)
        // Not worse: holds when within the spread or better, contradicted when clearly worse.
        XCTAssertEqual(verdict(.notWorse, [0.30, 0.50, 0.40], [0.35, 0.45, 0.40]), .holds)
        XCTAssertEqual(verdict(.notWorse, [0.30, 0.31, 0.29], [0.40, 0.41, 0.39]), .contradicted)
        // Lower is better (perplexity): the sign turns.
        XCTAssertEqual(verdict(.better, [100, 101, 99], [150, 151, 149], higherIsBetter: false), .holds)
        // One seed: no spread, no verdict either way.
        let one = ReproductionReport.result(claim(.better), summaries: summaries(a: [0.9], b: [0.1]), seeds: [1])
        XCTAssertEqual(one.verdict, .notShown)
        XCTAssertTrue(one.reason.contains("one seed"), one.reason)
        // The effect and its standard error are the numbers' (means 0.4 and 0.3, sd 0.01 each).
        let r = ReproductionReport.result(claim(.better), summaries: summaries(a: [0.40, 0.41, 0.39], b: [0.30, 0.31, 0.29]), seeds: seeds)
        XCTAssertEqual(r.effect, 0.1, accuracy: 1e-12)
        XCTAssertEqual(r.standardError, (2 * 0.0001 / 3).squareRoot(), accuracy: 1e-12)
    }

    func testAMissingRunIsListedNotSkipped() throws {
        let out = folder()
        var recorded = summaries(a: [0.40, 0.41, 0.39], b: [0.30, 0.31])
        for s in recorded { try s.write(to: out.appendingPathComponent("runs/test-claim/\(s.arm)-seed\(s.seed)")) }
        recorded.removeAll()
        let results = try ReproductionReport.write(claims: [claim(.better)], budget: .standard, seeds: [1, 2, 3], folder: out)
        XCTAssertEqual(results[0].verdict, .incomplete)
        XCTAssertEqual(results[0].missing, ["b-seed3"])
        let report = try String(contentsOf: out.appendingPathComponent("REPORT.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("missing runs: b-seed3"), report)
        XCTAssertTrue(report.contains("A beats B."))
        XCTAssertTrue(report.contains("0.4 ± 0.01 (n=3)"), report)
        // The claims reproduce cannot run yet are in the table, said to be not run.
        for pending in Claim.pending { XCTAssertTrue(report.contains(pending.title), pending.id) }
        for plot in ["test-claim-bars.svg", "test-claim-curves.svg"] {
            let svg = try String(contentsOf: out.appendingPathComponent("plots/\(plot)"), encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg"), plot)
        }
        // A damaged summary is named, not skipped.
        try Data("{".utf8).write(to: out.appendingPathComponent("runs/test-claim/b-seed2/summary.json"))
        XCTAssertThrowsError(try ReproductionReport.write(claims: [claim(.better)], budget: .standard, seeds: [1, 2, 3], folder: out)) {
            XCTAssertTrue("\($0)".contains("b-seed2/summary.json is not a run summary"), "\($0)")
        }
    }

    func testRunnerTrainsBothArmsAtEqualComputeAndSkipsWhatIsDone() throws {
        let out = folder()
        let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("recipes")
        let corpus = out.appendingPathComponent("corpus.txt")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let words = ["the king", "a shepherd", "the people", "went up to", "looked at", "the mountain", "the temple", "the sea"]
        var text = ""
        for d in 0..<60 { for s in 0..<3 { text += "\(words[(d + s) % 8]) \(words[(d * 3 + s) % 8]) \(words[(d + 2 * s) % 8]).\n" }; text += "\n" }
        try text.write(to: corpus, atomically: true, encoding: .utf8)
        let small = ["model=tiny", "vocab_size=200", "seq_len=32", "batch_size=4", "grad_accum=1", "threads=1", "heldout_fraction=0.1"]
        var claim = Claim(id: "batch", title: "batch", source: "test", statement: "larger batches", corpus: .bibles, compute: .equalFLOPs,
                          arms: [Arm("big", "batch 4 × 2", recipe: "roberta", ["grad_accum=2"]), Arm("small", "batch 4", recipe: "roberta")],
                          measure: "heldout_perplexity", higherIsBetter: false, expectation: .better, common: small)
        // Each pretrained model is then fine-tuned on a small task file (sentences with a king or not).
        var rows = "sentence\tlabel\n"
        for i in 0..<48 { rows += "\(words[i % 8]) \(words[(i * 5 + 1) % 8])\t\(i % 8 == 0 || (i * 5 + 1) % 8 == 0 ? 1 : 0)\n" }
        for split in ["train", "dev"] { try rows.write(to: out.appendingPathComponent("\(split).tsv"), atomically: true, encoding: .utf8) }
        let taskFile = out.appendingPathComponent("king.json")
        try #"{"name": "king", "kind": "sequenceClassification", "format": "tsv", "train": "train.tsv", "dev": "dev.tsv", "text_column": "sentence", "label_column": "label"}"#
            .write(to: taskFile, atomically: true, encoding: .utf8)
        claim.downstream = [Downstream(.file(name: "king", path: taskFile.path), ["epochs=1", "batch_size=16", "max_length=32", "threads=1"])]
        var lines: [String] = []
        var runner = ReproductionRunner(folder: out, budget: .quick, seeds: 1, report: { lines.append($0) })
        (runner.steps, runner.recipeFolder, runner.corpusFiles) = (8, recipes, [.bibles: corpus])
        try runner.run([claim])
        let summaries = try RunSummary.all(under: out.appendingPathComponent("runs"))
        XCTAssertEqual(summaries.map(\.arm), ["big", "small"])
        let (big, small1) = (summaries[0], summaries[1])
        XCTAssertEqual(small1.steps, 8)
        // Equal compute: the arm with twice the batch stops at the reference's FLOPs, in about half the steps.
        XCTAssertGreaterThanOrEqual(big.trainFLOPs, small1.trainFLOPs)
        XCTAssertLessThan(big.trainFLOPs, small1.trainFLOPs * 1.3)
        XCTAssertEqual(big.steps, 4)
        XCTAssertNotNil(big.metrics["heldout_perplexity"])
        XCTAssertFalse(big.curve.isEmpty)
        XCTAssertTrue(big.commands[0].contains("--set max_train_flops="), big.commands[0])
        XCTAssertNotNil(big.metrics["king_accuracy"], "\(big.metrics)")
        XCTAssertTrue(big.commands.last?.hasPrefix("pretrain finetune --task-file ") ?? false, "\(big.commands)")
        let tuned = runner.runFolder(claim, claim.arms[0], seed: 1).appendingPathComponent("finetune-king")
        XCTAssertTrue(FileManager.default.fileExists(atPath: tuned.appendingPathComponent("metrics.jsonl").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tuned.appendingPathComponent("model").path), "fine-tuned weights are not kept")
        // Checkpoints and shards are gone; the summary, metrics and recipe stay.
        let run = runner.runFolder(claim, claim.arms[0], seed: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("metrics.jsonl").path))
        // A second invocation finds both done and trains nothing.
        lines.removeAll()
        try runner.run([claim])
        XCTAssertEqual(lines.filter { $0.hasSuffix(")") && $0.contains(": done") }.count, 2, "\(lines)")
        XCTAssertEqual(try RunSummary.all(under: out.appendingPathComponent("runs")), summaries)
    }

    func testEveryClaimNamesItsArmsAndItsMeasure() throws {
        XCTAssertEqual(Set(Claim.all.map(\.id)).count, Claim.all.count)
        for c in Claim.all {
            XCTAssertEqual(c.arms.count, 2, c.id)
            XCTAssertFalse(c.statement.isEmpty || c.source.isEmpty, c.id)
        }
        XCTAssertThrowsError(try Claim.select(["no-such-claim"])) { XCTAssertTrue("\($0)".contains("no claim 'no-such-claim'")) }
        XCTAssertEqual(try Claim.select([]).count, Claim.all.count)
    }
}
