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
        // At least 97 % of the second: judged against 0.97 × its mean, its spread scaled alike.
        XCTAssertEqual(verdict(.atLeast(fraction: 0.97), [0.58, 0.59, 0.57], [0.60, 0.61, 0.59]), .holds)
        XCTAssertEqual(verdict(.atLeast(fraction: 0.97), [0.55, 0.56, 0.54], [0.60, 0.61, 0.59]), .contradicted)
        let kept = ReproductionReport.result(claim(.atLeast(fraction: 0.5)), summaries: summaries(a: [0.40, 0.41, 0.39], b: [0.60, 0.62, 0.58]), seeds: seeds)
        XCTAssertEqual(kept.effect, 0.1, accuracy: 1e-12)
        XCTAssertEqual(kept.standardError, (0.0001 / 3 + 0.25 * 0.0004 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertTrue(kept.reason.contains("0.5 × b"), kept.reason)
    }

    func testAReferenceArmThatLearnedNothingIsNotJudged() {
        let seeds = [1, 2, 3]
        func withBaseline(_ runs: [RunSummary], _ baseline: Double) -> [RunSummary] {
            runs.map { var r = $0; r.metrics["heldout_unigram_baseline_accuracy"] = baseline; return r }
        }
        // A reference at its unigram baseline (0.07): "keeps 97 %" and "is better" mean nothing.
        let stuck = withBaseline(summaries(a: [0.070, 0.071, 0.069], b: [0.070, 0.071, 0.069]), 0.07)
        for e in [Expectation.atLeast(fraction: 0.97), .notWorse, .better] {
            let r = ReproductionReport.result(claim(e), summaries: stuck, seeds: seeds)
            XCTAssertEqual(r.verdict, .notShown, "\(e)")
            XCTAssertTrue(r.reason.contains("not above heldout_unigram_baseline_accuracy (0.07)"), r.reason)
        }
        // The same numbers judged once the reference is clear of its baseline (0.03 above, sd 0.01).
        let learned = withBaseline(summaries(a: [0.40, 0.41, 0.39], b: [0.30, 0.31, 0.29]), 0.27)
        XCTAssertEqual(ReproductionReport.result(claim(.better), summaries: learned, seeds: seeds).verdict, .holds)
        // Just under two standard errors above it (2 × 0.01/√3 ≈ 0.0115): not judged.
        let barely = withBaseline(summaries(a: [0.40, 0.41, 0.39], b: [0.30, 0.31, 0.29]), 0.29)
        XCTAssertEqual(ReproductionReport.result(claim(.better), summaries: barely, seeds: seeds).verdict, .notShown)
        // Unless the claim expects its reference there (NSP-trained models on SOP).
        var expected = claim(.better)
        expected.referenceExpectedAtFloor = true
        XCTAssertEqual(ReproductionReport.result(expected, summaries: barely, seeds: seeds).verdict, .holds)
        // Chance for the balanced pair tasks; none for perplexity.
        var pairs = claim(.better)
        pairs.measure = "paraphrase_accuracy"
        XCTAssertEqual(pairs.floor, .chance(0.5))
        pairs.measure = "heldout_perplexity"
        XCTAssertNil(pairs.floor)
    }

    func testTheReadmeGetsTheSummaryTableBetweenItsMarkers() throws {
        let out = folder()
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let readme = out.appendingPathComponent("README.md")
        try "# Title\n<!-- reproduce:begin -->\nold table\n<!-- reproduce:end -->\nafter\n".write(to: readme, atomically: true, encoding: .utf8)
        let result = ReproductionReport.result(claim(.better), summaries: summaries(a: [0.40, 0.41, 0.39], b: [0.30, 0.31, 0.29]), seeds: [1, 2, 3])
        let report = out.appendingPathComponent("docs/REPORT.md")
        for _ in 0..<2 { try ReproductionReport.updateReadme(readme, results: [result], report: report) }
        let text = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertFalse(text.contains("old table"))
        XCTAssertEqual(text.components(separatedBy: "| claim | measure |").count, 2, "replaced, not appended: \(text)")
        XCTAssertTrue(text.contains("| [A is better than B](docs/REPORT.md#test-claim) | heldout_mlm_accuracy | a: 0.4 ± 0.01 (n=3) | b: 0.3 ± 0.01 (n=3) | holds |"), text)
        XCTAssertTrue(text.hasSuffix("<!-- reproduce:end -->\nafter\n"))
        try "no markers".write(to: readme, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReproductionReport.updateReadme(readme, results: [result], report: report)) {
            XCTAssertTrue("\($0)".contains("reproduce:begin"), "\($0)")
        }
    }

    func testTheParameterTableMatchesTheSeedWhereTheArchitectureDoes() throws {
        let rows = try ParameterTable.rows()
        XCTAssertEqual(rows.map(\.preset), ["bert-base", "bert-large", "albert-base", "albert-large", "albert-xlarge", "albert-xxlarge"])
        XCTAssertEqual(rows.filter(\.matches).map(\.preset), ["bert-base", "bert-large", "albert-base", "albert-large"])
        // BERT's 108M is embeddings + layers; ALBERT's 12M includes the pooler (transformers' counts).
        XCTAssertEqual(rows[0].withoutPooler, 108_891_648)
        XCTAssertEqual(rows[2].backbone, 11_683_584)
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
        // The by-hand commands start with the one that writes the corpus they name.
        XCTAssertTrue(report.contains("```\npretrain corpus build web kjv --output corpus-bible.txt\npretrain train …"), report)
        // ALBERT's parameter table is computed into every report.
        XCTAssertTrue(report.contains("| albert-base | 12M | 12 | 768 | 128 | yes | 11.68M |"), report)
        XCTAssertTrue(report.contains("albert-xxlarge is 222.6M, not 235M"), report)
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

    let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("recipes")
    let words = ["the king", "a shepherd", "the people", "went up to", "looked at", "the mountain", "the temple", "the sea"]
    let small = ["model=tiny", "vocab_size=200", "seq_len=32", "batch_size=4", "grad_accum=1", "threads=1", "heldout_fraction=0.1"]

    /// A small corpus of 60 three-sentence documents in `out`.
    func corpus(in out: URL) throws -> URL {
        let corpus = out.appendingPathComponent("corpus.txt")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var text = ""
        for d in 0..<60 { for s in 0..<3 { text += "\(words[(d + s) % 8]) \(words[(d * 3 + s) % 8]) \(words[(d + 2 * s) % 8]).\n" }; text += "\n" }
        try text.write(to: corpus, atomically: true, encoding: .utf8)
        return corpus
    }

    func testRunnerTrainsBothArmsAtEqualComputeAndSkipsWhatIsDone() throws {
        let out = folder()
        let corpus = try corpus(in: out)
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
        XCTAssertEqual(runner.run([claim]), [])
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
        XCTAssertEqual(runner.run([claim]), [])
        XCTAssertEqual(lines.filter { $0.hasSuffix(")") && $0.contains(": done") }.count, 2, "\(lines)")
        XCTAssertEqual(try RunSummary.all(under: out.appendingPathComponent("runs")), summaries)
    }

    func testAStudentDistilsItsTeacherArmAndBothAreTimed() throws {
        let out = folder()
        let corpus = try corpus(in: out)
        let claim = Claim(id: "distil", title: "distil", source: "test", statement: "a student keeps most", corpus: .bibles, compute: .equalSteps,
                          arms: [Arm("student", "one layer", recipe: "distilbert", teacher: "teacher"), Arm("teacher", "two layers", recipe: "roberta")],
                          measure: "heldout_mlm_accuracy", higherIsBetter: true, expectation: .atLeast(fraction: 0.97), common: small,
                          timesInference: true)
        var runner = ReproductionRunner(folder: out, budget: .quick, seeds: 1, report: { _ in })
        (runner.steps, runner.recipeFolder, runner.corpusFiles) = (4, recipes, [.bibles: corpus])
        XCTAssertEqual(runner.run([claim]), [])
        let summaries = try RunSummary.all(under: out.appendingPathComponent("runs"))
        XCTAssertEqual(summaries.map(\.arm), ["student", "teacher"])
        let (student, teacher) = (summaries[0], summaries[1])
        XCTAssertTrue(student.commands[0].contains("--set teacher=teacher-seed1/model "), student.commands[0])
        // Half the layers: fewer parameters (the embeddings and head stay) and more sequences a second.
        XCTAssertLessThan(student.metrics["parameters"] ?? .infinity, teacher.metrics["parameters"] ?? 0)
        for s in summaries { XCTAssertGreaterThan(s.metrics["inference_sequences_per_second"] ?? 0, 0, s.arm) }
        // A teacher whose model folder is gone is named, not retrained silently.
        try FileManager.default.removeItem(at: runner.runFolder(claim, claim.arms[1], seed: 1).appendingPathComponent("model"))
        try FileManager.default.removeItem(at: runner.runFolder(claim, claim.arms[0], seed: 1).appendingPathComponent(RunSummary.fileName))
        let failures = runner.run([claim])
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.contains("delete the teacher's summary.json") ?? false, "\(failures)")
    }

    func testEveryClaimNamesItsArmsAndItsMeasure() throws {
        XCTAssertEqual(Set(Claim.all.map(\.id)).count, Claim.all.count)
        for c in Claim.all {
            XCTAssertGreaterThanOrEqual(c.arms.count, 2, c.id)
            XCTAssertEqual(Set(c.arms.map(\.name)).count, c.arms.count, c.id)
            XCTAssertFalse(c.statement.isEmpty || c.source.isEmpty, c.id)
            // A teacher is another arm of the claim: the reference, which runs first.
            for arm in c.arms { if let teacher = arm.teacher { XCTAssertEqual(teacher, c.reference.name, c.id) } }
            // Every arm's recipe takes the claim's overrides.
            let runner = ReproductionRunner(folder: folder(), budget: .standard)
            for arm in c.arms {
                let teacher = arm.teacher.map { _ in URL(fileURLWithPath: "/teacher/model") }
                XCTAssertNoThrow(try Recipe.load(recipes.appendingPathComponent(arm.recipe + ".json").path,
                                                 overrides: runner.overrides(c, arm, seed: 1, flopsBudget: nil, teacher: teacher)), "\(c.id) \(arm.name)")
            }
            // Curves need a metric every arm logs; only ELECTRA vs MLM has none in common.
            XCTAssertEqual(c.curveKey == nil, c.id == "electra-vs-mlm", c.id)
        }
        XCTAssertEqual(Claim.all.count, 12)
        XCTAssertThrowsError(try Claim.select(["no-such-claim"])) { XCTAssertTrue("\($0)".contains("no claim 'no-such-claim'")) }
        XCTAssertEqual(try Claim.select([]).count, Claim.all.count)
    }
}
