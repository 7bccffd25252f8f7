import Foundation

/// Byte-pair encoding (GPT-2 / RoBERTa): a word starts as single characters and the
/// lowest-ranked adjacent pair is merged until no merge applies. Results are cached per word.
public final class BPE: @unchecked Sendable {
    /// Vocabulary.
    public let vocab: Vocabulary
    /// Merges in rank order, as token pairs.
    public let merges: [(String, String)]
    /// Unknown token (characters not in the vocabulary are dropped without one).
    public let unkToken: String?
    /// Prefix of non-initial symbols.
    public let continuingSubwordPrefix: String?
    /// Suffix of the last symbol.
    public let endOfWordSuffix: String?
    /// Merge consecutive unknown characters into one token.
    public let fuseUnk: Bool
    /// Use `<0xXX>` tokens for unknown characters.
    public let byteFallback: Bool
    /// Words in the vocabulary are taken whole.
    public let ignoreMerges: Bool
    /// Stored for round-trips; not applied (encoding is deterministic).
    public let dropout: Double?
    /// (left id << 32 | right id) → rank << 32 | merged id.
    let mergeTable: IntTable64
    /// Raw copy of `mergeTable` for the merge loop.
    let mergeKeys: UnsafeMutablePointer<UInt64>
    let mergeValues: UnsafeMutablePointer<UInt64>
    let mergeMask: Int

    deinit { mergeKeys.deallocate(); mergeValues.deallocate() }

    @inline(__always) func mergeValue(_ k: UInt64) -> UInt64 {
        var i = IntTable.hash(k) & mergeMask
        while true {
            let x = mergeKeys[i]
            if x == k { return mergeValues[i] }
            if x == UInt64.max { return .max }
            i = (i + 1) & mergeMask
        }
    }
    let unkID: Int?
    let cache = WordCache()

    /// Creates a BPE model; merges must name tokens of the vocabulary.
    public init(vocab: Vocabulary, merges: [(String, String)], unkToken: String? = nil, continuingSubwordPrefix: String? = nil,
                endOfWordSuffix: String? = nil, fuseUnk: Bool = false, byteFallback: Bool = false, ignoreMerges: Bool = false,
                dropout: Double? = nil) throws {
        self.vocab = vocab
        self.merges = merges
        self.unkToken = unkToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.dropout = dropout
        self.unkID = unkToken.flatMap { vocab.id($0) }
        var table = IntTable64(capacity: merges.count)
        let prefixLen = continuingSubwordPrefix?.unicodeScalars.count ?? 0
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab.id(a) else { throw TokenizerError.invalidField(path: "model.merges[\(rank)]", reason: "token '\(a)' is not in the vocabulary") }
            guard let ib = vocab.id(b) else { throw TokenizerError.invalidField(path: "model.merges[\(rank)]", reason: "token '\(b)' is not in the vocabulary") }
            // The merged token drops the continuation prefix of the right part.
            var merged = Array(a.unicodeScalars.map(\.value))
            let bs = Array(b.unicodeScalars.map(\.value))
            let prefixScalars = (continuingSubwordPrefix ?? "").unicodeScalars.map(\.value)
            merged += (prefixLen > 0 && bs.starts(with: prefixScalars)) ? Array(bs.dropFirst(prefixLen)) : bs
            guard let im = vocab.id(scalars: merged) else {
                throw TokenizerError.invalidField(path: "model.merges[\(rank)]", reason: "merged token '\(a)\(b)' is not in the vocabulary")
            }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if table.get(key) == nil { table.set(key, UInt64(rank) << 32 | UInt64(im)) }
        }
        mergeTable = table
        let (keys, values) = table.storage
        mergeKeys = .allocate(capacity: keys.count)
        mergeKeys.initialize(from: keys, count: keys.count)
        mergeValues = .allocate(capacity: values.count)
        mergeValues.initialize(from: values, count: values.count)
        mergeMask = keys.count - 1
    }

    /// Loads GPT-2 style `vocab.json` + `merges.txt`.
    public convenience init(vocabJSON: String, mergesTxt: String, unkToken: String? = nil) throws {
        let v = try vocabulary(fromMap: JSONField(value: try JSONValue.parse(vocabJSON), path: "vocab.json"))
        var merges: [(String, String)] = []
        for (n, line) in mergesTxt.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if n == 0 && line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError.invalidField(path: "merges.txt line \(n + 1)", reason: "expected two tokens separated by one space") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        try self.init(vocab: v, merges: merges, unkToken: unkToken)
    }

    /// Tokenizes one word (scalars already mapped by the pre-tokenizer, e.g. byte-level).
    public func tokenize(_ s: [UInt32]) -> [Token] {
        if s.isEmpty { return [] }
        if let hit = cache.get(s) { return hit }
        let r = merge(s)
        cache.set(s, r)
        return r
    }

    func merge(_ s: [UInt32]) -> [Token] {
        if ignoreMerges, let id = vocab.id(scalars: s) { return [Token(id: id, start: 0, end: s.count)] }
        // Initial symbols.
        var ids: [Int32] = []
        var starts: [Int32] = []
        var ends: [Int32] = []
        ids.reserveCapacity(s.count); starts.reserveCapacity(s.count); ends.reserveCapacity(s.count)
        let prefix = continuingSubwordPrefix.map { Array($0.unicodeScalars.map(\.value)) }
        let suffix = endOfWordSuffix.map { Array($0.unicodeScalars.map(\.value)) }
        var pendingUnk = -1  // index in ids of an unk that may be fused
        for i in 0..<s.count {
            var id: Int?
            if prefix == nil && suffix == nil {
                id = vocab.id(scalar: s[i])
            } else {
                var key: [UInt32] = []
                if i > 0, let p = prefix { key += p }
                key.append(s[i])
                if i == s.count - 1, let x = suffix { key += x }
                id = vocab.id(scalars: key)
            }
            if let id {
                ids.append(Int32(id)); starts.append(Int32(i)); ends.append(Int32(i + 1)); pendingUnk = -1
                continue
            }
            if byteFallback {
                var utf8: [UInt8] = []
                if let u = Unicode.Scalar(s[i]) { utf8 = Array(String(u).utf8) }
                let byteIDs = utf8.map { vocab.id(byteToken($0)) }
                if !byteIDs.isEmpty, byteIDs.allSatisfy({ $0 != nil }) {
                    for b in byteIDs { ids.append(Int32(b!)); starts.append(Int32(i)); ends.append(Int32(i + 1)) }
                    pendingUnk = -1
                    continue
                }
            }
            guard let unk = unkID else { continue }  // no unk token: the character is dropped
            if fuseUnk, pendingUnk >= 0, pendingUnk == ids.count - 1 {
                ends[pendingUnk] = Int32(i + 1)
            } else {
                ids.append(Int32(unk)); starts.append(Int32(i)); ends.append(Int32(i + 1)); pendingUnk = ids.count - 1
            }
        }
        // Merge the lowest-ranked pair (leftmost on ties) until none applies.
        var n = ids.count
        if n > 1 {
            var ranks = [UInt64](repeating: .max, count: n)
            @inline(__always) func pairValue(_ i: Int) -> UInt64 {
                mergeValue(UInt64(UInt32(bitPattern: ids[i])) << 32 | UInt64(UInt32(bitPattern: ids[i + 1])))
            }
            for i in 0..<(n - 1) { ranks[i] = pairValue(i) }
            while true {
                var best = -1
                var bestValue = UInt64.max
                for i in 0..<(n - 1) where ranks[i] < bestValue { bestValue = ranks[i]; best = i }
                if best < 0 { break }
                ids[best] = Int32(truncatingIfNeeded: bestValue & 0xFFFF_FFFF)
                ends[best] = ends[best + 1]
                ids.remove(at: best + 1); starts.remove(at: best + 1); ends.remove(at: best + 1); ranks.remove(at: best + 1)
                n -= 1
                if best < n - 1 { ranks[best] = pairValue(best) } else { ranks[best] = .max }
                if best > 0 { ranks[best - 1] = pairValue(best - 1) }
                if n == 1 { break }
            }
        }
        var out: [Token] = []
        out.reserveCapacity(n)
        for i in 0..<n { out.append(Token(id: Int(ids[i]), start: Int(starts[i]), end: Int(ends[i]))) }
        return out
    }

    convenience init(json f: JSONField) throws {
        let vocab = try vocabulary(fromMap: try f.field("vocab"))
        var merges: [(String, String)] = []
        for (i, m) in try f.array("merges").enumerated() {
            switch m.value {
            case .string(let s):
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.invalidField(path: "\(f.path).merges[\(i)]", reason: "expected \"left right\"") }
                merges.append((String(parts[0]), String(parts[1])))
            case .array(let a) where a.count == 2:
                guard case .string(let l) = a[0], case .string(let r) = a[1] else {
                    throw TokenizerError.invalidField(path: "\(f.path).merges[\(i)]", reason: "expected two strings")
                }
                merges.append((l, r))
            default: throw TokenizerError.invalidField(path: "\(f.path).merges[\(i)]", reason: "expected \"left right\" or [left, right]")
            }
        }
        let unk = try f.optionalString("unk_token")
        if let unk, vocab.id(unk) == nil {
            throw TokenizerError.invalidField(path: f.sub("unk_token"), reason: "'\(unk)' is not in the vocabulary; add it to model.vocab, or set unk_token to null")
        }
        try self.init(vocab: vocab, merges: merges, unkToken: unk,
                      continuingSubwordPrefix: try f.optionalString("continuing_subword_prefix"),
                      endOfWordSuffix: try f.optionalString("end_of_word_suffix"), fuseUnk: try f.bool("fuse_unk", default: false),
                      byteFallback: try f.bool("byte_fallback", default: false), ignoreMerges: try f.bool("ignore_merges", default: false),
                      dropout: try f.optionalDouble("dropout"))
    }

    var json: JSONValue {
        .object([("type", .string("BPE")), ("dropout", dropout.map { .number($0) } ?? .null), ("unk_token", unkToken.map { .string($0) } ?? .null),
                 ("continuing_subword_prefix", continuingSubwordPrefix.map { .string($0) } ?? .null),
                 ("end_of_word_suffix", endOfWordSuffix.map { .string($0) } ?? .null), ("fuse_unk", .bool(fuseUnk)),
                 ("byte_fallback", .bool(byteFallback)), ("ignore_merges", .bool(ignoreMerges)), ("vocab", vocabularyJSON(vocab)),
                 ("merges", .array(merges.map { .array([.string($0.0), .string($0.1)]) }))])
    }
}

/// `UInt64 → UInt64` open-addressing map (merge table).
struct IntTable64: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private var mask: Int
    private var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        keys = [UInt64](repeating: IntTable64.empty, count: c)
        values = [UInt64](repeating: 0, count: c)
        mask = c - 1
    }

    var storage: ([UInt64], [UInt64]) { (keys, values) }

    @inline(__always) func get(_ k: UInt64) -> UInt64? {
        var i = IntTable.hash(k) & mask
        while true {
            let x = keys[i]
            if x == k { return values[i] }
            if x == IntTable64.empty { return nil }
            i = (i + 1) & mask
        }
    }

    mutating func set(_ k: UInt64, _ v: UInt64) {
        if (count + 1) * 2 > keys.count {
            let oldK = keys, oldV = values
            keys = [UInt64](repeating: IntTable64.empty, count: oldK.count * 2)
            values = [UInt64](repeating: 0, count: oldK.count * 2)
            mask = keys.count - 1
            count = 0
            for i in 0..<oldK.count where oldK[i] != IntTable64.empty { set(oldK[i], oldV[i]) }
        }
        var i = IntTable.hash(k) & mask
        while true {
            if keys[i] == k { values[i] = v; return }
            if keys[i] == IntTable64.empty { keys[i] = k; values[i] = v; count += 1; return }
            i = (i + 1) & mask
        }
    }
}

/// A thread-safe word → tokens cache, sharded to limit lock contention; each shard is bounded.
final class WordCache: @unchecked Sendable {
    private struct Key: Hashable {
        let s: [UInt32]
    }
    private let shards = 16
    private var maps: [[Key: [Token]]]
    private let locks: [NSLock]
    private let capacityPerShard = 8192

    init() {
        maps = Array(repeating: [:], count: shards)
        locks = (0..<shards).map { _ in NSLock() }
    }

    @inline(__always) private func shard(_ s: [UInt32]) -> Int {
        var h: UInt32 = 2166136261
        for c in s.prefix(8) { h = (h ^ c) &* 16777619 }
        return Int(h % UInt32(shards))
    }

    func get(_ s: [UInt32]) -> [Token]? {
        if s.count > 64 { return nil }
        let k = shard(s)
        locks[k].lock(); defer { locks[k].unlock() }
        return maps[k][Key(s: s)]
    }

    func set(_ s: [UInt32], _ t: [Token]) {
        if s.count > 64 { return }
        let k = shard(s)
        locks[k].lock(); defer { locks[k].unlock() }
        if maps[k].count >= capacityPerShard { return }
        maps[k][Key(s: s)] = t
    }
}
