import XCTest
import Tokenizers
@testable import Tasks

/// QA windows and post-processing, and first-piece tagging, on a tiny WordPiece vocabulary.
final class QuestionAnsweringTests: XCTestCase {
    static let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "sat", "?", "bob", "##by", "on", "the", "mat", ".", "cat", "u", "s"]
    //                    0        1        2        3        4       5      6     7     8      9      10    11     12    13    14     15   16
    let context = "Bobby sat on the mat. The cat sat."
    // Context tokens (offsets): bob 0-3, ##by 3-5, sat 6-9, on 10-12, the 13-16, mat 17-20, . 20-21,
    // the 22-25, cat 26-29, sat 30-33, . 33-34.

    func tokenizer() throws -> Tokenizer { try Tokenizer.bert(vocabTxt: Self.vocab.joined(separator: "\n")) }

    func testSingleWindowLabels() throws {
        let ex = QuestionAnsweringExample(id: "a", question: "  who sat?", context: context, answers: [QuestionAnswer(text: "Bobby", characterStart: 0)])
        let w = try QuestionAnswering.windows(for: [ex], tokenizer: try tokenizer(), maxLength: 32, stride: 4)
        XCTAssertEqual(w.count, 1)
        // [CLS] who sat ? [SEP] bob ##by sat on the mat . the cat sat . [SEP]
        XCTAssertEqual(w[0].encoding.ids, [2, 5, 6, 7, 3, 8, 9, 6, 10, 11, 12, 13, 11, 14, 6, 13, 3])
        XCTAssertEqual(w[0].startPosition, 5)
        XCTAssertEqual(w[0].endPosition, 6)
        XCTAssertEqual(w[0].nullIndex, 0)
        XCTAssertNil(w[0].contextOffsets[2], "question tokens have no context offsets")
        XCTAssertEqual(w[0].contextOffsets[13], Encoding.Offset(26, 29))
        XCTAssertNil(w[0].contextOffsets[16])
    }

    func testStrideWindowsLabelOnlyWhereTheAnswerFits() throws {
        // "the cat" = context tokens 7–8. 10 tokens per window leave 4 for the context; stride 2
        // gives context slices [0,4) [2,6) [4,8) [6,10) [8,11): only [6,10) holds both tokens.
        let ex = QuestionAnsweringExample(id: "a", question: "who sat?", context: context, answers: [QuestionAnswer(text: "The cat", characterStart: 22)])
        let w = try QuestionAnswering.windows(for: [ex], tokenizer: try tokenizer(), maxLength: 10, stride: 2)
        XCTAssertEqual(w.count, 5)
        XCTAssertTrue(w.allSatisfy { $0.encoding.count <= 10 && $0.exampleIndex == 0 })
        XCTAssertEqual(w.map(\.startPosition), [0, 0, 0, 6, 0])
        XCTAssertEqual(w.map(\.endPosition), [0, 0, 0, 7, 0])
        XCTAssertEqual(w[3].contextOffsets[5], Encoding.Offset(20, 21), "window 4 starts at context token 6 (the first \".\")")
        // An impossible question is labelled CLS everywhere.
        let none = QuestionAnsweringExample(id: "b", question: "who sat?", context: context, answers: [], isImpossible: true)
        XCTAssertTrue(try QuestionAnswering.windows(for: [none], tokenizer: try tokenizer(), maxLength: 10, stride: 2).allSatisfy { $0.startPosition == 0 && $0.endPosition == 0 })
        XCTAssertThrowsError(try QuestionAnswering.windows(for: [ex], tokenizer: try tokenizer(), maxLength: 10, stride: 4))
    }

    func testAnswerSearchInOneWindow() throws {
        let ex = QuestionAnsweringExample(id: "a", question: "who sat?", context: context, answers: [QuestionAnswer(text: "Bobby", characterStart: 0)])
        let w = try QuestionAnswering.windows(for: [ex], tokenizer: try tokenizer(), maxLength: 32, stride: 4)[0]
        var start = [Float](repeating: 0, count: 17), end = [Float](repeating: 0, count: 17)
        start[1] = 10   // a question token: never an answer
        start[5] = 5    // bob
        end[6] = 4      // ##by → "Bobby", 9
        end[13] = 4.5   // cat → "Bobby sat on the mat. The cat", 9.5 but 9 tokens long
        end[2] = 20     // before the best start: never
        start[0] = 3; end[0] = 3  // null score 6
        let logits = WindowLogits(startLogits: start, endLogits: end, contextOffsets: w.contextOffsets)
        XCTAssertEqual(QuestionAnswering.bestAnswer(context: context, windows: [logits]), "Bobby sat on the mat. The cat")
        let short = AnswerSearchOptions(maxAnswerLength: 3)
        XCTAssertEqual(QuestionAnswering.bestAnswer(context: context, windows: [logits], options: short), "Bobby")
        let top = QuestionAnswering.candidates(context: context, windows: [logits], options: AnswerSearchOptions(nBest: 3, maxAnswerLength: 3))
        XCTAssertEqual(top.first, AnswerCandidate(text: "Bobby", characterStart: 0, characterEnd: 5, score: 9, window: 0))
        // Top-3 starts are 1 (question), 5, 0 (CLS) and top-3 ends 2, 13, 6: only 5–6 is a legal short span.
        XCTAssertEqual(top.count, 1)
        // SQuAD v2: the null answer wins when its score beats the best by more than the threshold.
        var v2 = AnswerSearchOptions(maxAnswerLength: 3, allowNoAnswer: true)
        XCTAssertEqual(QuestionAnswering.bestAnswer(context: context, windows: [logits], options: v2), "Bobby", "null 6 < best 9")
        var nullish = logits
        nullish.startLogits[0] = 6; nullish.endLogits[0] = 4   // null 10 > 9
        XCTAssertEqual(QuestionAnswering.bestAnswer(context: context, windows: [nullish], options: v2), "")
        v2.nullScoreThreshold = 2   // 10 − 9 = 1 ≤ 2: keep the span
        XCTAssertEqual(QuestionAnswering.bestAnswer(context: context, windows: [nullish], options: v2), "Bobby")
        XCTAssertTrue(QuestionAnswering.candidates(context: context, windows: [nullish], options: AnswerSearchOptions(allowNoAnswer: true))
            .contains { $0.text == "" && $0.score == 10 })
    }

    func testBestAcrossWindowsAndPredictions() throws {
        let ex = QuestionAnsweringExample(id: "a", question: "who sat?", context: context, answers: [QuestionAnswer(text: "The cat", characterStart: 22)])
        let windows = try QuestionAnswering.windows(for: [ex], tokenizer: try tokenizer(), maxLength: 10, stride: 2)
        // Each window: best span weak except window 3, where "the cat" (positions 6–7) scores 7.
        var logits: [(start: [Float], end: [Float])] = []
        for (i, w) in windows.enumerated() {
            var s = [Float](repeating: 0, count: w.encoding.count), e = s
            s[5] = 1; e[5] = 1
            if i == 3 { s[6] = 3; e[7] = 4 }
            s[0] = 2; e[0] = 2   // null score 4 in every window
            logits.append((s, e))
        }
        XCTAssertEqual(QuestionAnswering.predictions(examples: [ex], windows: windows, logits: logits), ["a": "The cat"])
        XCTAssertEqual(QuestionAnswering.predictions(examples: [ex], windows: windows, logits: logits,
                                                     options: AnswerSearchOptions(allowNoAnswer: true, nullScoreThreshold: 0)), ["a": "The cat"])
        let squad = Metrics.squad(predictions: ["a": "The cat"], examples: [ex])
        XCTAssertEqual(squad.exactMatch, 100)
    }

    func testFirstPieceLabelsAndInverse() throws {
        let (e, words) = try TokenClassification.encode(words: ["Bobby", "sat", "U.S."], tokenizer: try tokenizer())
        XCTAssertEqual(e.tokens, ["[CLS]", "bob", "##by", "sat", "u", ".", "s", ".", "[SEP]"])
        XCTAssertEqual(words, [nil, 0, 0, 1, 2, 2, 2, 2, nil], "U.S. is one word though the pre-tokenizer splits it")
        let labels = TokenClassification.alignLabels(wordIndices: words, wordLabels: [1, 2, 3])
        XCTAssertEqual(labels, [-100, 1, -100, 2, 3, -100, -100, -100, -100])
        XCTAssertEqual(TokenClassification.alignLabels(wordIndices: words, wordLabels: [1, 2, 3], labelAllPieces: true), [-100, 1, 1, 2, 3, 3, 3, 3, -100])
        let predicted = ["O", "B-PER", "I-PER", "O", "B-LOC", "X", "X", "X", "O"]
        XCTAssertEqual(TokenClassification.wordPredictions(wordIndices: words, tokenPredictions: predicted, wordCount: 3, fallback: "O"), ["B-PER", "O", "B-LOC"])
        // Truncated to [CLS] bob ##by [SEP]: the words without tokens fall back.
        let (t, tw) = try TokenClassification.encode(words: ["Bobby", "sat", "U.S."], tokenizer: try tokenizer(), maxLength: 4)
        XCTAssertEqual(t.count, 4)
        XCTAssertEqual(TokenClassification.wordPredictions(wordIndices: tw, tokenPredictions: [0, 7, 8, 9], wordCount: 3, fallback: -1), [7, -1, -1])
    }

    func testRepairBIO() {
        XCTAssertEqual(TokenClassification.repairBIO(["I-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-LOC", "I-LOC"]),
                       ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "B-LOC", "I-LOC"])
        XCTAssertEqual(Metrics.entities(TokenClassification.repairBIO(["I-PER", "I-LOC"])), Metrics.entities(["I-PER", "I-LOC"]))
    }
}
