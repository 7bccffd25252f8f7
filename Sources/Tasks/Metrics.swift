import Foundation

/// Evaluation metrics for the task shapes (GLUE, SQuAD, seqeval conventions). Degenerate inputs
/// (empty, constant) give 0 rather than NaN, as scikit-learn does with `zero_division=0`.
public enum Metrics {
    /// Fraction of positions where prediction equals gold (0 for empty input).
    public static func accuracy<T: Equatable>(predictions: [T], references: [T]) -> Double {
        let n = min(predictions.count, references.count)
        guard n > 0 else { return 0 }
        return Double((0..<n).filter { predictions[$0] == references[$0] }.count) / Double(n)
    }

    /// F1 of one class treated as positive (scikit-learn `f1_score(average="binary", pos_label:)`).
    public static func binaryF1<T: Equatable>(predictions: [T], references: [T], positive: T) -> Double {
        var tp = 0, fp = 0, fn = 0
        for (p, g) in zip(predictions, references) {
            if p == positive && g == positive { tp += 1 } else if p == positive { fp += 1 } else if g == positive { fn += 1 }
        }
        return tp == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn)
    }

    /// Unweighted mean of per-class F1 over the classes seen in gold or predictions
    /// (scikit-learn `f1_score(average="macro")`).
    public static func macroF1<T: Hashable>(predictions: [T], references: [T]) -> Double {
        var classes = Set(references)
        classes.formUnion(predictions)
        guard !classes.isEmpty else { return 0 }
        return classes.map { binaryF1(predictions: predictions, references: references, positive: $0) }.reduce(0, +) / Double(classes.count)
    }

    /// Matthews correlation coefficient, multiclass form (scikit-learn `matthews_corrcoef`; CoLA's metric).
    public static func matthewsCorrelation<T: Hashable>(predictions: [T], references: [T]) -> Double {
        let n = min(predictions.count, references.count)
        guard n > 0 else { return 0 }
        var predicted: [T: Double] = [:], actual: [T: Double] = [:]
        var correct = 0.0
        for i in 0..<n {
            predicted[predictions[i], default: 0] += 1
            actual[references[i], default: 0] += 1
            if predictions[i] == references[i] { correct += 1 }
        }
        let s = Double(n)
        let pk = predicted.values.reduce(0) { $0 + $1 * $1 }, tk = actual.values.reduce(0) { $0 + $1 * $1 }
        let pt = actual.reduce(0.0) { $0 + $1.value * (predicted[$1.key] ?? 0) }
        let denominator = ((s * s - pk) * (s * s - tk)).squareRoot()
        return denominator == 0 ? 0 : (correct * s - pt) / denominator
    }

    /// Pearson correlation (0 when either side is constant).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = min(x.count, y.count)
        guard n > 1 else { return 0 }
        let mx = x.prefix(n).reduce(0, +) / Double(n), my = y.prefix(n).reduce(0, +) / Double(n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in 0..<n {
            let dx = x[i] - mx, dy = y[i] - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / (sxx * syy).squareRoot()
    }

    /// Spearman rank correlation: Pearson of the ranks, ties getting their average rank (scipy).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        let n = min(x.count, y.count)
        return pearson(averageRanks(Array(x.prefix(n))), averageRanks(Array(y.prefix(n))))
    }

    /// 1-based ranks, tied values sharing the mean of their positions.
    public static func averageRanks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var ranks = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let r = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = r }
            i = j + 1
        }
        return ranks
    }

    /// The threshold t that maximises the accuracy of "positive ⇔ score > t" on scored pairs
    /// (sentence-transformers' `BinaryClassificationEvaluator`): a midpoint between two
    /// consecutive distinct scores, or 1 below the lowest (all positive) / 1 above the highest
    /// (all negative). Among equally accurate thresholds the lowest wins, so the choice does not
    /// depend on the order of the input. Empty input gives (0, 0).
    public static func bestThreshold(scores: [Double], positives: [Bool]) -> (threshold: Double, accuracy: Double) {
        let n = min(scores.count, positives.count)
        guard n > 0 else { return (0, 0) }
        let order = (0..<n).sorted { scores[$0] < scores[$1] }
        // Start with everything above the threshold (all predicted positive), then move the
        // threshold past one group of equal scores at a time, counting the correct predictions.
        var correct = positives.prefix(n).filter { $0 }.count
        var best = (threshold: scores[order[0]] - 1, correct: correct)
        var i = 0
        while i < n {
            let value = scores[order[i]]
            while i < n && scores[order[i]] == value {
                correct += positives[order[i]] ? -1 : 1
                i += 1
            }
            let threshold = i < n ? (value + scores[order[i]]) / 2 : value + 1
            if correct > best.correct { best = (threshold, correct) }
        }
        return (best.threshold, Double(best.correct) / Double(n))
    }

    // MARK: SQuAD

    /// SQuAD answer normalisation: lowercase, drop ASCII punctuation, drop the articles a/an/the,
    /// collapse whitespace (the official evaluate-v2.0.py `normalize_answer`).
    public static func normalizeAnswer(_ s: String) -> String {
        let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)
        var t = String.UnicodeScalarView()
        for c in s.lowercased().unicodeScalars where !punctuation.contains(c) { t.append(c) }
        // Whitespace-split on Python's `str.split()` set is close enough to Unicode whitespace.
        let words = String(t).split(whereSeparator: { $0.isWhitespace }).filter { $0 != "a" && $0 != "an" && $0 != "the" }
        return words.joined(separator: " ")
    }

    /// 1 when the normalised prediction equals a normalised gold answer. Empty `gold` (an
    /// unanswerable v2 question) counts only an empty prediction as right.
    public static func exactMatch(prediction: String, gold: [String]) -> Double {
        let golds = gold.isEmpty ? [""] : gold
        return golds.contains { normalizeAnswer($0) == normalizeAnswer(prediction) } ? 1 : 0
    }

    /// Token-bag F1 of the normalised prediction, best over the gold answers (empty `gold`: 1
    /// for an empty prediction, else 0).
    public static func tokenF1(prediction: String, gold: [String]) -> Double {
        let golds = gold.isEmpty ? [""] : gold
        return golds.map { f1(prediction, $0) }.max() ?? 0
    }

    static func f1(_ prediction: String, _ gold: String) -> Double {
        let p = normalizeAnswer(prediction).split(separator: " "), g = normalizeAnswer(gold).split(separator: " ")
        if p.isEmpty || g.isEmpty { return p.isEmpty && g.isEmpty ? 1 : 0 }
        var bag: [Substring: Int] = [:]
        for t in g { bag[t, default: 0] += 1 }
        var common = 0
        for t in p where (bag[t] ?? 0) > 0 { bag[t, default: 0] -= 1; common += 1 }
        if common == 0 { return 0 }
        let precision = Double(common) / Double(p.count), recall = Double(common) / Double(g.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// Mean exact match and F1 in percent over examples, as the SQuAD script reports them.
    /// `predictions` maps an example id to its answer text ("" for no answer); a missing id scores 0.
    public static func squad(predictions: [String: String], examples: [QuestionAnsweringExample]) -> (exactMatch: Double, f1: Double) {
        guard !examples.isEmpty else { return (0, 0) }
        var em = 0.0, f = 0.0
        for e in examples {
            guard let p = predictions[e.id] else { continue }
            let gold = e.isImpossible ? [] : e.answers.map(\.text)
            em += exactMatch(prediction: p, gold: gold)
            f += tokenF1(prediction: p, gold: gold)
        }
        return (100 * em / Double(examples.count), 100 * f / Double(examples.count))
    }

    // MARK: Tagging

    /// A labelled span of tokens: `type` over `start ..< end` (token indices of one flat sequence).
    public struct Entity: Sendable, Hashable {
        /// Entity/chunk type ("PER", "NP").
        public var type: String
        /// First token.
        public var start: Int
        /// One past the last token.
        public var end: Int
        /// Creates a span.
        public init(type: String, start: Int, end: Int) { self.type = type; self.start = start; self.end = end }
    }

    /// The chunks of a BIO/IOB tag sequence, seqeval's default (lenient) rules: a chunk starts at
    /// B-X, at I-X after O or after a tag of another type (an I- without its B- still starts one),
    /// and ends before O, B-, or a change of type. Tags without a prefix count as their own type
    /// with I-; "O" and "" are outside. E- and S- (IOBES) are honoured too.
    public static func entities(_ tags: [String]) -> [Entity] {
        var out: [Entity] = []
        var current: (type: String, start: Int)?
        func split(_ t: String) -> (prefix: Character, type: String) {
            if t == "O" || t.isEmpty { return ("O", "") }
            let parts = t.split(separator: "-", maxSplits: 1)
            if parts.count == 2, let p = parts[0].first, parts[0].count == 1, "BIES".contains(p) { return (p, String(parts[1])) }
            return ("I", t)
        }
        for (i, tag) in tags.enumerated() {
            let (p, type) = split(tag)
            // End the running chunk?
            if let c = current {
                let ends = p == "O" || p == "B" || p == "S" || type != c.type
                if ends { out.append(Entity(type: c.type, start: c.start, end: i)); current = nil }
            }
            if p == "O" { continue }
            if current == nil { current = (type, i) }
            if p == "E" || p == "S", let c = current { out.append(Entity(type: c.type, start: c.start, end: i + 1)); current = nil }
        }
        if let c = current { out.append(Entity(type: c.type, start: c.start, end: tags.count)) }
        return out
    }

    /// Entity-level precision, recall and micro F1 over sentences (seqeval `classification_report`
    /// micro average): an entity counts only if type and both ends match.
    public static func entityScores(predictions: [[String]], references: [[String]]) -> (precision: Double, recall: Double, f1: Double) {
        var predicted = Set<Entity>(), gold = Set<Entity>()
        var offset = 0
        for (p, g) in zip(predictions, references) {
            // Shift each sentence so spans of different sentences never coincide.
            for e in entities(p) { predicted.insert(Entity(type: e.type, start: e.start + offset, end: e.end + offset)) }
            for e in entities(g) { gold.insert(Entity(type: e.type, start: e.start + offset, end: e.end + offset)) }
            offset += max(p.count, g.count) + 1
        }
        let tp = Double(predicted.intersection(gold).count)
        let precision = predicted.isEmpty ? 0 : tp / Double(predicted.count)
        let recall = gold.isEmpty ? 0 : tp / Double(gold.count)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return (precision, recall, f1)
    }

    /// Per-token accuracy over sentences (for plain tags such as POS).
    public static func tokenAccuracy(predictions: [[String]], references: [[String]]) -> Double {
        accuracy(predictions: Array(predictions.joined()), references: Array(references.joined()))
    }
}
