/// One model input built from a corpus: a token sequence with its special tokens, segment ids and
/// the sentence-level label of NSP/SOP when the format has one.
public struct PretrainingInstance: Sendable, Equatable {
    /// Token ids, special tokens included, unpadded.
    public var ids: [Int32]
    /// Segment (token type) ids, same length as `ids`.
    public var tokenTypes: [Int32]
    /// True for special tokens ([CLS], [SEP], <s>, </s>): never masked, never predicted.
    public var isSpecial: [Bool]
    /// True where a token starts a word (specials: true).
    public var wordStarts: [Bool]
    /// NSP: 1 = B is a random segment from another document; SOP: 1 = the segments are swapped.
    /// nil for formats without a sentence-level task.
    public var sentenceLabel: Int32?
    /// Language ids, same length as `ids` (translation LM); nil for one-language formats.
    public var languages: [Int32]?
    /// Position ids, same length as `ids`, when they are not 0, 1, 2, … from the first token
    /// (translation LM restarts them at the second sentence); nil: the model's own.
    public var positions: [Int32]?

    public init(ids: [Int32], tokenTypes: [Int32], isSpecial: [Bool], wordStarts: [Bool], sentenceLabel: Int32? = nil,
                languages: [Int32]? = nil, positions: [Int32]? = nil) {
        self.ids = ids
        self.tokenTypes = tokenTypes
        self.isSpecial = isSpecial
        self.wordStarts = wordStarts
        self.sentenceLabel = sentenceLabel
        self.languages = languages
        self.positions = positions
    }
}

/// A masked instance: what the model reads and what the MLM (and SBO) objective predicts.
public struct MaskedInstance: Sendable, Equatable {
    /// The instance's ids with the chosen positions replaced ([MASK], random or kept).
    public var inputIDs: [Int32]
    /// Positions (into the sequence) that are predicted, ascending.
    public var positions: [Int32]
    /// The original token at each predicted position.
    public var labels: [Int32]
    /// For span masking (SBO): per predicted position, the span's boundary tokens' positions
    /// (s−1 and e+1) and the 0-based offset of the position inside its span. nil otherwise.
    public var spanTargets: [SpanTarget]?
    /// Permutation LM: each position's place in the factorisation order — −1 for every token that
    /// is not predicted (the context, first in the order: visible to all, seeing only itself and
    /// the other context tokens), 0..<k for the k targets. nil for masked LM.
    public var order: [Int32]?

    public init(inputIDs: [Int32], positions: [Int32], labels: [Int32], spanTargets: [SpanTarget]? = nil, order: [Int32]? = nil) {
        self.inputIDs = inputIDs
        self.positions = positions
        self.labels = labels
        self.spanTargets = spanTargets
        self.order = order
    }
}

/// Where an SBO prediction looks (Joshi et al. 2020, §3.2): the tokens just outside its span and
/// its relative position inside it.
public struct SpanTarget: Sendable, Equatable {
    public var leftBoundary: Int32
    public var rightBoundary: Int32
    public var offset: Int32
    public init(leftBoundary: Int32, rightBoundary: Int32, offset: Int32) {
        self.leftBoundary = leftBoundary
        self.rightBoundary = rightBoundary
        self.offset = offset
    }
}
