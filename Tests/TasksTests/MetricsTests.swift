import XCTest
@testable import Tasks

/// Metrics against hand-worked values and values from scikit-learn 1.x / scipy (noted per test).
final class MetricsTests: XCTestCase {
    func testAccuracyAndBinaryF1() {
        // TP 3, FN 1, FP 2, TN 2 (sklearn: f1 0.6667, f1 pos_label=0 0.5714, mcc 0.2582).
        let gold = [1, 1, 1, 0, 0, 0, 1, 0], pred = [1, 0, 1, 0, 1, 0, 1, 1]
        XCTAssertEqual(Metrics.accuracy(predictions: pred, references: gold), 5.0 / 8)
        XCTAssertEqual(Metrics.binaryF1(predictions: pred, references: gold, positive: 1), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(Metrics.binaryF1(predictions: pred, references: gold, positive: 0), 0.5714285714285714, accuracy: 1e-12)
        // (3·2 − 2·1) / √(5·4·4·3)
        XCTAssertEqual(Metrics.matthewsCorrelation(predictions: pred, references: gold), 0.2581988897471611, accuracy: 1e-12)
        XCTAssertEqual(Metrics.accuracy(predictions: [Int](), references: []), 0)
    }

    func testMulticlassMCCAndMacroF1() {
        // sklearn matthews_corrcoef 0.375, f1_score(average="macro") 0.58333.
        let gold = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2], pred = [0, 0, 1, 2, 1, 1, 1, 0, 2, 0]
        XCTAssertEqual(Metrics.matthewsCorrelation(predictions: pred, references: gold), 0.375, accuracy: 1e-12)
        XCTAssertEqual(Metrics.macroF1(predictions: pred, references: gold), 0.5833333333333334, accuracy: 1e-12)
        // A constant prediction has no correlation (sklearn returns 0, not NaN).
        XCTAssertEqual(Metrics.matthewsCorrelation(predictions: [1, 1, 1], references: [0, 1, 0]), 0)
    }

    func testPearsonAndSpearmanWithTies() {
        // scipy: spearmanr 0.9007775105401477, pearsonr 0.8767227853705734.
        let x: [Double] = [1, 2, 2, 3, 4, 4, 4, 5], y: [Double] = [2, 1, 3, 3, 5, 4, 6, 6]
        XCTAssertEqual(Metrics.averageRanks(x), [1, 2.5, 2.5, 4, 6, 6, 6, 8])
        XCTAssertEqual(Metrics.spearman(x, y), 0.9007775105401477, accuracy: 1e-12)
        XCTAssertEqual(Metrics.pearson(x, y), 0.8767227853705734, accuracy: 1e-12)
        XCTAssertEqual(Metrics.pearson([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-12)
        XCTAssertEqual(Metrics.spearman([1, 2, 3], [30, 20, 10]), -1, accuracy: 1e-12)
    }

    func testSquadNormalisationExactMatchAndF1() {
        XCTAssertEqual(Metrics.normalizeAnswer("  The  Eiffel-Tower, in PARIS! "), "eiffeltower in paris")
        XCTAssertEqual(Metrics.normalizeAnswer("an apple a day"), "apple day")
        XCTAssertEqual(Metrics.exactMatch(prediction: "the Eiffel Tower", gold: ["Eiffel tower."]), 1)
        XCTAssertEqual(Metrics.exactMatch(prediction: "Eiffel", gold: ["Eiffel tower"]), 0)
        // prediction {eiffel}, gold {eiffel, tower}: P 1, R 1/2 → F1 2/3; the max over golds counts.
        XCTAssertEqual(Metrics.tokenF1(prediction: "Eiffel", gold: ["Eiffel tower", "Paris"]), 2.0 / 3, accuracy: 1e-12)
        // Bags: "a b b" vs "b b c" share two b's → P 2/3, R 2/3.
        XCTAssertEqual(Metrics.tokenF1(prediction: "x b b", gold: ["b b c"]), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(Metrics.tokenF1(prediction: "b", gold: ["b b c"]), 0.5, accuracy: 1e-12)
        // v2: unanswerable questions want the empty answer.
        XCTAssertEqual(Metrics.exactMatch(prediction: "", gold: []), 1)
        XCTAssertEqual(Metrics.tokenF1(prediction: "Paris", gold: []), 0)
        let examples = [
            QuestionAnsweringExample(id: "1", question: "q", context: "Paris is big", answers: [QuestionAnswer(text: "Paris", characterStart: 0)]),
            QuestionAnsweringExample(id: "2", question: "q", context: "Paris is big", answers: [], isImpossible: true),
        ]
        let s = Metrics.squad(predictions: ["1": "paris", "2": "big"], examples: examples)
        XCTAssertEqual(s.exactMatch, 50)
        XCTAssertEqual(s.f1, 50)
    }

    func testEntitiesSeqevalRules() {
        XCTAssertEqual(Metrics.entities(["B-PER", "I-PER", "O", "B-LOC"]),
                       [.init(type: "PER", start: 0, end: 2), .init(type: "LOC", start: 3, end: 4)])
        // An I- without a B- starts a chunk; a type change ends one.
        XCTAssertEqual(Metrics.entities(["I-PER", "I-PER", "I-LOC", "O", "B-ORG", "B-ORG"]),
                       [.init(type: "PER", start: 0, end: 2), .init(type: "LOC", start: 2, end: 3),
                        .init(type: "ORG", start: 4, end: 5), .init(type: "ORG", start: 5, end: 6)])
        XCTAssertEqual(Metrics.entities(["S-PER", "B-LOC", "E-LOC", "O"]),
                       [.init(type: "PER", start: 0, end: 1), .init(type: "LOC", start: 1, end: 3)])
    }

    func testEntityF1() {
        // Gold: PER 0..<2, LOC 3..<4, ORG (sentence 2) 0..<1. Predicted: PER 0..<1 (wrong end), LOC right, ORG right, MISC extra.
        let gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
        let pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "B-MISC"]]
        let s = Metrics.entityScores(predictions: pred, references: gold)
        XCTAssertEqual(s.precision, 2.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(s.recall, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(s.f1, 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3), accuracy: 1e-12)
        XCTAssertEqual(Metrics.tokenAccuracy(predictions: pred, references: gold), 4.0 / 6, accuracy: 1e-12)
    }
}
