import XCTest
import Foundation
import Models
import PretrainingData
@testable import Training

/// Every shipped recipe runs end to end on a small corpus: tokenizer trained, shards prepared,
/// steps trained with evaluation, checkpoint written, Hugging Face folder exported and loadable;
/// and `--resume` with a larger max_steps continues a finished run exactly.
final class PretrainingRunTests: XCTestCase, RunFolders {
    /// A corpus of short documents of a few sentences in a small vocabulary.
    func corpus() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString).txt")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        var rng = RandomGenerator(seed: 11)
        let subjects = ["the king", "a shepherd", "the people", "my brother", "the city", "a small bird", "the river", "his servant"]
        let verbs = ["went up to", "looked at", "spoke to", "built", "remembered", "sang about", "crossed", "praised"]
        let objects = ["the mountain", "the temple", "a great wall", "the sea", "the old road", "the field", "the gate", "the morning"]
        var text = ""
        for _ in 0..<120 {
            for _ in 0..<(2 + rng.integer(below: 4)) {
                text += "\(subjects[rng.integer(below: 8)]) \(verbs[rng.integer(below: 8)]) \(objects[rng.integer(below: 8)]).\n"
            }
            text += "\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    let small = ["model=tiny", "vocab_size=300", "seq_len=32", "batch_size=4", "grad_accum=1", "max_steps=4", "warmup_steps=1",
                 "log_every=1", "eval_every=2", "eval_batches=2", "checkpoint_every=2", "heldout_fraction=0.1", "threads=1"]

    func testEveryRecipeTrainsExportsAndResumes() throws {
        let text = try corpus()
        for name in ["bert", "roberta", "albert", "spanbert", "electra", "gpt", "xlnet-plm"] {
            let recipe = try Recipe.load(recipes.appendingPathComponent("\(name).json").path, overrides: small)
            let out = folder()
            let run = try PretrainingRun(recipe: recipe, overrides: small, corpus: .init(files: [text.path]), folder: out, resume: false,
                                         report: { _ in })
            run.trainer.showsProgress = false
            try run.trainer.train()
            let exported = try run.export()
            let records = MetricsLog.read(out.appendingPathComponent("metrics.jsonl"))
            XCTAssertEqual(records.filter { $0["split"] as? String == "train" }.count, 4, name)
            let eval = records.filter { $0["split"] as? String == "eval" }
            XCTAssertEqual(eval.count, 2, name)
            let metrics: [String: [String]] = [
                // The sentence head is also scored on the other sentence task (ALBERT's Table 5).
                "bert": ["mlm_accuracy", "nsp_accuracy", "sop_accuracy", "sop_loss", "perplexity"], "roberta": ["mlm_accuracy", "perplexity"],
                "albert": ["mlm_accuracy", "sop_accuracy", "nsp_accuracy"], "spanbert": ["mlm_accuracy", "sbo_accuracy"],
                "electra": ["generator_mlm_accuracy", "rtd_accuracy", "rtd_precision", "rtd_recall", "replaced_fraction", "rtd_baseline_accuracy"],
                "gpt": ["clm_loss", "clm_accuracy", "perplexity"], "xlnet-plm": ["plm_loss", "plm_accuracy", "perplexity", "unigram_baseline_accuracy"],
            ]
            for key in metrics[name] ?? [] { XCTAssertNotNil(eval.last?[key] as? Double, "\(name): \(key)") }
            if name == "roberta" { XCTAssertNil(eval.last?["nsp_accuracy"] ?? eval.last?["sop_accuracy"], "no sentence head, no sentence task") }
            if name == "albert" { XCTAssertNil(records.first { $0["split"] as? String == "train" }?["nsp_accuracy"], "NSP is scored, not trained") }
            let flops = records.compactMap { $0["train_flops"] as? Double }
            XCTAssertEqual(flops.count, records.count, "every line carries train_flops")
            XCTAssertEqual(flops, flops.sorted(), "train_flops only grows")
            XCTAssertGreaterThan(flops.last ?? 0, 0)
            for file in ["loss.svg", "accuracy.svg", "model/config.json", "model/model.safetensors", "model/tokenizer.json", "recipe.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(name): \(file)")
            }
            XCTAssertEqual(exported.map(\.lastPathComponent), name == "electra" ? ["model", "generator"] : ["model"], name)
            for folder in exported {
                let loaded = try PretrainingModel.load(folder: folder)
                XCTAssertEqual(loaded.config.family, recipe.family, name)
                XCTAssertEqual(loaded.config.vocabSize, run.tokenizer.vocabularySize, name)
                XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path), name)
            }
            if name == "electra" {
                // The discriminator is an ElectraForPreTraining, the generator a smaller ElectraForMaskedLM sharing its embeddings.
                let discriminator = try PretrainingModel.load(folder: exported[0]), generator = try PretrainingModel.load(folder: exported[1])
                XCTAssertEqual(discriminator.architecture, "ElectraForPreTraining")
                XCTAssertEqual(generator.architecture, "ElectraForMaskedLM")
                XCTAssertEqual(generator.config.hiddenSize * 4, discriminator.config.hiddenSize)
                XCTAssertEqual(generator.encoder.embeddings.words.weight.value.scalars, discriminator.encoder.embeddings.words.weight.value.scalars)
            }

            if name == "gpt" {
                // A GPT2LMHeadModel with GPT-2's tokenizer: byte-level BPE, <|endoftext|> its one special token.
                let model = try PretrainingModel.load(folder: exported[0])
                XCTAssertEqual(model.architecture, "GPT2LMHeadModel")
                XCTAssertEqual(run.tokenizer.config.addedTokens.map(\.content), [SequenceTemplate.endOfText])
                XCTAssertEqual(model.config.padTokenId, run.tokenizer.id(of: SequenceTemplate.endOfText))
            }
            if name == "roberta" {
                // `--resume` with a larger max_steps continues the finished run from its checkpoint,
                // keeping its metrics lines (the exact-resume test with a fixed schedule is in TrainerTests).
                let before = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                let resumed = try PretrainingRun(recipe: Recipe(), overrides: ["max_steps=6"], corpus: .init(files: []), folder: out,
                                                 resume: true, report: { _ in })
                resumed.trainer.showsProgress = false
                XCTAssertEqual(resumed.recipe.maxSteps, 6)
                XCTAssertEqual(resumed.trainer.state.step, 4)
                try resumed.trainer.train()
                let after = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                XCTAssertTrue(after.hasPrefix(before.split(separator: "\n").prefix(4).joined(separator: "\n")))
                XCTAssertEqual(MetricsLog.read(out.appendingPathComponent("metrics.jsonl")).compactMap { $0["split"] as? String == "train" ? $0["step"] as? Int : nil },
                               [1, 2, 3, 4, 5, 6])
                XCTAssertEqual(CheckpointStore(runFolder: out).checkpoints().first?.step, 6)
            }
        }
    }

    /// The distilbert recipe on a BERT run's exported model: the student (DistilBertForMaskedLM,
    /// every other layer) trains on the teacher's tokenizer, reports the distillation metrics and
    /// exports; the teacher's folder is left as it was.
    func testDistilbertRecipeDistillsARunsModel() throws {
        let text = try corpus()
        let bert = try Recipe.load(recipes.appendingPathComponent("bert.json").path, overrides: small)
        let teacherRun = try PretrainingRun(recipe: bert, overrides: small, corpus: .init(files: [text.path]), folder: folder(), resume: false,
                                            report: { _ in })
        teacherRun.trainer.showsProgress = false
        try teacherRun.trainer.train()
        let teacher = try XCTUnwrap(try teacherRun.export().first)
        let teacherBytes = try Data(contentsOf: teacher.appendingPathComponent("model.safetensors"))
        let overrides = small.filter { !$0.hasPrefix("model=") && !$0.hasPrefix("vocab_size=") } + ["teacher=\(teacher.path)"]
        let recipe = try Recipe.load(recipes.appendingPathComponent("distilbert.json").path, overrides: overrides)
        let out = folder()
        let run = try PretrainingRun(recipe: recipe, overrides: overrides, corpus: .init(files: [text.path]), folder: out, resume: false,
                                     report: { _ in })
        run.trainer.showsProgress = false
        try run.trainer.train()
        let exported = try run.export()
        let eval = MetricsLog.read(out.appendingPathComponent("metrics.jsonl")).filter { $0["split"] as? String == "eval" }
        for key in ["distill_ce_loss", "mlm_loss", "mlm_accuracy", "cos_loss", "teacher_agreement", "teacher_mlm_accuracy", "perplexity"] {
            XCTAssertNotNil(eval.last?[key] as? Double, key)
        }
        let student = try PretrainingModel.load(folder: exported[0])
        XCTAssertEqual(student.architecture, "DistilBertForMaskedLM")
        XCTAssertEqual(student.config.layers, 1, "tiny has 2 layers: the student keeps layer 0")
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("tokenizer.json")), try Data(contentsOf: teacher.appendingPathComponent("tokenizer.json")))
        XCTAssertEqual(try Data(contentsOf: teacher.appendingPathComponent("model.safetensors")), teacherBytes)
    }

    /// A run killed before its shards were ready and before its first checkpoint (found by
    /// scripts/kill-resume-trials.sh): `--resume` without `--corpus` prepares the shards from the
    /// run's corpus.json and starts at step 0, ending equal to the uninterrupted run.
    func testResumeBeforeShardsAndFirstCheckpointEqualsAnUninterruptedRun() throws {
        let text = try corpus()
        let recipe = try Recipe.load(recipes.appendingPathComponent("roberta.json").path, overrides: small)
        func finished(_ out: URL, resume: Bool, files: [String]) throws -> [Float] {
            let run = try PretrainingRun(recipe: recipe, overrides: resume ? [] : small, corpus: .init(files: files), folder: out,
                                         resume: resume, report: { _ in })
            run.trainer.showsProgress = false
            try run.trainer.train()
            return run.trainer.objectives.parameters.flatMap { $0.value.scalars }
        }
        let reference = try finished(folder(), resume: false, files: [text.path])
        let out = folder()
        // "Killed" after the tokenizer and recipe were written: no shards, no checkpoint.
        _ = try PretrainingRun(recipe: recipe, overrides: small, corpus: .init(files: [text.path]), folder: out, resume: false, report: { _ in })
        try FileManager.default.removeItem(at: out.appendingPathComponent("data/heldout"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("corpus.json").path))
        XCTAssertEqual(try finished(out, resume: true, files: []), reference)
    }

    func testABadSetupGivesClearErrors() throws {
        let out = folder()
        let recipe = try Recipe.load(recipes.appendingPathComponent("roberta.json").path, overrides: small)
        XCTAssertThrowsError(try PretrainingRun(recipe: recipe, overrides: [], corpus: .init(files: []), folder: out, resume: false,
                                                report: { _ in })) { XCTAssertTrue("\($0)".contains("corpus"), "\($0)") }
        XCTAssertThrowsError(try PretrainingRun(recipe: recipe, overrides: [], corpus: .init(files: ["/no/such/file.txt"]), folder: folder(),
                                                resume: false, report: { _ in })) { XCTAssertTrue("\($0)".contains("/no/such/file.txt"), "\($0)") }
        XCTAssertThrowsError(try PretrainingRun(recipe: recipe, overrides: [], corpus: .init(files: []), folder: folder(), resume: true,
                                                report: { _ in })) { XCTAssertTrue("\($0)".contains("not a run folder"), "\($0)") }
    }
}
