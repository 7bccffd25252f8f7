import FineTuning
import Foundation
import Models
@testable import PretrainKit
import Tasks
import Tensors
import Tokenizers
import Training
import XCTest

/// Every public entry point of PretrainKit (and the jobs it documents), on real or golden models
/// where there are some, else against the lower-level calls it wraps.
final class PretrainKitTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let words = ["good", "great", "fine", "bad", "awful", "poor", "the", "movie", "was", "a", "plot", "and", "very", "it"]

    func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kit-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func tokenizer() throws -> Tokenizer {
        try Tokenizer.bert(vocabTxt: (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + Self.words).joined(separator: "\n"))
    }

    /// A random tiny model of `family` with `heads`, saved with the toy tokenizer.
    func folder(family: EncoderConfiguration.Family = .bert, heads: HeadSet) throws -> URL {
        var config = EncoderConfiguration(vocabSize: 19, hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 32,
                                          hiddenDropout: 0, attentionDropout: 0, maxPositions: 32)
        config.family = family
        if family == .electra { config.pooler = false }
        let folder = temporaryFolder()
        try PretrainingModel(config: config, heads: heads, seed: 4).save(folder: folder)
        try tokenizer().save(to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    /// all-MiniLM-L6-v2 from text: sentence-transformers' embeddings (to 1e-5), through the tokenizer.
    func testEmbedGivesSentenceTransformersEmbeddings() throws {
        let folder = Self.root.appendingPathComponent("data/minilm")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) else {
            return XCTFail("data/minilm is missing: run `bash scripts/setup.sh` (make test does) to fetch all-MiniLM-L6-v2")
        }
        struct Reference: Decodable { let sentences: [String]; let embeddings: [[Double]] }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.root.appendingPathComponent("Tests/ModelsTests/Fixtures/minilm_embeddings.json")))
        let model = try TextModel(folder: folder)
        let vectors = try model.embed(reference.sentences, batchSize: 2)
        XCTAssertEqual(vectors.count, reference.sentences.count)
        for (ours, theirs) in zip(vectors, reference.embeddings) {
            XCTAssertLessThanOrEqual(zip(ours, theirs).map { abs(Double($0) - $1) }.max()!, 1e-5)
        }
        XCTAssertEqual(TextModel.cosine(vectors[0], vectors[0]), 1, accuracy: 1e-5)
        XCTAssertEqual(TextModel.cosine([1, 0], [0, 0]), 0)
    }

    /// GPT-2 (a tiny one transformers wrote, with its generation): greedy ids and text.
    func testGenerateContinuesAsTransformersDoes() throws {
        let folder = Self.root.appendingPathComponent("Tests/ModelsTests/Fixtures/gpt2")
        struct Generation: Decodable { let prompt: String; let prompt_ids: [Int]; let ids: [Int] }
        struct Reference: Decodable { let max_new_tokens: Int; let generations: [Generation] }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("generation.json")))
        let model = try TextModel(folder: folder)
        let out = try model.generate(reference.generations.map(\.prompt), options: GenerationOptions(maxNewTokens: reference.max_new_tokens), batchSize: 1)
        for (ours, theirs) in zip(out, reference.generations) {
            XCTAssertEqual(ours.promptIDs, theirs.prompt_ids)
            XCTAssertEqual(ours.ids, theirs.ids, theirs.prompt)
            XCTAssertEqual(ours.text, try model.tokenizer.decode(theirs.ids, skipSpecialTokens: true))
        }
    }

    /// fill-mask's candidates are the softmax of the MLM logits at the mask, most likely first.
    func testFillMaskRanksTheHeadsSoftmax() throws {
        let model = try TextModel(folder: try folder(heads: [.maskedLM]))
        let texts = ["the movie was [MASK]", "a [MASK] plot and a [MASK] movie", "no mask here"]
        let predictions = try model.fillMask(texts, topK: 3, batchSize: 2)
        XCTAssertEqual(predictions.map(\.count), [1, 2, 0])
        // The same from the layers below, for the first text.
        let encoding = try model.tokenizer.encode(texts[0])
        let position = try XCTUnwrap(encoding.ids.firstIndex(of: 4))
        let input = EncoderInput(ids: encoding.ids.map(Int32.init), batch: 1, length: encoding.count)
        let tape = Tape(recording: false)
        let hidden = try model.model.encoder(input, training: false, tape: tape).hidden
        let logits = try XCTUnwrap(model.model.maskedLM)(hidden, positions: [Int32(position)], tape: tape).value.scalars
        let largest = logits.max()!
        let total = logits.reduce(0.0) { $0 + exp(Double($1 - largest)) }
        let order = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(3)
        let first = predictions[0][0]
        XCTAssertEqual(first.position, position)
        XCTAssertEqual(first.candidates.map(\.id), Array(order))
        for (c, id) in zip(first.candidates, order) {
            XCTAssertEqual(c.probability, exp(Double(logits[id] - largest)) / total, accuracy: 1e-6)
            XCTAssertEqual(c.token, model.tokenizer.token(of: id))
        }
        XCTAssertThrowsError(try TextModel(folder: try folder(heads: [])).fillMask(["the [MASK]"])) { error in
            XCTAssertTrue("\(error)".contains("no masked-LM head"), "\(error)")
        }
    }

    /// detect-replaced's logits are the discriminator head's, one per token, specials included.
    func testDetectReplacedScoresEveryToken() throws {
        let model = try TextModel(folder: try folder(family: .electra, heads: [.replacedToken]))
        let scores = try model.detectReplaced(["the movie was good", "bad"])
        XCTAssertEqual(scores[0].tokens, ["[CLS]", "the", "movie", "was", "good", "[SEP]"])
        let encoding = try model.tokenizer.encode("bad")
        let tape = Tape(recording: false)
        let hidden = try model.model.encoder(EncoderInput(ids: encoding.ids.map(Int32.init), batch: 1, length: encoding.count),
                                             training: false, tape: tape).hidden
        XCTAssertEqual(scores[1].logits, try XCTUnwrap(model.model.replacedToken)(hidden, tape: tape).value.scalars)
        XCTAssertEqual(scores[1].replaced, scores[1].logits.map { $0 > 0 })
    }

    /// Fine-tuning from code, then the classifier on the folder it keeps: its dev accuracy is the
    /// one the fine-tuner reported for that epoch.
    func testFineTuneJobThenTextClassifier() throws {
        var rng = RandomGenerator(seed: 1)
        func examples(_ n: Int) -> [TextClassificationExample] {
            (0..<n).map { _ in
                let positive = rng.bernoulli(0.5)
                let cue = positive ? ["good", "great", "fine"][rng.integer(below: 3)] : ["bad", "awful", "poor"][rng.integer(below: 3)]
                var words = (0..<4).map { _ in Self.words[6 + rng.integer(below: 8)] }
                words.insert(cue, at: rng.integer(below: 5))
                return TextClassificationExample(text: words.joined(separator: " "), label: .category(positive ? "positive" : "negative"))
            }
        }
        let dev = examples(64)
        let task = TaskData(name: "toy", kind: .sequenceClassification, labels: ["negative", "positive"],
                            train: .classification(examples(256)), dev: .classification(dev), test: .classification(examples(8)))
        var settings = FineTuneSettings()
        try settings.apply(["epochs=3", "lr=2e-3", "batch_size=16"])
        let run = temporaryFolder()
        let best = try FineTuneJob(task: task, positiveLabel: "positive", model: try folder(heads: [.maskedLM]), runFolder: run, settings: settings)
            .run(report: { _ in })
        XCTAssertGreaterThan(best["accuracy"] ?? 0, 0.9, "\(best)")
        let classifier = try TextClassifier(folder: run.appendingPathComponent("model"))
        XCTAssertEqual(classifier.labels, ["negative", "positive"])
        let predictions = try classifier.classify(dev.map { ($0.text, nil) }, batchSize: 7)
        let right = zip(predictions, dev).filter { $0.label == $1.label.category }.count
        XCTAssertEqual(Double(right) / Double(dev.count), best["accuracy"]!, accuracy: 1e-9)
        // Alone (no padding) it scores as in its batch, to float rounding.
        let one = try classifier.classify(dev[0].text)
        XCTAssertEqual(one.label, predictions[0].label)
        XCTAssertEqual(one.score, predictions[0].score, accuracy: 1e-6)
        XCTAssertEqual(one.probabilities.values.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertThrowsError(try TextClassifier(folder: try folder(heads: [.maskedLM]))) { error in
            XCTAssertTrue("\(error)".contains("not a sequence classifier"), "\(error)")
        }
    }

    /// Pretraining from code: a recipe, a corpus file and a folder; the exported model loads as a TextModel.
    func testPretrainingFromCodeExportsAModelTextModelLoads() throws {
        let folder = temporaryFolder()
        var rng = RandomGenerator(seed: 2)
        let lines = (0..<400).map { i in i % 8 == 7 ? "" : (0..<8).map { _ in Self.words[rng.integer(below: Self.words.count)] }.joined(separator: " ") + "." }
        let corpus = folder.appendingPathComponent("corpus.txt")
        try lines.joined(separator: "\n").write(to: corpus, atomically: true, encoding: .utf8)
        let recipe = try Recipe.load("roberta", overrides: ["model=tiny", "max_steps=3", "batch_size=4", "seq_len=32", "vocab_size=300",
                                                            "eval_every=0", "checkpoint_every=0", "log_every=1"])
        let run = try PretrainingRun(recipe: recipe, corpus: .init(files: [corpus.path]), folder: folder.appendingPathComponent("run"))
        try run.trainer.train()
        let exported = try run.export()
        XCTAssertEqual(exported.map(\.lastPathComponent), ["model"])
        let model = try TextModel(folder: exported[0])
        XCTAssertEqual(try model.fillMask(["the movie was <mask>."], topK: 2)[0].first?.candidates.count, 2)
    }
}
