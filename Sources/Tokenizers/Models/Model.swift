/// An open-addressing hash map from `UInt64` to `Int32` (no Swift `String` keys, no hashing seeds).
struct IntTable: Sendable {
    private(set) var keys: [UInt64]
    private(set) var values: [Int32]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int = 16) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        keys = [UInt64](repeating: IntTable.empty, count: c)
        values = [Int32](repeating: -1, count: c)
        mask = c - 1
    }

    @inline(__always) static func hash(_ k: UInt64) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 20)
    }

    @inline(__always) func get(_ k: UInt64) -> Int32 {
        var i = IntTable.hash(k) & mask
        return keys.withUnsafeBufferPointer { kp in
            while true {
                let x = kp[i]
                if x == k { return values[i] }
                if x == IntTable.empty { return -1 }
                i = (i + 1) & mask
            }
        }
    }

    mutating func set(_ k: UInt64, _ v: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = IntTable.hash(k) & mask
        while true {
            if keys[i] == k { values[i] = v; return }
            if keys[i] == IntTable.empty { keys[i] = k; values[i] = v; count += 1; return }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldK = keys, oldV = values
        keys = [UInt64](repeating: IntTable.empty, count: oldK.count * 2)
        values = [Int32](repeating: -1, count: oldK.count * 2)
        mask = keys.count - 1
        count = 0
        for i in 0..<oldK.count where oldK[i] != IntTable.empty { set(oldK[i], oldV[i]) }
    }
}

/// A trie over Unicode scalar values; node 0 is the root. Keys are scalar sequences, so
/// canonically equivalent but different tokens stay distinct.
struct ScalarTrie: Sendable {
    var edges = IntTable(capacity: 1024)
    /// Value stored at each node (-1: none).
    var values: [Int32] = [-1]

    @inline(__always) func child(_ node: Int32, _ c: UInt32) -> Int32 {
        edges.get(UInt64(UInt32(bitPattern: node)) << 32 | UInt64(c))
    }

    /// Node reached by `s` from `node`, -1 if none.
    func walk(_ s: some Sequence<UInt32>, from node: Int32 = 0) -> Int32 {
        var n = node
        for c in s {
            n = child(n, c)
            if n < 0 { return -1 }
        }
        return n
    }

    /// Value for `s`, -1 if absent.
    func get(_ s: some Sequence<UInt32>) -> Int32 {
        let n = walk(s)
        return n < 0 ? -1 : values[Int(n)]
    }

    /// Inserts `s` with `value` unless `keepExisting` and a value is already there.
    mutating func insert(_ s: some Sequence<UInt32>, _ value: Int32, keepExisting: Bool = false) {
        var n: Int32 = 0
        for c in s {
            let k = UInt64(UInt32(bitPattern: n)) << 32 | UInt64(c)
            var next = edges.get(k)
            if next < 0 {
                next = Int32(values.count)
                values.append(-1)
                edges.set(k, next)
            }
            n = next
        }
        if keepExisting && values[Int(n)] >= 0 { return }
        values[Int(n)] = value
    }
}

/// Immutable copy of a `ScalarTrie` in manually managed memory, read through a trivial struct of
/// pointers so hot loops on several threads do no reference counting.
final class TrieStorage: @unchecked Sendable {
    let keys: UnsafeMutablePointer<UInt64>
    let children: UnsafeMutablePointer<Int32>
    let values: UnsafeMutablePointer<Int32>
    let mask: Int
    let nodeCount: Int

    init(_ t: ScalarTrie) {
        let n = t.edges.keys.count
        keys = .allocate(capacity: n)
        children = .allocate(capacity: n)
        keys.initialize(from: t.edges.keys, count: n)
        children.initialize(from: t.edges.values, count: n)
        mask = n - 1
        nodeCount = t.values.count
        values = .allocate(capacity: max(1, nodeCount))
        values.initialize(from: t.values, count: nodeCount)
    }

    deinit {
        keys.deallocate(); children.deallocate(); values.deallocate()
    }

    var frozen: FrozenTrie { FrozenTrie(keys: keys, children: children, values: values, mask: mask) }
}

/// Pointer view of a `TrieStorage` (valid while its storage lives).
struct FrozenTrie: @unchecked Sendable {
    let keys: UnsafeMutablePointer<UInt64>
    let children: UnsafeMutablePointer<Int32>
    let values: UnsafeMutablePointer<Int32>
    let mask: Int

    @inline(__always) func child(_ node: Int32, _ c: UInt32) -> Int32 {
        let k = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(c)
        var i = IntTable.hash(k) & mask
        while true {
            let x = keys[i]
            if x == k { return children[i] }
            if x == UInt64.max { return -1 }
            i = (i + 1) & mask
        }
    }
    @inline(__always) func value(_ node: Int32) -> Int32 { values[Int(node)] }
}

/// A vocabulary: id ↔ token, keyed by Unicode scalars (never by Swift `String` equality).
public struct Vocabulary: Sendable {
    /// Token strings by id (exact scalars).
    public let tokens: [String]
    let trie: ScalarTrie
    let storage: TrieStorage
    /// Reference-count-free view of `trie` for hot loops.
    let fast: FrozenTrie

    /// Builds from tokens in id order; ids are array indices. Later duplicates are ignored for lookup.
    public init(tokens: [String]) {
        self.tokens = tokens
        var t = ScalarTrie()
        for (i, tok) in tokens.enumerated() { t.insert(tok.unicodeScalars.lazy.map(\.value), Int32(i), keepExisting: true) }
        trie = t
        storage = TrieStorage(t)
        fast = storage.frozen
    }

    /// Number of ids.
    public var count: Int { tokens.count }

    /// Id of `token` (scalar-exact), or nil.
    public func id(_ token: String) -> Int? {
        let v = trie.get(token.unicodeScalars.lazy.map(\.value))
        return v < 0 ? nil : Int(v)
    }

    /// Id of a one-scalar token (reference-count-free path).
    @inline(__always) func id(scalar c: UInt32) -> Int? {
        let n = fast.child(0, c)
        if n < 0 { return nil }
        let v = fast.value(n)
        return v < 0 ? nil : Int(v)
    }

    /// Id of a token given as scalars.
    func id(scalars: some Sequence<UInt32>) -> Int? {
        let v = trie.get(scalars)
        return v < 0 ? nil : Int(v)
    }

    /// Token for `id`, or nil.
    public func token(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
}

/// Reads a `{token: id}` JSON object into a dense vocabulary, checking ids.
func vocabulary(fromMap f: JSONField) throws -> Vocabulary {
    guard case .object(let pairs) = f.value else { throw TokenizerError.invalidField(path: f.path, reason: "expected an object {token: id}") }
    var maxID = -1
    var entries: [(String, Int)] = []
    entries.reserveCapacity(pairs.count)
    for (k, v) in pairs {
        guard case .number(let d) = v, d >= 0, d == d.rounded(), d < 1e9 else {
            throw TokenizerError.invalidField(path: f.path + "." + k, reason: "expected a non-negative integer id")
        }
        entries.append((k, Int(d)))
        maxID = max(maxID, Int(d))
    }
    // Ids must be 0..<count: checked before the table is allocated (one id near 10⁹ would ask for gigabytes).
    if maxID >= entries.count {
        throw TokenizerError.invalidField(path: f.path, reason: "id \(maxID) with only \(entries.count) tokens; ids must be 0..<\(entries.count)")
    }
    var tokens = [String](repeating: "", count: maxID + 1)
    var seen = [Bool](repeating: false, count: maxID + 1)
    for (k, id) in entries {
        if seen[id] { throw TokenizerError.invalidField(path: f.path + "." + k, reason: "id \(id) is used twice") }
        tokens[id] = k; seen[id] = true
    }
    if let hole = seen.firstIndex(of: false) { throw TokenizerError.invalidField(path: f.path, reason: "no token has id \(hole); ids must be 0..<\(maxID + 1)") }
    return Vocabulary(tokens: tokens)
}

func vocabularyJSON(_ v: Vocabulary) -> JSONValue {
    .object(v.tokens.enumerated().map { ($0.element, .number(Double($0.offset))) })
}

/// The model of a tokenizer (tokenizer.json `model`).
public enum Model: Sendable {
    case wordPiece(WordPiece)
    case bpe(BPE)
    case unigram(Unigram)

    /// Tokenizes one pre-tokenized word (normalized scalars).
    public func tokenize(_ s: [UInt32]) -> [Token] {
        switch self {
        case .wordPiece(let m): return m.tokenize(s)
        case .bpe(let m): return m.tokenize(s)
        case .unigram(let m): return m.tokenize(s)
        }
    }

    /// The model's vocabulary.
    public var vocabulary: Vocabulary {
        switch self {
        case .wordPiece(let m): return m.vocab
        case .bpe(let m): return m.vocab
        case .unigram(let m): return m.vocab
        }
    }

    init(json f: JSONField) throws {
        // The type field is optional in old files: infer it.
        let type = try f.optionalString("type") ?? (f.value["merges"] != nil ? "BPE" : f.value["max_input_chars_per_word"] != nil ? "WordPiece" : "Unigram")
        switch type {
        case "WordPiece": self = .wordPiece(try WordPiece(json: f))
        case "BPE": self = .bpe(try BPE(json: f))
        case "Unigram": self = .unigram(try Unigram(json: f))
        default: throw TokenizerError.unknownComponent(path: f.path + ".type", type: type)
        }
    }

    var json: JSONValue {
        switch self {
        case .wordPiece(let m): return m.json
        case .bpe(let m): return m.json
        case .unigram(let m): return m.json
        }
    }
}
