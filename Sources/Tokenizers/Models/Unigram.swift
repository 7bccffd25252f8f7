/// Unigram language model (SentencePiece / ALBERT): Viterbi best segmentation over a trie of
/// pieces; characters no piece covers become the unknown token (consecutive ones fused), or
/// `<0xXX>` byte pieces with byte fallback.
public final class Unigram: @unchecked Sendable {
    /// Pieces.
    public let vocab: Vocabulary
    /// Log probability of each piece, by id.
    public let scores: [Double]
    /// Id of the unknown piece.
    public let unkID: Int?
    /// Use `<0xXX>` pieces for unknown characters.
    public let byteFallback: Bool
    let minScore: Double
    /// Scores in manually managed memory (no reference counting in the Viterbi loop).
    let scoreStorage: UnsafeMutablePointer<Double>
    static let unkPenalty = 10.0

    deinit { scoreStorage.deallocate() }

    /// Creates a Unigram model from (piece, score) pairs in id order.
    public init(pieces: [(String, Double)], unkID: Int?, byteFallback: Bool = false) throws {
        self.vocab = Vocabulary(tokens: pieces.map(\.0))
        self.scores = pieces.map(\.1)
        if let u = unkID, u < 0 || u >= pieces.count {
            throw TokenizerError.invalidField(path: "model.unk_id", reason: "\(u) is outside the vocabulary (size \(pieces.count))")
        }
        self.unkID = unkID
        self.byteFallback = byteFallback
        self.minScore = scores.min() ?? 0
        scoreStorage = .allocate(capacity: max(1, scores.count))
        scoreStorage.initialize(from: scores, count: scores.count)
    }

    let cache = WordCache()

    /// Tokenizes one word (results cached per word).
    public func tokenize(_ s: [UInt32]) -> [Token] {
        if s.isEmpty { return [] }
        if let hit = cache.get(s) { return hit }
        let r = viterbi(s)
        cache.set(s, r)
        return r
    }

    func viterbi(_ s: [UInt32]) -> [Token] {
        let n = s.count
        let unkScore = minScore - Unigram.unkPenalty
        var bestScore = [Double](repeating: 0, count: n + 1)
        var bestStart = [Int32](repeating: -1, count: n + 1)
        var bestID = [Int32](repeating: -1, count: n + 1)
        let trie = vocab.fast
        let sc = scoreStorage
        for start in 0..<n {
            if start > 0 && bestStart[start] < 0 { continue }
            let base = bestScore[start]
            var node: Int32 = 0
            var hasSingle = false
            var i = start
            while i < n {
                node = trie.child(node, s[i])
                if node < 0 { break }
                i += 1
                let id = trie.value(node)
                if id >= 0 {
                    let cand = base + sc[Int(id)]
                    if bestStart[i] < 0 || cand > bestScore[i] { bestScore[i] = cand; bestStart[i] = Int32(start); bestID[i] = id }
                    if i == start + 1 { hasSingle = true }
                }
            }
            if !hasSingle {
                let cand = base + unkScore
                if bestStart[start + 1] < 0 || cand > bestScore[start + 1] {
                    bestScore[start + 1] = cand; bestStart[start + 1] = Int32(start); bestID[start + 1] = Int32(unkID ?? -1)
                }
            }
        }
        // Backtrack, fusing consecutive unknown pieces.
        var pieces: [(Int, Int, Int)] = []  // start, end, id (-1 unknown)
        var end = n
        while end > 0 {
            let st = Int(bestStart[end])
            let id = Int(bestID[end])
            let isUnk = id < 0 || id == unkID
            if isUnk, let last = pieces.last, last.2 < 0 || last.2 == unkID, last.0 == end {
                pieces[pieces.count - 1].0 = st
            } else {
                pieces.append((st, end, isUnk ? (unkID ?? -1) : id))
            }
            end = st
        }
        pieces.reverse()
        var out: [Token] = []
        out.reserveCapacity(pieces.count)
        for (st, en, id) in pieces {
            if id >= 0 && id != unkID { out.append(Token(id: id, start: st, end: en)); continue }
            // Unknown span: the token's value is the text itself (as Hugging Face reports it).
            if byteFallback {
                var bytes: [UInt8] = []
                for c in s[st..<en] { if let u = Unicode.Scalar(c) { bytes += Array(String(u).utf8) } }
                let ids = bytes.map { vocab.id(byteToken($0)) }
                if !ids.isEmpty, ids.allSatisfy({ $0 != nil }) {
                    for (b, i) in zip(bytes, ids) { out.append(Token(id: i!, start: st, end: en, value: byteToken(b))) }
                    continue
                }
            }
            out.append(Token(id: unkID ?? 0, start: st, end: en, value: scalarsToString(s[st..<en])))
        }
        return out
    }

    convenience init(json f: JSONField) throws {
        var pieces: [(String, Double)] = []
        for (i, p) in try f.array("vocab").enumerated() {
            guard case .array(let a) = p.value, a.count == 2, case .string(let t) = a[0], case .number(let sc) = a[1] else {
                throw TokenizerError.invalidField(path: "\(f.path).vocab[\(i)]", reason: "expected [piece, score]")
            }
            pieces.append((t, sc))
        }
        try self.init(pieces: pieces, unkID: try f.optionalInt("unk_id"), byteFallback: try f.bool("byte_fallback", default: false))
    }

    var json: JSONValue {
        .object([("type", .string("Unigram")), ("unk_id", unkID.map { .number(Double($0)) } ?? .null),
                 ("vocab", .array(zip(vocab.tokens, scores).map { .array([.string($0.0), .number($0.1)]) })),
                 ("byte_fallback", .bool(byteFallback))])
    }
}

/// `<0xAB>` byte-fallback piece name.
func byteToken(_ b: UInt8) -> String {
    let hex = Array("0123456789ABCDEF")
    return "<0x\(hex[Int(b >> 4)])\(hex[Int(b & 15)])>"
}
