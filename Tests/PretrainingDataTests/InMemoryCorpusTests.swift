import XCTest
import PretrainingData

final class InMemoryCorpusTests: XCTestCase {
    func testDocumentsSentencesAndTokensAreNumberedGlobally() {
        var corpus = InMemoryCorpus()
        corpus.appendDocument(ids: [[1, 2, 3], [4]])
        corpus.appendDocument([[(id: 5, wordStart: true), (id: 6, wordStart: false)]])
        XCTAssertEqual(corpus.documentCount, 2)
        XCTAssertEqual(corpus.sentenceCount, 3)
        XCTAssertEqual(corpus.tokenCount, 6)
        XCTAssertEqual(corpus.sentences(ofDocument: 1), 2..<3)
        XCTAssertEqual(corpus.tokens(ofSentence: 2), 4..<6)
        XCTAssertEqual(corpus.tokenIDs(corpus.tokens(ofSentence: 2)), [5, 6])
        XCTAssertEqual(corpus.wordStarts(corpus.tokens(ofSentence: 2)), [true, false])
    }
}
