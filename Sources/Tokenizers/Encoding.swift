/// The output of encoding one input (or pair): ids and everything aligned with them.
public struct Encoding: Sendable, Equatable {
    /// Token ids.
    public var ids: [Int] = []
    /// Segment (token type) ids.
    public var typeIDs: [Int] = []
    /// Token strings.
    public var tokens: [String] = []
    /// (start, end) in Unicode scalar indices of the input text the token came from.
    public var offsets: [Offset] = []
    /// Word index of each token (nil for special tokens added by the post-processor / padding).
    public var wordIDs: [Int?] = []
    /// 1 for special tokens added by the post-processor and for padding.
    public var specialTokensMask: [Int] = []
    /// 0 for padding.
    public var attentionMask: [Int] = []
    /// Which input (0 or 1) each token came from; nil for specials.
    public var sequenceIDs: [Int?] = []
    /// Windows that did not fit when truncating.
    public var overflowing: [Encoding] = []

    /// An empty encoding.
    public init() {}

    /// Number of tokens.
    public var count: Int { ids.count }

    /// A start/end pair.
    public struct Offset: Sendable, Equatable, Hashable {
        /// First scalar index.
        public var start: Int
        /// One past the last scalar index.
        public var end: Int
        /// Creates an offset pair.
        public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
    }

    mutating func reserve(_ n: Int) {
        ids.reserveCapacity(n); typeIDs.reserveCapacity(n); tokens.reserveCapacity(n); offsets.reserveCapacity(n)
        wordIDs.reserveCapacity(n); specialTokensMask.reserveCapacity(n); attentionMask.reserveCapacity(n); sequenceIDs.reserveCapacity(n)
    }

    mutating func append(id: Int, typeID: Int, token: String, offset: Offset, wordID: Int?, special: Int, attention: Int = 1, sequence: Int?) {
        ids.append(id); typeIDs.append(typeID); tokens.append(token); offsets.append(offset)
        wordIDs.append(wordID); specialTokensMask.append(special); attentionMask.append(attention); sequenceIDs.append(sequence)
    }

    /// Appends `other`'s tokens (not its overflowing windows).
    mutating func appendTokens(of other: Encoding) {
        ids += other.ids; typeIDs += other.typeIDs; tokens += other.tokens; offsets += other.offsets
        wordIDs += other.wordIDs; specialTokensMask += other.specialTokensMask; attentionMask += other.attentionMask
        sequenceIDs += other.sequenceIDs
    }

    func slice(_ r: Range<Int>) -> Encoding {
        var e = Encoding()
        e.ids = Array(ids[r]); e.typeIDs = Array(typeIDs[r]); e.tokens = Array(tokens[r]); e.offsets = Array(offsets[r])
        e.wordIDs = Array(wordIDs[r]); e.specialTokensMask = Array(specialTokensMask[r]); e.attentionMask = Array(attentionMask[r])
        e.sequenceIDs = Array(sequenceIDs[r])
        return e
    }

    /// Truncates to `maxLength`, moving the rest into `overflowing` windows that overlap by `stride`.
    mutating func truncate(maxLength: Int, stride: Int, direction: TruncationDirection) throws {
        let n = count
        if maxLength >= n { return }
        if maxLength == 0 {
            let o = self
            self = Encoding()
            overflowing = [o]
            return
        }
        guard stride < maxLength else {
            throw TokenizerError.truncation("stride (\(stride)) must be strictly less than the length left for this sequence (\(maxLength))")
        }
        let step = maxLength - stride
        var parts: [Range<Int>] = []
        switch direction {
        case .right:
            var start = 0
            while true {
                let stop = min(start + maxLength, n)
                parts.append(start..<stop)
                if stop == n { break }
                start += step
            }
        case .left:
            var stop = n
            while true {
                let start = max(stop - maxLength, 0)
                parts.append(start..<stop)
                if start == 0 { break }
                stop -= step
            }
        }
        var first = slice(parts[0])
        first.overflowing = parts.dropFirst().map { slice($0) }
        self = first
    }

    /// Pads to `length` with the given pad token.
    mutating func pad(to length: Int, padID: Int, padTypeID: Int, padToken: String, direction: PaddingDirection) {
        for i in overflowing.indices { overflowing[i].pad(to: length, padID: padID, padTypeID: padTypeID, padToken: padToken, direction: direction) }
        let k = length - count
        if k <= 0 { return }
        var p = Encoding()
        for _ in 0..<k { p.append(id: padID, typeID: padTypeID, token: padToken, offset: Offset(0, 0), wordID: nil, special: 1, attention: 0, sequence: nil) }
        if direction == .right { appendTokens(of: p) } else {
            p.appendTokens(of: self)
            p.overflowing = overflowing
            self = p
        }
    }
}

/// Which end truncation removes tokens from.
public enum TruncationDirection: String, Sendable { case left = "Left", right = "Right" }
/// Which end padding adds tokens to.
public enum PaddingDirection: String, Sendable { case left = "Left", right = "Right" }

/// Truncation strategies for pairs.
public enum TruncationStrategy: String, Sendable {
    case longestFirst = "LongestFirst", onlyFirst = "OnlyFirst", onlySecond = "OnlySecond"
}

/// Truncation settings (tokenizer.json `truncation`).
public struct TruncationParams: Sendable, Equatable {
    /// Maximum number of tokens, special tokens included.
    public var maxLength: Int
    /// Tokens shared by consecutive overflowing windows.
    public var stride: Int
    /// Which sequence(s) to shorten.
    public var strategy: TruncationStrategy
    /// Which end to cut.
    public var direction: TruncationDirection
    /// Creates truncation settings.
    public init(maxLength: Int, stride: Int = 0, strategy: TruncationStrategy = .longestFirst, direction: TruncationDirection = .right) {
        self.maxLength = maxLength; self.stride = stride; self.strategy = strategy; self.direction = direction
    }
}

/// Padding settings (tokenizer.json `padding`).
public struct PaddingParams: Sendable, Equatable {
    /// Pad to the longest in the batch, or to a fixed length.
    public enum Strategy: Sendable, Equatable { case batchLongest, fixed(Int) }
    /// Target length rule.
    public var strategy: Strategy
    /// Which end to pad.
    public var direction: PaddingDirection
    /// Round the length up to a multiple of this.
    public var padToMultipleOf: Int?
    /// Id of the padding token.
    public var padID: Int
    /// Type id of padding.
    public var padTypeID: Int
    /// The padding token string.
    public var padToken: String
    /// The longest fixed padding length (a flag or a tokenizer.json asking for billions would
    /// allocate that many tokens per text).
    public static let lengthLimit = 1 << 20

    static func checkedLength(_ length: Int) throws -> Int {
        guard length >= 0 && length <= lengthLimit else {
            throw TokenizerError.invalidField(path: "padding.length", reason: "\(length) is outside 0...\(lengthLimit)")
        }
        return length
    }

    /// Creates padding settings.
    public init(strategy: Strategy = .batchLongest, direction: PaddingDirection = .right, padToMultipleOf: Int? = nil, padID: Int = 0, padTypeID: Int = 0, padToken: String = "[PAD]") {
        self.strategy = strategy; self.direction = direction; self.padToMultipleOf = padToMultipleOf
        self.padID = padID; self.padTypeID = padTypeID; self.padToken = padToken
    }
}

/// Truncates a single encoding or a pair to `params.maxLength` tokens in total (Hugging Face rules).
func truncateEncodings(_ a: inout Encoding, _ b: inout Encoding?, _ params: TruncationParams) throws {
    if params.maxLength == 0 {
        try a.truncate(maxLength: 0, stride: params.stride, direction: params.direction)
        try b?.truncate(maxLength: 0, stride: params.stride, direction: params.direction)
        return
    }
    let total = a.count + (b?.count ?? 0)
    if total <= params.maxLength { return }
    let toRemove = total - params.maxLength
    switch params.strategy {
    case .longestFirst:
        if var other = b {
            var n1 = a.count, n2 = other.count
            let swap = n1 > n2
            if swap { (n1, n2) = (n2, n1) }
            if n1 > params.maxLength { n2 = n1 } else { n2 = max(n1, params.maxLength - n1) }
            if n1 + n2 > params.maxLength {
                n1 = params.maxLength / 2
                n2 = n1 + params.maxLength % 2
            }
            if swap { (n1, n2) = (n2, n1) }
            try a.truncate(maxLength: n1, stride: params.stride, direction: params.direction)
            try other.truncate(maxLength: n2, stride: params.stride, direction: params.direction)
            b = other
        } else {
            try a.truncate(maxLength: total - toRemove, stride: params.stride, direction: params.direction)
        }
    case .onlyFirst, .onlySecond:
        if params.strategy == .onlyFirst {
            guard a.count > toRemove else { throw TokenizerError.truncation("the first sequence is too short to remove \(toRemove) tokens") }
            try a.truncate(maxLength: a.count - toRemove, stride: params.stride, direction: params.direction)
        } else {
            guard var other = b else { throw TokenizerError.truncation("only_second needs a second sequence") }
            guard other.count > toRemove else { throw TokenizerError.truncation("the second sequence is too short to remove \(toRemove) tokens") }
            try other.truncate(maxLength: other.count - toRemove, stride: params.stride, direction: params.direction)
            b = other
        }
    }
}
