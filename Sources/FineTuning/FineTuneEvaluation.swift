import Foundation
import Models
import Tasks
import Tokenizers
import Training

/// Scoring a fine-tuned model on a split: the task kind's metrics, and the sentence-embedding head's threshold chosen on dev.
extension FineTuner {
    /// The metric that picks the best epoch.
    public static func primaryMetric(_ kind: TaskKind) -> String {
        switch kind {
        case .sequenceClassification, .multipleChoice: return "accuracy"
        case .regression: return "pearson"
        case .tokenClassification: return "token_accuracy"
        case .questionAnswering: return "f1"
        }
    }

    /// Metrics of the current model on a split.
    public func evaluate(split: TaskSplit) throws -> [String: Double] {
        try evaluate(features: try features(split), split: split)
    }

    func evaluate(features: [Feature], split: TaskSplit) throws -> [String: Double] {
        if model.head == .sentenceEmbedding { return try embeddingMetrics(cosines: try pairCosines(features), split: split) }
        var predictions: [Int] = [], values: [Double] = [], tagPredictions: [[Int]] = []
        var windowLogits: [Int: [WindowLogits]] = [:]
        let qaWindows = windows[split] ?? []
        var row = 0
        for start in stride(from: 0, to: features.count, by: 64) {
            let batch = features[start..<min(features.count, start + 64)]
            let tape = Tape(recording: false)
            let (_, logits, input) = try loss(batch, training: false, tape: tape)
            let v = logits.value, width = v.lastDimension
            switch task.kind {
            case .sequenceClassification, .multipleChoice:
                for r in 0..<v.rowCount { predictions.append(Self.argmax(v.data + r * width, width)) }
            case .regression:
                for r in 0..<v.rowCount { values.append(Double(v.data[r])) }
            case .tokenClassification:
                for (b, f) in batch.enumerated() {
                    tagPredictions.append((0..<f.ids[0].count).map { Self.argmax(v.data + (b * input.length + $0) * width, width) })
                }
            case .questionAnswering:
                for (b, f) in batch.enumerated() {
                    let n = f.ids[0].count, base = v.data + b * input.length * 2
                    let w = qaWindows[row]
                    windowLogits[f.example, default: []].append(WindowLogits(startLogits: (0..<n).map { base[2 * $0] },
                                                                             endLogits: (0..<n).map { base[2 * $0 + 1] },
                                                                             contextOffsets: w.contextOffsets, nullIndex: w.nullIndex))
                    row += 1
                }
            }
        }
        switch task.examples(split) {
        case .classification(let examples) where task.kind == .regression:
            let gold = examples.map { $0.label.value ?? 0 }
            return ["pearson": Metrics.pearson(values, gold), "spearman": Metrics.spearman(values, gold)]
        case .classification(let examples):
            let predicted = predictions.map { task.labels[$0] }, gold = examples.map { $0.label.category ?? "" }
            var m = ["accuracy": Metrics.accuracy(predictions: predicted, references: gold),
                     "macro_f1": Metrics.macroF1(predictions: predicted, references: gold),
                     "mcc": Metrics.matthewsCorrelation(predictions: predicted, references: gold)]
            if let positiveLabel { m["f1"] = Metrics.binaryF1(predictions: predicted, references: gold, positive: positiveLabel) }
            return m
        case .multipleChoice(let examples):
            return ["accuracy": Metrics.accuracy(predictions: predictions, references: examples.map(\.label))]
        case .tagging(let examples):
            var predicted: [[String]] = []
            for (i, e) in examples.enumerated() {
                let (_, words) = try TokenClassification.encode(words: e.words, tokenizer: tokenizer, maxLength: settings.maxLength)
                let tags = TokenClassification.wordPredictions(wordIndices: words, tokenPredictions: tagPredictions[i], wordCount: e.words.count, fallback: 0)
                predicted.append(tags.map { task.labels[$0] })
            }
            let gold = examples.map(\.tags)
            var m = ["token_accuracy": Metrics.tokenAccuracy(predictions: predicted, references: gold)]
            if task.labels.contains(where: { $0.hasPrefix("B-") }) {
                m["entity_f1"] = Metrics.entityScores(predictions: predicted.map(TokenClassification.repairBIO), references: gold).f1
            }
            return m
        case .questionAnswering(let examples):
            var answers: [String: String] = [:]
            for (i, e) in examples.enumerated() {
                answers[e.id] = QuestionAnswering.bestAnswer(context: e.context, windows: windowLogits[i] ?? [],
                                                             options: AnswerSearchOptions(maxAnswerLength: 30))
            }
            let (em, f1) = Metrics.squad(predictions: answers, examples: examples)
            return ["exact_match": em, "f1": f1]
        }
    }

    /// The cosine of every pair of sentence-embedding features, in order.
    func pairCosines(_ features: [Feature]) throws -> [Double] {
        var out: [Double] = []
        for start in stride(from: 0, to: features.count, by: 64) {
            let (_, cosines, _) = try loss(features[start..<min(features.count, start + 64)], training: false, tape: Tape(recording: false))
            out += cosines.value.scalars.map(Double.init)
        }
        return out
    }

    /// Sentence-embedding metrics: regression → pearson and spearman of cosine vs value; binary
    /// labels → accuracy and F1 at the threshold chosen on dev (``similarityThreshold``), and
    /// spearman of cosine vs the 0/1 label (threshold-free).
    func embeddingMetrics(cosines: [Double], split: TaskSplit) throws -> [String: Double] {
        let examples = task.examples(split).classification ?? []
        if task.kind == .regression {
            let gold = examples.map { $0.label.value ?? 0 }
            return ["pearson": Metrics.pearson(cosines, gold), "spearman": Metrics.spearman(cosines, gold)]
        }
        let positives = examples.map { $0.label.category == positiveLabel }
        let threshold: Double
        if let chosen = similarityThreshold {
            threshold = chosen
        } else if split == .dev {
            threshold = Metrics.bestThreshold(scores: cosines, positives: positives).threshold
        } else {
            let devPositives = (task.dev.classification ?? []).map { $0.label.category == positiveLabel }
            threshold = Metrics.bestThreshold(scores: try pairCosines(try features(.dev)), positives: devPositives).threshold
        }
        similarityThreshold = threshold
        let predicted = cosines.map { $0 > threshold }
        return ["accuracy": Metrics.accuracy(predictions: predicted, references: positives),
                "f1": Metrics.binaryF1(predictions: predicted, references: positives, positive: true),
                "spearman": Metrics.spearman(cosines, positives.map { $0 ? 1 : 0 }),
                "threshold": threshold]
    }

    static func argmax(_ row: UnsafeMutablePointer<Float>, _ n: Int) -> Int {
        var best = 0
        for j in 1..<max(1, n) where row[j] > row[best] { best = j }
        return best
    }
}
