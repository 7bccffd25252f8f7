/// A tokenized corpus as the instance builders see it: documents made of sentences made of token
/// ids, each token flagged when it starts a word (whole-word, n-gram and span masking group the
/// pieces of a word through these flags, whatever the tokenizer).
///
/// Sentences and tokens are numbered globally: document `d` owns the sentences
/// `sentences(ofDocument: d)`, sentence `s` owns the tokens `tokens(ofSentence: s)`.
/// Implementations: ``InMemoryCorpus`` (tests, small inputs) and the shards (read into memory).
public protocol TokenizedCorpus: Sendable {
    var documentCount: Int { get }
    var sentenceCount: Int { get }
    var tokenCount: Int { get }
    /// Global sentence indices of document `d`.
    func sentences(ofDocument d: Int) -> Range<Int>
    /// Global token indices of sentence `s`.
    func tokens(ofSentence s: Int) -> Range<Int>
    /// The token ids in a global token range.
    func tokenIDs(_ range: Range<Int>) -> [Int32]
    /// Whether each token in a global token range starts a word.
    func wordStarts(_ range: Range<Int>) -> [Bool]
}

/// A corpus held in arrays: for tests and for small inputs.
public struct InMemoryCorpus: TokenizedCorpus {
    public private(set) var ids: [Int32] = []
    public private(set) var starts: [Bool] = []
    /// Token offset of each sentence start, plus the end (sentenceCount + 1 entries).
    public private(set) var sentenceOffsets: [Int] = [0]
    /// Sentence offset of each document start, plus the end (documentCount + 1 entries).
    public private(set) var documentOffsets: [Int] = [0]

    public init() {}

    /// Appends a document; each sentence is a list of (token id, starts a word) pairs.
    public mutating func appendDocument(_ sentences: [[(id: Int32, wordStart: Bool)]]) {
        for sentence in sentences {
            ids += sentence.map(\.id)
            starts += sentence.map(\.wordStart)
            sentenceOffsets.append(ids.count)
        }
        documentOffsets.append(sentenceOffsets.count - 1)
    }

    /// Appends a document whose every token starts a word.
    public mutating func appendDocument(ids sentences: [[Int32]]) {
        appendDocument(sentences.map { $0.map { (id: $0, wordStart: true) } })
    }

    public var documentCount: Int { documentOffsets.count - 1 }
    public var sentenceCount: Int { sentenceOffsets.count - 1 }
    public var tokenCount: Int { ids.count }
    public func sentences(ofDocument d: Int) -> Range<Int> { documentOffsets[d]..<documentOffsets[d + 1] }
    public func tokens(ofSentence s: Int) -> Range<Int> { sentenceOffsets[s]..<sentenceOffsets[s + 1] }
    public func tokenIDs(_ range: Range<Int>) -> [Int32] { Array(ids[range]) }
    public func wordStarts(_ range: Range<Int>) -> [Bool] { Array(starts[range]) }
}
