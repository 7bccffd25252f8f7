import XCTest
import Foundation
import Autodiff
import Models
import PretrainingData
import Tensors
@testable import Training

/// The `xlm-tlm` recipe end to end on a small parallel corpus, and cross-lingual retrieval.
final class TranslationRunTests: XCTestCase, RunFolders {
    /// Verses of two books in a made-up language pair: the second side maps every word.
    func parallelCorpus() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parallel-\(UUID().uuidString).tsv")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        let words = ["king", "shepherd", "people", "brother", "city", "bird", "river", "servant", "went", "saw", "built", "sang"]
        let translated = ["rey", "pastor", "pueblo", "hermano", "ciudad", "ave", "rio", "siervo", "fue", "vio", "edifico", "canto"]
        var rng = RandomGenerator(seed: 5)
        var verses: [(reference: VerseReference, first: String, second: String)] = []
        for (book, chapters) in [("Genesis", 6), ("Ruth", 1)] {
            for chapter in 1...chapters {
                for verse in 1...12 {
                    let picks = (0..<(4 + rng.integer(below: 4))).map { _ in rng.integer(below: words.count) }
                    verses.append((VerseReference(book: book, chapter: chapter, verse: verse),
                                   "the " + picks.map { words[$0] }.joined(separator: " ") + ".",
                                   "el " + picks.map { translated[$0] }.joined(separator: " ") + "."))
                }
            }
        }
        try ParallelVerses(pairs: verses).tabSeparated().write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    let small = ["vocab_size=200", "seq_len=40", "batch_size=4", "max_steps=6", "warmup_steps=1", "log_every=1", "eval_every=3",
                 "eval_batches=2", "checkpoint_every=3", "threads=1", "heldout_books=Ruth"]

    func train(_ out: URL, overrides: [String], resume: Bool = false, corpus: URL, format: CorpusFormat = .parallel) throws -> PretrainingRun {
        let recipe = try Recipe.load(recipes.appendingPathComponent("xlm-tlm.json").path, overrides: small + overrides)
        let run = try PretrainingRun(recipe: recipe, overrides: overrides, corpus: .init(files: resume ? [] : [corpus.path], format: format),
                                     folder: out, resume: resume, report: { _ in })
        run.trainer.showsProgress = false
        try run.trainer.train()
        return run
    }

    func testTrainsLogsRetrievalExportsLanguagesAndResumesExactly() throws {
        let corpus = try parallelCorpus()
        let whole = folder()
        let run = try train(whole, overrides: [], corpus: corpus)
        XCTAssertEqual(run.trainer.objectives.model?.config.languages, 2)
        let records = MetricsLog.read(whole.appendingPathComponent("metrics.jsonl"))
        let evals = records.filter { $0["split"] as? String == "eval" }
        XCTAssertEqual(evals.count, 2)
        for key in ["mlm_accuracy", "retrieval_top1", "retrieval_top1_reverse", "unigram_baseline_accuracy"] {
            XCTAssertNotNil(evals.last?[key] as? Double, key)
        }
        XCTAssertEqual(evals.last?["retrieval_chance"] as? Double ?? 0, 1.0 / 12, accuracy: 1e-12, "Ruth's 12 verses are held out")

        // The folder reloads with its language table; config.json says n_langs.
        let exported = try run.export()
        let loaded = try PretrainingModel.load(folder: exported[0])
        XCTAssertEqual(loaded.config.languages, 2)
        XCTAssertEqual(loaded.encoder.embeddings.languages?.weight.value.scalars,
                       run.trainer.objectives.model?.encoder.embeddings.languages?.weight.value.scalars)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: exported[0].appendingPathComponent("config.json"))) as? [String: Any]
        XCTAssertEqual(config?["n_langs"] as? Int, 2)

        // Cut back to its step-3 checkpoint (as if killed after it) and resumed: the same lines
        // as the uninterrupted run, and the same weights.
        let cut = folder()
        try FileManager.default.copyItem(at: whole, to: cut)
        try FileManager.default.removeItem(at: cut.appendingPathComponent("checkpoints/step-00000006"))
        let resumed = try train(cut, overrides: [], resume: true, corpus: corpus)
        func lines(_ f: URL) -> [String] {
            MetricsLog.read(f.appendingPathComponent("metrics.jsonl")).map { r in
                r.keys.filter { !$0.hasSuffix("_per_s") && !$0.hasSuffix("seconds") }.sorted().map { "\($0)=\(r[$0]!)" }.joined(separator: " ")
            }
        }
        XCTAssertEqual(lines(cut), lines(whole))
        XCTAssertEqual(resumed.trainer.objectives.parameters.map(\.value.scalars), run.trainer.objectives.parameters.map(\.value.scalars))
    }

    func testAFLOPsBudgetCarriesTheSchedule() throws {
        // 3 steps of ~4e8 FLOPs fit the budget; max_steps=12 only sets the schedule's scale: the
        // rate warms up and decays over the budget, not over 12 steps.
        let run = try train(folder(), overrides: ["max_steps=12", "max_train_flops=1.2e9", "warmup_steps=1"], corpus: try parallelCorpus())
        XCTAssertEqual(run.trainer.state.step, 3)
        let rates = MetricsLog.read(run.folder.appendingPathComponent("metrics.jsonl")).compactMap { $0["lr"] as? Double }
        XCTAssertEqual(rates.count, 3)
        XCTAssertEqual(rates[0], 0, "warm-up starts at 0")
        XCTAssertLessThan(rates[2], 0.5 * Double(run.recipe.lr), "two thirds of the budget spent: the rate is on its way to 0")
        XCTAssertLessThan(rates[2], rates[1])
    }

    func testRetrievalFindsEachTranslationWhenTheLanguagesLookAlike() throws {
        // Both sides the same tokens and the language table zero: each sentence's vector equals
        // its translation's, so top-1 is exact both ways; with sides shuffled it is chance.
        var config = EncoderConfiguration(hiddenSize: 32, layers: 1, heads: 2)
        config.vocabSize = 60
        config.languages = 2
        config.hiddenDropout = 0
        config.attentionDropout = 0
        let model = try PretrainingModel(config: config, heads: [.maskedLM], seed: 3)
        model.encoder.embeddings.languages?.weight.value.fill(0)
        let template = SequenceTemplate.bert(cls: 1, sep: 2, mask: 3, pad: 0, vocabularySize: 60)
        var rng = RandomGenerator(seed: 8)
        let pairs = (0..<20).map { _ -> TranslationPair in
            let tokens = (0..<(3 + rng.integer(below: 6))).map { _ in Int32(5 + rng.integer(below: 50)) }
            return TranslationPair(first: tokens, second: tokens, firstLanguage: 0, secondLanguage: 1)
        }
        let same = try CrossLingualRetrieval(pairs: pairs, template: template, length: 16, padID: 0).accuracy(encoder: model.encoder)
        XCTAssertEqual(same.firstToSecond, 1)
        XCTAssertEqual(same.secondToFirst, 1)
        // Batches of 7 pad differently from one batch of 20: padding must not change a vector.
        let batched = CrossLingualRetrieval(pairs: pairs, template: template, length: 16, padID: 0)
        let (a, b) = (try batched.embeddings(of: 0, encoder: model.encoder, batchSize: 7), try batched.embeddings(of: 0, encoder: model.encoder, batchSize: 20))
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
    }

    func testTranslationRecipesAreChecked() throws {
        let base = recipes.appendingPathComponent("xlm-tlm.json").path
        XCTAssertThrowsError(try Recipe.load(base, overrides: ["objectives=[\"mlm\",\"nsp\"]"]))
        XCTAssertThrowsError(try Recipe.load(base, overrides: ["tlm_ratio=1.5"]))
        XCTAssertThrowsError(try Recipe.load(base, overrides: ["family=gpt2", "objectives=[\"clm\"]"]))
        XCTAssertEqual(try Recipe.load(base, overrides: ["heldout_books=Ruth, I John"]).heldoutBooks, ["Ruth", "I John"])
        XCTAssertEqual(try Recipe.load(base).heldoutBooks, Recipe.defaultHeldoutBooks)
        // A held-out book the corpus does not have is named, with the books it has.
        let corpus = try parallelCorpus()
        XCTAssertThrowsError(try train(folder(), overrides: ["heldout_books=Jonah"], corpus: corpus)) { error in
            XCTAssertTrue("\(error)".contains("'Jonah' is not a book of the parallel corpus; its books are Genesis, Ruth"), "\(error)")
        }
        // The pairs are read from a parallel corpus only, not from another layout.
        XCTAssertThrowsError(try train(folder(), overrides: [], corpus: corpus, format: .jsonl)) { error in
            XCTAssertTrue("\(error)".contains("format translation reads a parallel corpus"), "\(error)")
        }
    }
}
