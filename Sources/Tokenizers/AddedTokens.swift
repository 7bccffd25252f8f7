/// A token added to the vocabulary (special or not), matched in raw text before the model runs.
public struct AddedToken: Sendable {
    /// The token text.
    public var content: String
    /// Its id.
    public var id: Int
    /// Special tokens are skipped by `decode(skipSpecialTokens:)`.
    public var special: Bool
    /// Match only when not inside a word.
    public var singleWord: Bool
    /// Absorb whitespace on the left.
    public var lstrip: Bool
    /// Absorb whitespace on the right.
    public var rstrip: Bool
    /// Match in normalized text (true) or raw text (false).
    public var normalized: Bool

    /// Creates an added token; `normalized` defaults to `!special`, as in Hugging Face.
    public init(content: String, id: Int, special: Bool = true, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false, normalized: Bool? = nil) {
        self.content = content; self.id = id; self.special = special; self.singleWord = singleWord
        self.lstrip = lstrip; self.rstrip = rstrip; self.normalized = normalized ?? !special
    }

    /// The largest token id a tokenizer file may use (ids are stored as 32-bit integers downstream).
    static let idLimit = 50_000_000

    init(json f: JSONField) throws {
        let special = try f.bool("special", default: false)
        let id = try f.int("id")
        guard id >= 0 && id < Self.idLimit else {
            throw TokenizerError.invalidField(path: f.sub("id"), reason: "id \(id) is outside 0..<\(Self.idLimit)")
        }
        self.init(content: try f.string("content"), id: id, special: special, singleWord: try f.bool("single_word", default: false),
                  lstrip: try f.bool("lstrip", default: false), rstrip: try f.bool("rstrip", default: false),
                  normalized: try f.optionalBool("normalized"))
    }

    var json: JSONValue {
        .object([("id", .number(Double(id))), ("content", .string(content)), ("single_word", .bool(singleWord)), ("lstrip", .bool(lstrip)),
                 ("rstrip", .bool(rstrip)), ("normalized", .bool(normalized)), ("special", .bool(special))])
    }
}

/// The added tokens of a tokenizer and the tries that find them in text.
struct AddedVocabulary: Sendable {
    var tokens: [AddedToken] = []
    var rawTrie = ScalarTrie()
    var normalizedTrie = ScalarTrie()
    var hasRaw = false, hasNormalized = false
    /// Id → index in `tokens`.
    var byID: [Int: Int] = [:]

    init(tokens: [AddedToken], normalizer: Normalizer?) throws {
        self.tokens = tokens
        for (i, t) in tokens.enumerated() {
            byID[t.id] = i
            if t.content.isEmpty { continue }
            if t.normalized {
                var n = NormalizedString(t.content)
                try normalizer?.normalize(&n)
                if n.isEmpty { continue }
                normalizedTrie.insert(n.scalars, Int32(i), keepExisting: true)
                hasNormalized = true
            } else {
                rawTrie.insert(t.content.unicodeScalars.lazy.map(\.value), Int32(i), keepExisting: true)
                hasRaw = true
            }
        }
    }

    func isSpecial(id: Int) -> Bool { byID[id].map { tokens[$0].special } ?? false }
    func token(id: Int) -> AddedToken? { byID[id].map { tokens[$0] } }

    /// Leftmost-longest matches of `trie` in `s`, with single-word / strip rules applied;
    /// returns pieces covering `s`: (range, added token index or nil).
    func findMatches(_ s: [UInt32], _ trie: ScalarTrie) -> [(Range<Int>, Int?)] {
        let n = s.count
        if n == 0 { return [(0..<0, nil)] }
        var out: [(Range<Int>, Int?)] = []
        var startOffset = 0
        var i = 0
        while i < n {
            var node: Int32 = 0
            var j = i
            var best = -1, bestIdx: Int32 = -1
            while j < n {
                node = trie.child(node, s[j])
                if node < 0 { break }
                j += 1
                if trie.values[Int(node)] >= 0 { best = j; bestIdx = trie.values[Int(node)] }
            }
            if best < 0 { i += 1; continue }
            let t = tokens[Int(bestIdx)]
            var start = i, stop = best
            i = best
            if t.singleWord {
                let startSpace = start == 0 || !isWordChar(s[start - 1])
                let stopSpace = stop == n || !isWordChar(s[stop])
                if !startSpace || !stopSpace { continue }
            }
            if t.lstrip {
                var k = start
                while k > 0, isWhitespace(s[k - 1]) { k -= 1 }
                start = max(k, startOffset)
            }
            if t.rstrip {
                while stop < n, isWhitespace(s[stop]) { stop += 1 }
                i = stop
            }
            if startOffset < start { out.append((startOffset..<start, nil)) }
            out.append((start..<stop, Int(bestIdx)))
            startOffset = stop
        }
        if startOffset != n { out.append((startOffset..<n, nil)) }
        return out
    }

    @inline(__always) func isWordChar(_ c: UInt32) -> Bool { c == 95 || isAlphanumeric(c) }

    /// Splits raw text on added tokens, normalizes the rest, then splits on normalized added tokens.
    func extractAndNormalize(_ text: [UInt32], normalizer: Normalizer?) throws -> PreTokenizedString {
        let whole = NormalizedString(scalars: text)
        var splits: [PreTokenizedString.Split] = []
        let firstPass: [(Range<Int>, Int?)] = hasRaw ? findMatches(text, rawTrie) : [(0..<text.count, nil)]
        for (r, idx) in firstPass {
            var piece = (r == 0..<text.count) ? whole : whole.slice(r)
            if let idx {
                splits.append(.init(normalized: piece, tokens: [Token(id: tokens[idx].id, start: 0, end: piece.count, value: piece.string)]))
                continue
            }
            try normalizer?.normalize(&piece)
            if !hasNormalized {
                if !piece.isEmpty { splits.append(.init(normalized: piece, tokens: nil)) }
                continue
            }
            for (r2, idx2) in findMatches(piece.scalars, normalizedTrie) where !r2.isEmpty {
                let sub = piece.slice(r2)
                if let idx2 {
                    splits.append(.init(normalized: sub, tokens: [Token(id: tokens[idx2].id, start: 0, end: sub.count, value: sub.string)]))
                } else {
                    splits.append(.init(normalized: sub, tokens: nil))
                }
            }
        }
        return PreTokenizedString(splits: splits.filter { !$0.normalized.isEmpty || $0.tokens != nil })
    }
}
