import XCTest
import Foundation
import Models
import SafeTensors
import Tasks
import Tokenizers
import Training
@testable import FineTuning

/// The sentence-embedding head: its two losses against Float64 references and finite
/// differences, the dev threshold search by hand, learning a synthetic pair task, and the saved
/// sentence-transformers folder loading back with the same embeddings.
final class SentenceEmbeddingTests: XCTestCase {
    static let positive = ["good", "great", "fine"], negative = ["bad", "awful", "poor"]
    static let filler = ["the", "movie", "was", "a", "plot", "and", "very", "it"]

    func tokenizer() throws -> Tokenizer {
        try Tokenizer.bert(vocabTxt: (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + Self.positive + Self.negative + Self.filler).joined(separator: "\n"))
    }

    func model(hidden: Int = 32, seed: UInt64 = 3) throws -> TaskModel {
        let config = EncoderConfiguration(vocabSize: 19, hiddenSize: hidden, layers: 2, heads: 2, intermediateSize: 2 * hidden,
                                          hiddenDropout: 0, attentionDropout: 0, maxPositions: 64)
        return try TaskModel(config: config, head: .sentenceEmbedding, seed: seed)
    }

    func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("emb-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Two sentences of filler words, each with one sentiment word; "1" when both words have the
    /// same polarity. Different words of one polarity share no token, so only a trained encoder
    /// can tell: a random one scores pairs by the filler they happen to share.
    func pairs(_ n: Int, seed: UInt64) -> [TextClassificationExample] {
        var rng = RandomGenerator(seed: seed)
        func sentence(_ cue: String) -> String {
            var words = (0..<3).map { _ in Self.filler[rng.integer(below: Self.filler.count)] }
            words.insert(cue, at: rng.integer(below: 4))
            return words.joined(separator: " ")
        }
        return (0..<n).map { _ in
            let same = rng.bernoulli(0.5), first = rng.bernoulli(0.5)
            let a = (first ? Self.positive : Self.negative)[rng.integer(below: 3)]
            let b = (first == same ? Self.positive : Self.negative)[rng.integer(below: 3)]
            return TextClassificationExample(text: sentence(a), pair: sentence(b), label: .category(same ? "1" : "0"))
        }
    }

    func task(train: Int = 256) -> TaskData {
        TaskData(name: "toy-pairs", kind: .sequenceClassification, labels: ["0", "1"], train: .classification(pairs(train, seed: 1)),
                 dev: .classification(pairs(96, seed: 2)), test: .classification(pairs(96, seed: 3)))
    }

    // MARK: Float64 references

    /// Rows of a flat (2P,H) array, pairs interleaved, as in a batch of the embedding head.
    static func rows(_ x: [Double], _ h: Int) -> [[Double]] { stride(from: 0, to: x.count, by: h).map { Array(x[$0..<$0 + h]) } }

    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        return dot / (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
    }

    /// sentence-transformers' CosineSimilarityLoss: MSE(cos(u_i, v_i), target_i).
    static func cosineLoss(_ embeddings: [Double], h: Int, targets: [Double]) -> Double {
        let r = rows(embeddings, h)
        return targets.indices.reduce(0.0) { sum, i in
            let d = cosine(r[2 * i], r[2 * i + 1]) - targets[i]
            return sum + d * d
        } / Double(targets.count)
    }

    /// sentence-transformers' MultipleNegativesRankingLoss: CE(scale·cos(u_i, v_j) over j, i), mean over i.
    static func rankingLoss(_ embeddings: [Double], h: Int, scale: Double) -> Double {
        let r = rows(embeddings, h), p = r.count / 2
        return (0..<p).reduce(0.0) { sum, i in
            let scores = (0..<p).map { scale * cosine(r[2 * i], r[2 * $0 + 1]) }
            let m = scores.max()!
            let logSumExp = m + log(scores.reduce(0) { $0 + exp($1 - m) })
            return sum + logSumExp - scores[i]
        } / Double(p)
    }

    /// Masked mean pooling of hidden (B,T,H) in Float64.
    static func meanPool(_ hidden: Tensor, mask: [Float]) -> [Double] {
        let (b, t, h) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
        return (0..<b).flatMap { i -> [Double] in
            let count = (0..<t).reduce(0.0) { $0 + Double(mask[i * t + $1]) }
            return (0..<h).map { j in (0..<t).reduce(0.0) { $0 + Double(mask[i * t + $1]) * Double(hidden[i, $1, j]) } / count }
        }
    }

    /// Central differences of a Float64 function of a flat array.
    static func numericGradient(_ x: [Double], step: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
        var x = x
        return x.indices.map { j in
            let saved = x[j]
            x[j] = saved + step
            let plus = f(x)
            x[j] = saved - step
            let minus = f(x)
            x[j] = saved
            return (plus - minus) / (2 * step)
        }
    }

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.max()! / max(1e-3, b.map(abs).max()!)
    }

    // MARK: losses

    func testBothLossesOnATinyModelMatchTheFloat64Reference() throws {
        for loss in EmbeddingLoss.allCases {
            var settings = FineTuneSettings()
            settings.embeddingLoss = loss
            let model = try model(hidden: 16)
            let tuner = FineTuner(task: task(train: 64), model: model, tokenizer: try tokenizer(), settings: settings,
                                  runFolder: temporaryFolder(), positiveLabel: "1")
            let batch = ArraySlice(try tuner.features(.train).prefix(6))
            XCTAssertEqual(batch.count, 6)
            if loss == .ranking { XCTAssertTrue(batch.allSatisfy { $0.value == 1 }, "ranking trains on positive pairs only") }
            let (ours, cosines, input) = try tuner.loss(batch, training: true, tape: Tape(seed: 1))

            // Reference: the encoder's hidden states, then pooling, cosines and the loss in Float64.
            let hidden = try model.encoder(input, training: false, tape: Tape(recording: false)).hidden.value
            let pooled = Self.meanPool(hidden, mask: input.attentionMask!)
            let h = model.config.hiddenSize
            let reference = loss == .cosine ? Self.cosineLoss(pooled, h: h, targets: batch.map { Double($0.value) })
                                            : Self.rankingLoss(pooled, h: h, scale: 20)
            XCTAssertEqual(Double(ours.value.scalar), reference, accuracy: 1e-5 * max(1, abs(reference)), "\(loss)")
            let r = Self.rows(pooled, h)
            for (i, c) in cosines.value.scalars.enumerated() { XCTAssertEqual(Double(c), Self.cosine(r[2 * i], r[2 * i + 1]), accuracy: 1e-5) }
        }
    }

    func testLossGradientsWithRespectToTheEmbeddingsMatchFiniteDifferences() throws {
        let (pairs, h) = (5, 7)
        var rng = RandomGenerator(seed: 11)
        let values = Tensor(uninitialized: [2 * pairs, h])
        rng.fillNormal(values)
        let targets: [Float] = [1, 0, 1, 0.25, 0]
        let x = values.scalars.map(Double.init)
        for loss in EmbeddingLoss.allCases {
            let p = Parameter(name: "embeddings", value: values.copy())
            let tape = Tape()
            let e = tape.parameter(p)
            let out = loss == .cosine
                ? EmbeddingLoss.cosineLoss(cosines: try EmbeddingLoss.pairCosines(e, tape: tape), targets: targets, tape: tape)
                : try EmbeddingLoss.rankingLoss(embeddings: e, scale: 20, tape: tape)
            let f: ([Double]) -> Double = loss == .cosine ? { Self.cosineLoss($0, h: h, targets: targets.map(Double.init)) }
                                                          : { Self.rankingLoss($0, h: h, scale: 20) }
            XCTAssertEqual(Double(out.value.scalar), f(x), accuracy: 1e-5 * max(1, abs(f(x))), "\(loss) value")
            try tape.backward(out)
            let err = Self.relativeError(p.gradient.scalars.map(Double.init), Self.numericGradient(x, f))
            XCTAssertLessThan(err, 1e-4, "\(loss) gradient")
        }
    }

    func testRankingLossByHand() throws {
        // u0 = v0 = (1,0), u1 = (0,1), v1 = (1,1): cosines [[1, 1/√2], [0, 1/√2]] · 20.
        let e = Tensor([1, 0, 1, 0, 0, 1, 1, 1], shape: [4, 2])
        let loss = try EmbeddingLoss.rankingLoss(embeddings: Variable(constant: e), scale: 20, tape: Tape(recording: false))
        let s = 20 / 2.0.squareRoot()
        let expected = (log(1 + exp(s - 20)) + log(1 + exp(-s))) / 2  // row 0 picks 20 over s; row 1 picks s over 0
        XCTAssertEqual(Double(loss.value.scalar), expected, accuracy: 1e-6)
    }

    func testTheWholeModelGradientMatchesADirectionalDifference() throws {
        // Through encoder, pooling, interleaved rows and loss: moving the trainable parameters by ±ε
        // along the gradient changes the loss by ±ε·|g| (Float32, so ε is large and the bound loose).
        for loss in EmbeddingLoss.allCases {
            var settings = FineTuneSettings()
            settings.embeddingLoss = loss
            let model = try model(hidden: 16, seed: 5)
            let tuner = FineTuner(task: task(train: 64), model: model, tokenizer: try tokenizer(), settings: settings,
                                  runFolder: temporaryFolder(), positiveLabel: "1")
            let batch = ArraySlice(try tuner.features(.train).prefix(8))
            let tape = Tape(seed: 1)
            try tape.backward(try tuner.loss(batch, training: true, tape: tape).0)
            let params = model.trainableParameters
            XCTAssertFalse(params.contains { $0.name.contains("pooler") }, "no loss reaches the pooler")
            let gradient = params.map { $0.gradient.copy() }
            let norm = gradient.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } }.squareRoot()
            XCTAssertGreaterThan(norm, 1e-4)
            // The loss with every trainable parameter moved by ε along the unit gradient, unrecorded
            // (scored as in training: evaluation mode returns no ranking loss).
            func lossAt(_ epsilon: Float) throws -> Double {
                let saved = params.map { $0.value.copy() }
                defer { for (p, v) in zip(params, saved) { p.value = v } }
                for (p, g) in zip(params, gradient) {
                    let moved = p.value.copy()
                    for i in 0..<moved.count { moved.data[i] += epsilon * g.data[i] / Float(norm) }
                    p.value = moved
                }
                let tape = Tape(recording: false)
                let embeddings = try model(tuner.input(batch).0, choices: 2, training: false, tape: tape)
                let value = loss == .cosine
                    ? EmbeddingLoss.cosineLoss(cosines: try EmbeddingLoss.pairCosines(embeddings, tape: tape), targets: batch.map(\.value), tape: tape)
                    : try EmbeddingLoss.rankingLoss(embeddings: embeddings, scale: 20, tape: tape)
                return Double(value.value.scalar)
            }
            let epsilon: Float = 1e-2
            let directional = (try lossAt(epsilon) - lossAt(-epsilon)) / Double(2 * epsilon)
            XCTAssertEqual(directional, norm, accuracy: 2e-2 * norm, "\(loss)")
        }
    }

    // MARK: threshold

    func testThresholdSearchByHand() {
        // Sorted: 0.2 F, 0.4 F, 0.5 T, 0.7 {F, T}, 0.9 T. Moving the threshold up past each group:
        // all positive 3/6, past 0.2 → 4/6, past 0.4 → 5/6 (t = 0.45), past 0.5 → 4/6, past the
        // tied 0.7s → 4/6, past 0.9 → 3/6.
        let scores = [0.9, 0.7, 0.7, 0.5, 0.4, 0.2], positives = [true, false, true, true, false, false]
        let best = Metrics.bestThreshold(scores: scores, positives: positives)
        XCTAssertEqual(best.threshold, 0.45, accuracy: 1e-12)
        XCTAssertEqual(best.accuracy, 5.0 / 6, accuracy: 1e-12)
        // The order of the input does not matter, and among equally good thresholds the lowest wins:
        // sorted 0.2 F, 0.4 T, 0.6 F, 0.9 T — t = 0.3 and t = 0.75 both get 3/4.
        let tied = Metrics.bestThreshold(scores: [0.6, 0.2, 0.9, 0.4], positives: [false, false, true, true])
        XCTAssertEqual(tied.accuracy, 0.75, accuracy: 1e-12)
        XCTAssertEqual(tied.threshold, 0.3, accuracy: 1e-12)
        XCTAssertEqual(Metrics.bestThreshold(scores: [0.1, 0.8], positives: [true, true]).threshold, 0.1 - 1, accuracy: 1e-12)
        XCTAssertEqual(Metrics.bestThreshold(scores: [0.1, 0.8], positives: [false, false]).threshold, 0.8 + 1, accuracy: 1e-12)
        XCTAssertEqual(Metrics.bestThreshold(scores: [], positives: []).accuracy, 0)
    }

    // MARK: fine-tuning, saving, reloading

    func testBothLossesLearnASyntheticPairTaskAndTheSavedFolderLoadsBack() throws {
        let task = task(train: 192)
        // Chance is 0.5; the random encoder scores ~0.6 (pairs that share a word). The ranking loss
        // sees only the positive pairs (half of its in-batch "negatives" share the polarity) and
        // still learns the polarity.
        for (loss, epochs, minimum) in [(EmbeddingLoss.cosine, 3, 0.9), (.ranking, 3, 0.9)] {
            var settings = FineTuneSettings()
            settings.epochs = epochs
            settings.lr = 3e-3
            settings.batchSize = 16
            settings.head = .embedding
            settings.embeddingLoss = loss
            XCTAssertEqual(try FineTuner.head(for: task, settings: settings, positiveLabel: "1"), .sentenceEmbedding)
            let run = temporaryFolder()
            let model = try model()
            let tuner = FineTuner(task: task, model: model, tokenizer: try tokenizer(), settings: settings, runFolder: run, positiveLabel: "1")
            tuner.report = { _ in }
            let before = try tuner.evaluate(split: .test)
            tuner.similarityThreshold = nil
            let best = try tuner.train()
            XCTAssertGreaterThan(best["accuracy"]!, minimum, "\(loss) dev: \(best)")
            XCTAssertGreaterThan(best["spearman"]!, before["spearman"]! + 0.3, "\(loss): learned beyond the random encoder's \(before)")

            // The folder: a BertModel with unprefixed names and sentence-transformers' files.
            let folder = run.appendingPathComponent("model")
            let config = try ConfigFile.load(from: folder.appendingPathComponent("config.json"))
            XCTAssertEqual(config.architectures, ["BertModel"])
            let names = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")).names
            XCTAssertTrue(names.contains("embeddings.word_embeddings.weight") && names.contains("pooler.dense.weight"), "\(names)")
            XCTAssertFalse(names.contains { $0.hasPrefix("bert.") })
            // The length the model can take (its 64 positions, below the requested max_length).
            XCTAssertEqual(try SentencePooling.load(folder: folder), SentencePooling(mode: .mean, normalize: true, maxSequenceLength: tuner.settings.maxLength))
            XCTAssertEqual(tuner.settings.maxLength, min(settings.maxLength, 64))
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("2_Normalize").path))
            XCTAssertTrue(TaskModel.isSentenceEmbeddingFolder(folder))
            let record = try XCTUnwrap(EmbeddingHeadRecord.load(folder: folder))
            XCTAssertEqual(record.threshold!, best["threshold"]!, accuracy: 1e-12)
            XCTAssertEqual(record.loss, loss)

            // Reloaded as a task model with the saved threshold: the same dev metrics.
            let reloaded = try TaskModel.load(folder: folder, head: .sentenceEmbedding, seed: 0)
            let again = FineTuner(task: task, model: reloaded, tokenizer: try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json")),
                                  settings: settings, runFolder: run, positiveLabel: "1")
            again.similarityThreshold = record.threshold
            let dev = try again.evaluate(split: .dev)
            for key in ["accuracy", "f1", "spearman"] { XCTAssertEqual(dev[key]!, best[key]!, accuracy: 1e-9, key) }

            // As `pretrain embed` loads it: the base model strictly, pooled and normalised as the
            // folder says — the task model's embeddings, normalised.
            let base = try PretrainingModel.load(folder: folder)
            let features = try again.features(.test).prefix(4)
            let (input, _) = again.input(features)
            let hidden = try base.encoder(input, training: false, tape: Tape(recording: false)).hidden.value
            let embedded = try SentencePooling.load(folder: folder).pool(hidden: hidden, mask: Tensor(input.attentionMask!, shape: [input.batch, input.length]))
            let direct = try reloaded(input, choices: 2, training: false, tape: Tape(recording: false)).value
            let h = reloaded.config.hiddenSize
            for row in 0..<input.batch {
                let v = (0..<h).map { direct[row, $0] }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for j in 0..<h { XCTAssertEqual(embedded[row * h + j], v[j] / norm, accuracy: 1e-5) }
            }
        }
    }

    func testTasksWithoutSentencePairsAreANamedError() throws {
        var settings = FineTuneSettings()
        try settings.apply(["head=embedding", "embedding_loss=ranking"])
        XCTAssertEqual(settings.head, .embedding)
        XCTAssertEqual(settings.embeddingLoss, .ranking)
        XCTAssertThrowsError(try settings.apply(["embedding_loss=triplet"]))
        let single = TaskData(name: "single", kind: .sequenceClassification, labels: ["0", "1"],
                              train: .classification([TextClassificationExample(text: "good", label: .category("1"))]),
                              dev: .classification([]), test: .classification([]))
        XCTAssertThrowsError(try FineTuner.head(for: single, settings: settings, positiveLabel: "1")) { error in
            guard case FineTuningError.noSentencePairs = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("no second text"), "\(error)")
        }
        let tags = TaskData(name: "tags", kind: .tokenClassification, labels: ["X"], train: .tagging([]), dev: .tagging([]), test: .tagging([]))
        XCTAssertThrowsError(try FineTuner.head(for: tags, settings: settings, positiveLabel: nil)) { error in
            guard case FineTuningError.noSentencePairs = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try FineTuner.head(for: task(train: 8), settings: settings, positiveLabel: nil)) { error in
            XCTAssertEqual(error as? FineTuningError, .noPositiveLabel(task: "toy-pairs", labels: ["0", "1"]))
        }
        let regression = TaskData(name: "sts", kind: .regression, labels: [],
                                  train: .classification([TextClassificationExample(text: "a", pair: "b", label: .value(3))]),
                                  dev: .classification([]), test: .classification([]))
        XCTAssertThrowsError(try FineTuner.head(for: regression, settings: settings, positiveLabel: nil)) { error in
            guard case FineTuningError.noPositivePairs = error else { return XCTFail("\(error)") }
        }
        settings.embeddingLoss = .cosine
        XCTAssertEqual(try FineTuner.head(for: regression, settings: settings, positiveLabel: nil), .sentenceEmbedding)
    }

    func testRegressionTargetsAreScaledToTheUnitInterval() throws {
        let examples = [(0.0, "a"), (5.0, "b"), (2.0, "c")].map { TextClassificationExample(text: $0.1, pair: "good", label: .value($0.0)) }
        let task = TaskData(name: "sts", kind: .regression, labels: [], train: .classification(examples), dev: .classification(examples),
                            test: .classification(examples))
        let tuner = FineTuner(task: task, model: try model(hidden: 16), tokenizer: try tokenizer(), settings: FineTuneSettings(),
                              runFolder: temporaryFolder(), positiveLabel: nil)
        XCTAssertEqual(try tuner.features(.train).map(\.value), [0, 1, 0.4])
        let metrics = try tuner.evaluate(split: .dev)
        XCTAssertEqual(Set(metrics.keys), ["pearson", "spearman"])
    }
}
