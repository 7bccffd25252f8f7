/// A token produced by a model: id, range in its split's normalized scalars, and an optional
/// value when it differs from the vocabulary string (Unigram unknown pieces).
public struct Token: Sendable {
    /// Token id.
    public var id: Int
    /// Start in the split (normalized scalar index).
    public var start: Int
    /// End in the split (normalized scalar index).
    public var end: Int
    /// Token string when it is not the vocabulary entry.
    public var value: String?
    /// Creates a token.
    public init(id: Int, start: Int, end: Int, value: String? = nil) {
        self.id = id; self.start = start; self.end = end; self.value = value
    }
}

/// Text cut into splits (words); each split is normalized text, already tokenized (added
/// tokens) or waiting for the model.
public struct PreTokenizedString: Sendable {
    /// One piece of the text.
    public struct Split: Sendable {
        /// The split's text.
        public var normalized: NormalizedString
        /// Tokens, once known (added tokens, or after the model).
        public var tokens: [Token]?
    }
    /// The splits, in text order.
    public var splits: [Split]

    /// Splits every untokenized split with `f`, which may transform the string and returns the
    /// ranges of the new pieces. Empty pieces are dropped.
    mutating func split(_ f: (inout NormalizedString) throws -> [Range<Int>]) rethrows {
        var out: [Split] = []
        out.reserveCapacity(splits.count * 2)
        for var s in splits {
            if s.tokens != nil { out.append(s); continue }
            let ranges = try f(&s.normalized)
            if ranges.count == 1, ranges[0] == 0..<s.normalized.count {
                if !s.normalized.isEmpty { out.append(s) }
                continue
            }
            for r in ranges where !r.isEmpty { out.append(Split(normalized: s.normalized.slice(r), tokens: nil)) }
        }
        splits = out
    }
}

/// How a delimiter is kept when splitting (tokenizer.json `behavior`).
public enum SplitDelimiterBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// Pieces of `0..<count` after splitting at `matches` (sorted, non-overlapping) with `behavior`.
func splitRanges(count: Int, matches: [Range<Int>], behavior: SplitDelimiterBehavior, invert: Bool = false) -> [Range<Int>] {
    // Full cover with flags.
    var pieces: [(Range<Int>, Bool)] = []
    var pos = 0
    for m in matches {
        if pos < m.lowerBound { pieces.append((pos..<m.lowerBound, invert)) }
        pieces.append((m, !invert))
        pos = m.upperBound
    }
    if pos < count { pieces.append((pos..<count, invert)) }
    switch behavior {
    case .removed: return pieces.filter { !$0.1 }.map(\.0)
    case .isolated: return pieces.map(\.0)
    case .mergedWithPrevious:
        var acc: [Range<Int>] = []
        var prevMatch = false
        for (r, isMatch) in pieces {
            if isMatch && !prevMatch, let last = acc.last { acc[acc.count - 1] = last.lowerBound..<r.upperBound } else { acc.append(r) }
            prevMatch = isMatch
        }
        return acc
    case .mergedWithNext:
        var acc: [Range<Int>] = []
        var prevMatch = false
        for (r, isMatch) in pieces.reversed() {
            if isMatch && !prevMatch, let last = acc.last { acc[acc.count - 1] = r.lowerBound..<last.upperBound } else { acc.append(r) }
            prevMatch = isMatch
        }
        return acc.reversed()
    case .contiguous:
        var acc: [Range<Int>] = []
        var prevMatch = false
        for (r, isMatch) in pieces {
            if isMatch == prevMatch, let last = acc.last { acc[acc.count - 1] = last.lowerBound..<r.upperBound } else { acc.append(r) }
            prevMatch = isMatch
        }
        return acc
    }
}

/// Matches of a per-scalar predicate: every matching scalar is its own match.
func charMatches(_ s: [UInt32], _ pred: (UInt32) -> Bool) -> [Range<Int>] {
    var out: [Range<Int>] = []
    for i in 0..<s.count where pred(s[i]) { out.append(i..<(i + 1)) }
    return out
}

/// When a Metaspace pre-tokenizer/decoder adds the replacement in front of a word.
public enum PrependScheme: String, Sendable {
    case always, first, never
}

/// A pre-tokenizer (tokenizer.json `pre_tokenizer`): cuts normalized text into words.
public indirect enum PreTokenizer: Sendable {
    /// BERT: split on whitespace (removed) and punctuation (isolated).
    case bert
    /// GPT-2 byte level: optional prefix space, GPT-2 regex split, bytes mapped to unicode.
    case byteLevel(addPrefixSpace: Bool, trimOffsets: Bool, useRegex: Bool)
    /// `\w+|[^\w\s]+`.
    case whitespace
    /// Split on whitespace.
    case whitespaceSplit
    /// SentencePiece metaspace: spaces become the replacement, optionally prepended, split before it.
    case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    /// Split on a pattern.
    case split(pattern: Pattern, behavior: SplitDelimiterBehavior, invert: Bool)
    /// Split on punctuation.
    case punctuation(SplitDelimiterBehavior)
    /// Split digits, individually or as runs.
    case digits(individualDigits: Bool)
    /// Split on one character (removed).
    case charDelimiterSplit(UInt32)
    /// Apply in order.
    case sequence([PreTokenizer])

    /// Pre-tokenizes in place.
    public func preTokenize(_ p: inout PreTokenizedString) throws {
        switch self {
        case .bert:
            p.split { s in bertSplit(s.scalars) }
        case let .byteLevel(addPrefixSpace, _, useRegex):
            p.split { s in
                if addPrefixSpace, s.scalars.first != 32 { s.prepend([32]) }
                return useRegex ? gpt2Split(s.scalars) : [0..<s.count]
            }
            for i in p.splits.indices where p.splits[i].tokens == nil {
                byteLevelEncode(&p.splits[i].normalized)
            }
        case .whitespace:
            p.split { s in
                var out: [Range<Int>] = []
                var i = 0
                let c = s.scalars
                while i < c.count {
                    if isWhitespace(c[i]) { i += 1; continue }
                    let w = isWordCharacter(c[i])
                    var j = i + 1
                    while j < c.count, !isWhitespace(c[j]), isWordCharacter(c[j]) == w { j += 1 }
                    out.append(i..<j)
                    i = j
                }
                return out
            }
        case .whitespaceSplit:
            p.split { s in splitRanges(count: s.count, matches: charMatches(s.scalars, isWhitespace), behavior: .removed) }
        case let .metaspace(rep, scheme, split):
            p.split { s in
                for i in 0..<s.scalars.count where s.scalars[i] == 32 { s.scalars[i] = rep }
                switch scheme {
                case .always: if s.scalars.first != rep { s.prepend([rep]) }
                case .first: if s.scalars.first != rep, s.starts.first == 0 { s.prepend([rep]) }
                case .never: break
                }
                if !split { return [0..<s.count] }
                return splitRanges(count: s.count, matches: charMatches(s.scalars) { $0 == rep }, behavior: .mergedWithNext)
            }
        case let .split(pattern, behavior, invert):
            try p.split { s in splitRanges(count: s.count, matches: try pattern.matches(in: s.scalars), behavior: behavior, invert: invert) }
        case .punctuation(let behavior):
            p.split { s in splitRanges(count: s.count, matches: charMatches(s.scalars, isBertPunctuation), behavior: behavior) }
        case .digits(let individual):
            p.split { s in
                splitRanges(count: s.count, matches: charMatches(s.scalars, isNumericChar), behavior: individual ? .isolated : .contiguous)
            }
        case .charDelimiterSplit(let d):
            p.split { s in splitRanges(count: s.count, matches: charMatches(s.scalars) { $0 == d }, behavior: .removed) }
        case .sequence(let list):
            for t in list { try t.preTokenize(&p) }
        }
    }

    /// True when this (or a sequence member) is ByteLevel; returns its settings.
    var byteLevelSettings: (addPrefixSpace: Bool, trimOffsets: Bool)? {
        switch self {
        case let .byteLevel(a, t, _): return (a, t)
        case .sequence(let l): return l.lazy.compactMap(\.byteLevelSettings).first
        default: return nil
        }
    }
}

@inline(__always) func isNumericChar(_ c: UInt32) -> Bool {
    if c < 128 { return c >= 48 && c <= 57 }
    return UnicodeFlags.flags(c) & UnicodeFlags.number != 0
}

/// BERT pre-tokenization: whitespace removed, each punctuation scalar isolated.
func bertSplit(_ c: [UInt32]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    out.reserveCapacity(c.count / 4 + 1)
    var start = -1
    for i in 0..<c.count {
        let x = c[i]
        if isWhitespace(x) {
            if start >= 0 { out.append(start..<i); start = -1 }
        } else if isBertPunctuation(x) {
            if start >= 0 { out.append(start..<i); start = -1 }
            out.append(i..<(i + 1))
        } else if start < 0 {
            start = i
        }
    }
    if start >= 0 { out.append(start..<c.count) }
    return out
}

/// The GPT-2 pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// hand-compiled over scalars.
func gpt2Split(_ c: [UInt32]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    out.reserveCapacity(c.count / 4 + 1)
    let n = c.count
    var i = 0
    @inline(__always) func cls(_ x: UInt32) -> Int {  // 0 letter, 1 number, 2 whitespace, 3 other
        if x < 128 {
            if (x >= 97 && x <= 122) || (x >= 65 && x <= 90) { return 0 }
            if x >= 48 && x <= 57 { return 1 }
            if x == 32 || (x >= 9 && x <= 13) { return 2 }
            return 3
        }
        let f = UnicodeFlags.flags(x)
        if f & UnicodeFlags.letter != 0 { return 0 }
        if f & UnicodeFlags.number != 0 { return 1 }
        if f & UnicodeFlags.whitespace != 0 { return 2 }
        return 3
    }
    while i < n {
        let x = c[i]
        if x == 39, i + 1 < n {  // apostrophe contractions
            let a = c[i + 1]
            if a == 115 || a == 116 || a == 109 || a == 100 { out.append(i..<(i + 2)); i += 2; continue }  // s t m d
            if i + 2 < n {
                let b = c[i + 2]
                if (a == 114 && b == 101) || (a == 118 && b == 101) || (a == 108 && b == 108) { out.append(i..<(i + 3)); i += 3; continue }
            }
        }
        var j = i
        var k = cls(x)
        if x == 32, i + 1 < n {
            let k2 = cls(c[i + 1])
            if k2 != 2 { j = i + 1; k = k2 }
        }
        if k == 2 {
            var e = i + 1
            while e < n, cls(c[e]) == 2 { e += 1 }
            if e < n && e - i > 1 { e -= 1 }
            out.append(i..<e)
            i = e
            continue
        }
        var e = j + 1
        while e < n, cls(c[e]) == k { e += 1 }
        out.append(i..<e)
        i = e
    }
    return out
}

/// GPT-2's byte → unicode table: printable bytes map to themselves, the rest to 256+.
public let byteToUnicode: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 256)
    var n: UInt32 = 0
    for b in 0..<256 {
        if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) { t[b] = UInt32(b) }
        else { t[b] = 256 + n; n += 1 }
    }
    return t
}()

/// `byteToUnicode` in raw memory (never freed) for per-character loops.
nonisolated(unsafe) let byteToUnicodeTable: UnsafeMutablePointer<UInt32> = {
    let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
    p.initialize(from: byteToUnicode, count: 256)
    return p
}()

/// Inverse of `byteToUnicode` (indexed by scalar value < 324; -1 where none).
let unicodeToByte: [Int16] = {
    var t = [Int16](repeating: -1, count: 512)
    for b in 0..<256 { t[Int(byteToUnicode[b])] = Int16(b) }
    return t
}()

/// Replaces each scalar by its UTF-8 bytes mapped through `byteToUnicode`, keeping alignment.
func byteLevelEncode(_ s: inout NormalizedString) {
    let byteToUnicode = byteToUnicodeTable
    if s.scalars.allSatisfy({ $0 < 0x80 }) {
        for i in 0..<s.scalars.count { s.scalars[i] = byteToUnicode[Int(s.scalars[i])] }
        return
    }
    s.map { c, out in
        if c < 0x80 { out.append(byteToUnicode[Int(c)]) }
        else if c < 0x800 {
            out.append(byteToUnicode[Int(0xC0 | (c >> 6))]); out.append(byteToUnicode[Int(0x80 | (c & 0x3F))])
        } else if c < 0x10000 {
            out.append(byteToUnicode[Int(0xE0 | (c >> 12))]); out.append(byteToUnicode[Int(0x80 | ((c >> 6) & 0x3F))])
            out.append(byteToUnicode[Int(0x80 | (c & 0x3F))])
        } else {
            out.append(byteToUnicode[Int(0xF0 | (c >> 18))]); out.append(byteToUnicode[Int(0x80 | ((c >> 12) & 0x3F))])
            out.append(byteToUnicode[Int(0x80 | ((c >> 6) & 0x3F))]); out.append(byteToUnicode[Int(0x80 | (c & 0x3F))])
        }
    }
}

extension PreTokenizer {
    init(json f: JSONField) throws {
        let type = try f.string("type")
        switch type {
        case "BertPreTokenizer": self = .bert
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try f.bool("add_prefix_space", default: true), trimOffsets: try f.bool("trim_offsets", default: true),
                              useRegex: try f.bool("use_regex", default: true))
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Metaspace":
            let rep = try f.string("replacement", default: "▁").unicodeScalars
            guard rep.count == 1, let r = rep.first else { throw TokenizerError.invalidField(path: f.path + ".replacement", reason: "must be one character") }
            var scheme = PrependScheme.always
            if let s = try f.optionalString("prepend_scheme") {
                guard let p = PrependScheme(rawValue: s) else { throw TokenizerError.invalidField(path: f.path + ".prepend_scheme", reason: "expected always, first or never") }
                scheme = p
            } else if let add = try f.optionalBool("add_prefix_space") { scheme = add ? .always : .never }
            self = .metaspace(replacement: r.value, prependScheme: scheme, split: try f.bool("split", default: true))
        case "Split":
            let b = try f.string("behavior")
            guard let behavior = SplitDelimiterBehavior(rawValue: b) else { throw TokenizerError.invalidField(path: f.path + ".behavior", reason: "unknown behavior '\(b)'") }
            self = .split(pattern: try Pattern(json: try f.field("pattern")), behavior: behavior, invert: try f.bool("invert", default: false))
        case "Punctuation":
            let b = try f.string("behavior", default: "Isolated")
            guard let behavior = SplitDelimiterBehavior(rawValue: b) else { throw TokenizerError.invalidField(path: f.path + ".behavior", reason: "unknown behavior '\(b)'") }
            self = .punctuation(behavior)
        case "Digits": self = .digits(individualDigits: try f.bool("individual_digits", default: false))
        case "CharDelimiterSplit":
            let d = try f.string("delimiter").unicodeScalars
            guard d.count == 1, let c = d.first else { throw TokenizerError.invalidField(path: f.path + ".delimiter", reason: "must be one character") }
            self = .charDelimiterSplit(c.value)
        case "Sequence": self = .sequence(try f.array("pretokenizers").map { try PreTokenizer(json: $0) })
        default: throw TokenizerError.unknownComponent(path: f.path + ".type", type: type)
        }
    }

    var json: JSONValue {
        switch self {
        case .bert: return .object([("type", .string("BertPreTokenizer"))])
        case let .byteLevel(a, t, u):
            return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(a)), ("trim_offsets", .bool(t)), ("use_regex", .bool(u))])
        case .whitespace: return .object([("type", .string("Whitespace"))])
        case .whitespaceSplit: return .object([("type", .string("WhitespaceSplit"))])
        case let .metaspace(r, s, sp):
            return .object([("type", .string("Metaspace")), ("replacement", .string(scalarsToString([r][...]))),
                            ("prepend_scheme", .string(s.rawValue)), ("split", .bool(sp))])
        case let .split(p, b, i):
            return .object([("type", .string("Split")), ("pattern", p.json), ("behavior", .string(b.rawValue)), ("invert", .bool(i))])
        case .punctuation(let b): return .object([("type", .string("Punctuation")), ("behavior", .string(b.rawValue))])
        case .digits(let i): return .object([("type", .string("Digits")), ("individual_digits", .bool(i))])
        case .charDelimiterSplit(let d): return .object([("type", .string("CharDelimiterSplit")), ("delimiter", .string(scalarsToString([d][...])))])
        case .sequence(let l): return .object([("type", .string("Sequence")), ("pretokenizers", .array(l.map(\.json)))])
        }
    }
}
