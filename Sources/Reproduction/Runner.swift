import Autodiff
import FineTuning
import Foundation
import Models
import PretrainingData
import Tensors
import Training

/// Runs the experiments of claims into `DIR/runs/<claim>/<arm>-seed<S>/`: a run whose
/// `summary.json` exists is done and skipped, a run cut short resumes from its newest checkpoint,
/// the rest start. Each finished run keeps its summary, metrics and recipe (its checkpoints and
/// shards are deleted), so a second invocation — or a report — needs nothing else.
public struct ReproductionRunner {
    public let folder: URL
    public let budget: Budget
    public let seeds: [Int]
    /// Progress lines (`[3/24] roberta-no-nsp full-sentences seed 2: …`) and run output.
    public var report: (String) -> Void
    /// Where the recipes are (nil: `Recipe.load`'s search folders).
    public var recipeFolder: URL?
    /// Steps of each claim's reference arm (the budget's unless set).
    public var steps: Int
    /// Corpus files to use instead of building the claims' corpora from the OS packages.
    public var corpusFiles: [ClaimCorpus: URL] = [:]

    public init(folder: URL, budget: Budget, seeds: Int? = nil, report: @escaping (String) -> Void = { print($0) }) {
        self.folder = folder
        self.budget = budget
        self.steps = budget.steps
        self.seeds = Array(1...max(1, seeds ?? budget.defaultSeeds))
        self.report = report
    }

    /// The run folder of one arm and seed.
    public func runFolder(_ claim: Claim, _ arm: Arm, seed: Int) -> URL {
        folder.appendingPathComponent("runs").appendingPathComponent(claim.id).appendingPathComponent("\(arm.name)-seed\(seed)")
    }

    /// The recipe overrides of an arm: the claim's shape, the arm's own, the budget and seed, and
    /// for equal-FLOPs claims the reference arm's budget (nil: this arm sets it), and a student's
    /// teacher model.
    public func overrides(_ claim: Claim, _ arm: Arm, seed: Int, flopsBudget: Double?, teacher: URL? = nil) -> [String] {
        var out = claim.common + arm.overrides + (teacher.map { ["teacher=\($0.path)"] } ?? [])
        out += ["seed=\(seed)", "eval_every=\(max(1, steps / 4))", "checkpoint_every=\(max(1, steps / 4))", "eval_batches=10", "log_every=10"]
        if let flopsBudget {
            // The schedule runs over the budget (see Trainer); max_steps only sets its scale and must
            // not stop the arm first: 4× the reference's steps covers arms whose steps cost ≥ 1/4 as much.
            out += ["max_train_flops=\(flopsBudget)", "max_steps=\(4 * steps)", "warmup_steps=\(4 * steps / 10)"]
        } else {
            out += ["max_steps=\(steps)", "warmup_steps=\(steps / 10)"]
        }
        return out
    }

    /// Runs (or skips, or resumes) every run of `claims`. A run that fails is reported and the
    /// rest of its claim and seed skipped (they may need its budget or model); the others go on,
    /// and the failures are returned (the report lists their runs as missing).
    @discardableResult
    public func run(_ claims: [Claim]) -> [String] {
        let total = claims.reduce(0) { $0 + $1.arms.count * seeds.count }
        var index = 0, failures: [String] = []
        for claim in claims {
            for seed in seeds {
                // The reference arm runs first: equal-FLOPs arms stop at its budget, a student
                // distils its exported model.
                var flopsBudget: Double?
                let arms = [claim.reference] + claim.arms.filter({ $0 != claim.reference })
                for (k, arm) in arms.enumerated() {
                    index += 1
                    let matchedBudget = claim.compute == .equalFLOPs && arm != claim.reference ? flopsBudget : nil
                    do {
                        let summary = try runOnce(claim, arm, seed: seed, flopsBudget: matchedBudget, progress: "[\(index)/\(total)]")
                        if arm == claim.reference { flopsBudget = summary.trainFLOPs }
                    } catch {
                        let failure = "\(claim.id) \(arm.name) seed \(seed): \(error)"
                        report("[\(index)/\(total)] failed: \(failure)")
                        failures.append(failure)
                        index += arms.count - k - 1
                        break
                    }
                }
            }
        }
        return failures
    }

    /// The exported model of `arm`'s teacher arm (same seed), checked to be there.
    func teacherModel(_ claim: Claim, _ arm: Arm, seed: Int) throws -> URL? {
        guard let name = arm.teacher else { return nil }
        guard let teacher = claim.arms.first(where: { $0.name == name }), teacher != arm else {
            throw ReproductionError.badClaim(claim.id, reason: "arm \(arm.name)'s teacher '\(name)' is not another arm of the claim")
        }
        let model = runFolder(claim, teacher, seed: seed).appendingPathComponent("model")
        guard FileManager.default.fileExists(atPath: model.appendingPathComponent("config.json").path) else {
            throw ReproductionError.missingTeacher(model.path)
        }
        return model
    }

    func runOnce(_ claim: Claim, _ arm: Arm, seed: Int, flopsBudget: Double?, progress: String) throws -> RunSummary {
        let out = runFolder(claim, arm, seed: seed)
        let summaryURL = out.appendingPathComponent(RunSummary.fileName)
        if FileManager.default.fileExists(atPath: summaryURL.path) {
            let done = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: summaryURL))
            report("\(progress) \(claim.id) \(arm.name) seed \(seed): done (\(claim.measure) \(done.metrics[claim.measure].map { String(format: "%.4g", $0) } ?? "–"))")
            return done
        }
        let started = Date()
        let corpus = try corpusFile(claim.corpus)
        let overrides = overrides(claim, arm, seed: seed, flopsBudget: flopsBudget, teacher: try teacherModel(claim, arm, seed: seed))
        let resuming = !CheckpointStore(runFolder: out).checkpoints().isEmpty
        report("\(progress) \(claim.id) \(arm.name) seed \(seed): \(resuming ? "resuming" : "training") (\(arm.label))")
        let recipe = try Recipe.load(recipeFolder.map { $0.appendingPathComponent(arm.recipe + ".json").path } ?? arm.recipe, overrides: overrides)
        let format: CorpusFormat = claim.corpus == .englishSpanish ? .parallel : .text
        let run = try PretrainingRun(recipe: recipe, overrides: resuming ? overrides : [], corpus: .init(files: [corpus.path], format: format),
                                     folder: out, resume: resuming, report: { _ in })
        run.trainer.showsProgress = false
        try run.trainer.train()
        try run.export()
        let records = MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))
        let evals = records.filter { $0["split"] as? String == "eval" }
        var metrics: [String: Double] = [:]
        for (key, value) in evals.last ?? [:] {
            guard let number = value as? Double, key != "step", key != "train_flops" else { continue }
            metrics[key.hasPrefix("retrieval") ? key : "heldout_" + key] = number
        }
        if let model = run.trainer.objectives.exports.first?.model {
            metrics["parameters"] = Double(model.parameters.reduce(0) { $0 + $1.value.count })
            if claim.timesInference { metrics["inference_sequences_per_second"] = try Self.inferenceSpeed(model, length: recipe.seqLen) }
        }
        let curve = evals.compactMap { r -> RunSummary.CurvePoint? in
            guard let key = claim.curveKey, let flops = r["train_flops"] as? Double, let value = r[key] as? Double else { return nil }
            return RunSummary.CurvePoint(flops: flops, value: value)
        }
        // By hand, in the claim's folder: paths relative to it.
        let claimFolder = out.deletingLastPathComponent().path + "/"
        var commands = ["pretrain train --recipe \(arm.recipe) --corpus \(corpus.lastPathComponent) --out \(arm.name)-seed\(seed) "
            + overrides.map { "--set \(Self.quoted($0.replacingOccurrences(of: claimFolder, with: "")))" }.joined(separator: " ")]
        for downstream in claim.downstream {
            // Fine-tuned with the arm's seed; the best dev epoch's metrics are kept, its model is not.
            var settings = FineTuneSettings()
            let given = downstream.settings + ["seed=\(seed)"]
            try settings.apply(given)
            let target = out.appendingPathComponent("finetune-\(downstream.name)")
            let model = out.appendingPathComponent("model")
            let job: FineTuneJob, taskOption: String
            switch downstream.task {
            case .builtin(let name):
                job = try FineTuneJob(builtinTask: name, model: model, runFolder: target, settings: settings)
                taskOption = "--task \(name)"
            case .file(_, let path):
                let file = try TaskFile.load(path: path)
                job = FineTuneJob(task: try file.load(), positiveLabel: file.positiveLabel, model: model, runFolder: target, settings: settings)
                taskOption = "--task-file \(path)"
            }
            for (key, value) in try job.run(report: { _ in }) { metrics["\(downstream.name)_\(key)"] = value }
            try? FileManager.default.removeItem(at: target.appendingPathComponent("model"))
            commands.append("pretrain finetune \(taskOption) --model \(arm.name)-seed\(seed)/model --out \(arm.name)-seed\(seed)-\(downstream.name) "
                            + given.map { "--set \($0)" }.joined(separator: " "))
        }
        let summary = RunSummary(claim: claim.id, arm: arm.name, seed: seed, commands: commands, steps: run.trainer.state.step,
                                 trainFLOPs: run.trainer.state.trainFLOPs, metrics: metrics, curve: curve,
                                 seconds: Date().timeIntervalSince(started))
        try summary.write(to: out)
        for bulky in ["checkpoints", "data"] { try? FileManager.default.removeItem(at: out.appendingPathComponent(bulky)) }
        report("\(progress) \(claim.id) \(arm.name) seed \(seed): \(claim.measure) \(metrics[claim.measure].map { String(format: "%.4g", $0) } ?? "–") after \(summary.steps) steps")
        return summary
    }

    /// Sequences a second through `model`'s encoder alone (no gradients), batches of 32 ×
    /// `length` random tokens, the best of 5 timed passes after one warm-up.
    static func inferenceSpeed(_ model: PretrainingModel, length: Int) throws -> Double {
        let batch = 32
        var random = RandomGenerator(seed: 0)
        let ids = (0..<batch * length).map { _ in Int32(random.integer(below: model.config.vocabSize)) }
        let input = EncoderInput(ids: ids, batch: batch, length: length)
        var best = Double.infinity
        for pass in 0..<6 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.encoder(input, training: false, tape: Tape(recording: false))
            if pass > 0 { best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return Double(batch) / best
    }

    static func quoted(_ s: String) -> String { s.contains(where: { " \"[],".contains($0) }) ? "'\(s)'" : s }

    /// The claim's corpus, built once into `DIR/data/` from the OS packages.
    func corpusFile(_ corpus: ClaimCorpus) throws -> URL {
        if let given = corpusFiles[corpus] { return given }
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let url = data.appendingPathComponent(corpus.fileName)
        guard !FileManager.default.fileExists(atPath: url.path) else { return url }
        switch corpus {
        case .bibles, .biblesAndWordNet:
            let writer = try TextCorpusWriter(path: url.path)
            for c in corpus == .bibles ? [BuiltInCorpus.web, .kjv] : [.web, .kjv, .wordnet] {
                let stream = try c.documents()
                while let doc = try stream.nextDocument() { try writer.write(document: doc) }
            }
            try writer.finish()
        case .newTestament:
            let verses = try BuiltInCorpus.web.referencedVerses()
            guard let matthew = verses.firstIndex(where: { $0.reference.book == "Matthew" }) else {
                throw ReproductionError.badCorpus("the World English Bible printed no Matthew; check `diatheke -b engWEB2015eb -k Matt 1:1`")
            }
            // One document a chapter, one line a verse.
            let writer = try TextCorpusWriter(path: url.path)
            var chapter: [String] = [], current: (String, Int)?
            for verse in verses[matthew...] {
                let key = (verse.reference.book, verse.reference.chapter)
                if let c = current, c != key { try writer.write(document: chapter); chapter = [] }
                current = key
                chapter.append(verse.text)
            }
            try writer.write(document: chapter)
            try writer.finish()
        case .englishSpanish:
            let verses = ParallelVerses(try BuiltInCorpus.web.referencedVerses(), try BuiltInCorpus.rv1909.referencedVerses())
            try Data(verses.tabSeparated().utf8).write(to: url, options: .atomic)
        }
        return url
    }
}
