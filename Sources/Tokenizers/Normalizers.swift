import Foundation

/// A pattern used by `Replace` normalizers and `Split` pre-tokenizers: a literal string or a
/// regular expression (tokenizer.json `{"String": …}` / `{"Regex": …}`).
public enum Pattern: Sendable {
    case string(String)
    case regex(String)

    /// Seconds a regular expression may search a text of `length` UTF-16 units before the search
    /// is stopped as runaway backtracking: 1 s plus 20 µs a unit — about 400× what the GPT-2
    /// split pattern needs (measured 0.1 µs a unit with ICU), so no sane pattern meets it.
    static func regexTimeBudget(length: Int) -> Double { 1 + 20e-6 * Double(length) }

    /// Non-overlapping matches in `scalars`, as scalar index ranges, left to right.
    ///
    /// Regular expressions run on ICU (through `NSRegularExpression`), a backtracking matcher, as
    /// Hugging Face's Oniguruma is: a pattern such as `(a+)+$` takes exponential time on some
    /// texts. The search reports progress as it runs and is stopped past
    /// ``regexTimeBudget(length:)``, a `TokenizerError.regexTooSlow` instead of a hang.
    func matches(in scalars: [UInt32]) throws -> [Range<Int>] {
        switch self {
        case .string(let s):
            let p = stringScalars(s)
            guard !p.isEmpty, scalars.count >= p.count else { return [] }
            var out: [Range<Int>] = []
            var i = 0
            while i + p.count <= scalars.count {
                if scalars[i] == p[0] && scalars[i..<(i + p.count)].elementsEqual(p) {
                    out.append(i..<(i + p.count)); i += p.count
                } else { i += 1 }
            }
            return out
        case .regex(let r):
            guard let re = RegexCache.shared.regex(r) else { return [] }
            let text = scalarsToString(scalars[...])
            let ns = text as NSString
            // Map UTF-16 offsets to scalar offsets.
            var u16ToScalar = [Int](repeating: 0, count: ns.length + 1)
            var u = 0
            for (k, c) in scalars.enumerated() {
                let w = c >= 0x10000 ? 2 : 1
                for d in 0..<w where u + d <= ns.length { u16ToScalar[u + d] = k }
                u += w
            }
            if u <= ns.length { u16ToScalar[min(u, ns.length)] = scalars.count }
            var out: [Range<Int>] = []
            var ranOut = false
            let budget = Pattern.regexTimeBudget(length: ns.length)
            let start = DispatchTime.now().uptimeNanoseconds
            re.enumerateMatches(in: text, options: [.reportProgress], range: NSRange(location: 0, length: ns.length)) { m, _, stop in
                guard let m else {
                    if Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 > budget { ranOut = true; stop.pointee = true }
                    return
                }
                let lo = u16ToScalar[m.range.location], hi = u16ToScalar[m.range.location + m.range.length]
                if lo < hi { out.append(lo..<hi) }
            }
            if ranOut { throw TokenizerError.regexTooSlow(pattern: r, length: scalars.count, seconds: budget) }
            return out
        }
    }

    var json: JSONValue {
        switch self {
        case .string(let s): return .object([("String", .string(s))])
        case .regex(let r): return .object([("Regex", .string(r))])
        }
    }

    init(json f: JSONField) throws {
        if let s = try f.optionalString("String") { self = .string(s) }
        else if let r = try f.optionalString("Regex") {
            guard RegexCache.shared.regex(r) != nil else { throw TokenizerError.invalidField(path: f.path + ".Regex", reason: "invalid regular expression '\(r)'") }
            self = .regex(r)
        } else { throw TokenizerError.invalidField(path: f.path, reason: "expected {\"String\": …} or {\"Regex\": …}") }
    }
}

/// Compiled regular expressions, shared across threads.
final class RegexCache: @unchecked Sendable {
    static let shared = RegexCache()
    private var cache: [String: NSRegularExpression] = [:]
    private let lock = NSLock()
    func regex(_ pattern: String) -> NSRegularExpression? {
        lock.lock(); defer { lock.unlock() }
        if let r = cache[pattern] { return r }
        guard let r = try? NSRegularExpression(pattern: pattern, options: []) else { return nil }
        cache[pattern] = r
        return r
    }
}

/// A normalizer (tokenizer.json `normalizer`): rewrites text while keeping alignments.
public indirect enum Normalizer: Sendable {
    /// BERT: clean text, CJK spacing, strip accents (NFD then drop Mn; defaults to `lowercase`), lowercase.
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
    /// A Unicode normalization form.
    case unicode(NormalizationForm)
    /// Full Unicode lowercase mapping per scalar.
    case lowercase
    /// Removes combining marks (Mn, Mc, Me).
    case stripAccents
    /// Removes leading/trailing whitespace.
    case strip(left: Bool, right: Bool)
    /// Replaces a pattern by a string.
    case replace(Pattern, String)
    /// Prepends a string to non-empty text.
    case prepend(String)
    /// SentencePiece's precompiled character map.
    case precompiled(PrecompiledCharsmap)
    /// SentencePiece NMT cleanup: drops some controls, maps tabs/newlines/zero-width etc. to spaces.
    case nmt
    /// Applies normalizers in order.
    case sequence([Normalizer])

    /// The most scalars normalization may make of a text of `count` scalars: 64× plus 4096.
    /// Legitimate rules grow a text a few times at most (NFKD 18× for the longest decomposition,
    /// BERT's CJK spacing 3×); a chain of `Replace` rules that each multiply it would otherwise
    /// grow it without bound.
    public static func lengthLimit(forInput count: Int) -> Int { 64 * count + 4096 }

    /// Normalizes `s` in place; a result longer than ``lengthLimit(forInput:)`` is a
    /// `TokenizerError.normalizedTooLong`, found before the step that would make it allocates.
    public func normalize(_ s: inout NormalizedString) throws {
        try normalize(&s, limit: Normalizer.lengthLimit(forInput: s.count), input: s.count)
    }

    private func normalize(_ s: inout NormalizedString, limit: Int, input: Int) throws {
        func check(_ grown: Int) throws {
            if grown > limit { throw TokenizerError.normalizedTooLong(input: input, length: grown, limit: limit) }
        }
        switch self {
        case let .bert(clean, chinese, strip, lower):
            if clean {
                s.filter { c in !(c == 0 || c == 0xFFFD || isBertControl(c)) }
                for i in 0..<s.scalars.count where isBertWhitespace(s.scalars[i]) { s.scalars[i] = 32 }
            }
            if chinese, s.scalars.contains(where: { $0 >= 0x3400 && isChineseChar($0) }) {
                s.map { c, out in
                    if isChineseChar(c) { out.append(32); out.append(c); out.append(32) } else { out.append(c) }
                }
            }
            if strip ?? lower {
                s.normalize(.nfd)
                s.filter { c in c < 0x300 || UnicodeFlags.flags(c) & UnicodeFlags.nonspacingMark == 0 }
            }
            if lower { applyLowercase(&s) }
        case .unicode(let form):
            s.normalize(form)
        case .lowercase:
            applyLowercase(&s)
        case .stripAccents:
            // Hugging Face's StripAccents drops every combining mark (Mn, Mc, Me); BERT's drops Mn only.
            s.filter { c in c < 0x300 || UnicodeFlags.flags(c) & UnicodeFlags.mark == 0 }
        case let .strip(left, right):
            s.strip(left: left, right: right, isWhitespace)
        case let .replace(pattern, content):
            let rep = stringScalars(content)
            let ms = try pattern.matches(in: s.scalars)
            guard !ms.isEmpty else { return }
            try check(s.count + ms.reduce(0) { $0 + rep.count - $1.count })
            // Each replacement scalar aligns with the last scalar of its match, as in Hugging Face.
            let old = s
            s.rebuild { b in
                var i = 0
                for m in ms {
                    while i < m.lowerBound { b.append(old.scalars[i], old.starts[i], old.ends[i]); i += 1 }
                    for c in rep { b.append(c, old.starts[m.upperBound - 1], old.ends[m.upperBound - 1]) }
                    i = m.upperBound
                }
                while i < old.scalars.count { b.append(old.scalars[i], old.starts[i], old.ends[i]); i += 1 }
            }
        case .prepend(let p):
            let scalars = stringScalars(p)
            try check(s.count + scalars.count)
            s.prepend(scalars)
        case .precompiled(let map):
            map.normalize(&s)
        case .nmt:
            s.filter { c in
                !((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F)
            }
            for i in 0..<s.scalars.count {
                switch s.scalars[i] {
                case 0x9, 0xA, 0xC, 0xD, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD: s.scalars[i] = 32
                default: break
                }
            }
        case .sequence(let list):
            for n in list { try n.normalize(&s, limit: limit, input: input) }
        }
        try check(s.count)
    }

    /// Normalizes a plain string.
    public func normalize(_ text: String) throws -> String {
        var s = NormalizedString(text)
        try normalize(&s)
        return s.string
    }
}

@inline(__always) func isBertControl(_ c: UInt32) -> Bool {
    if c == 9 || c == 10 || c == 13 { return false }
    if c < 32 || c == 127 { return true }
    if c < 0x80 { return false }
    return UnicodeFlags.flags(c) & UnicodeFlags.other != 0
}
@inline(__always) func isBertWhitespace(_ c: UInt32) -> Bool {
    c == 9 || c == 10 || c == 13 || isWhitespace(c)
}

func applyLowercase(_ s: inout NormalizedString) {
    if s.scalars.allSatisfy({ $0 < 0x80 }) {
        for i in 0..<s.scalars.count where s.scalars[i] >= 65 && s.scalars[i] <= 90 { s.scalars[i] += 32 }
        return
    }
    s.map { c, out in
        if c < 0x80 { out.append(c >= 65 && c <= 90 ? c + 32 : c); return }
        guard let u = Unicode.Scalar(c) else { out.append(c); return }
        let p = u.properties
        if !p.changesWhenLowercased { out.append(c); return }
        for l in p.lowercaseMapping.unicodeScalars { out.append(l.value) }
    }
}

extension Normalizer {
    init(json f: JSONField) throws {
        let type = try f.string("type")
        switch type {
        case "BertNormalizer":
            self = .bert(cleanText: try f.bool("clean_text", default: true),
                         handleChineseChars: try f.bool("handle_chinese_chars", default: true),
                         stripAccents: try f.optionalBool("strip_accents"),
                         lowercase: try f.bool("lowercase", default: true))
        case "NFC": self = .unicode(.nfc)
        case "NFD": self = .unicode(.nfd)
        case "NFKC": self = .unicode(.nfkc)
        case "NFKD": self = .unicode(.nfkd)
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "Strip": self = .strip(left: try f.bool("strip_left", default: true), right: try f.bool("strip_right", default: true))
        case "Replace": self = .replace(try Pattern(json: try f.field("pattern")), try f.string("content"))
        case "Prepend": self = .prepend(try f.string("prepend"))
        case "Sequence": self = .sequence(try f.array("normalizers").map { try Normalizer(json: $0) })
        case "Nmt": self = .nmt
        case "Precompiled":
            self = .precompiled(try PrecompiledCharsmap(base64: try f.optionalString("precompiled_charsmap") ?? "", path: f.sub("precompiled_charsmap")))
        default: throw TokenizerError.unknownComponent(path: f.path + ".type", type: type)
        }
    }

    var json: JSONValue {
        switch self {
        case let .bert(c, h, s, l):
            return .object([("type", .string("BertNormalizer")), ("clean_text", .bool(c)), ("handle_chinese_chars", .bool(h)),
                            ("strip_accents", s.map { .bool($0) } ?? .null), ("lowercase", .bool(l))])
        case .unicode(let f): return .object([("type", .string(f.rawValue))])
        case .lowercase: return .object([("type", .string("Lowercase"))])
        case .stripAccents: return .object([("type", .string("StripAccents"))])
        case let .strip(l, r): return .object([("type", .string("Strip")), ("strip_left", .bool(l)), ("strip_right", .bool(r))])
        case let .replace(p, c): return .object([("type", .string("Replace")), ("pattern", p.json), ("content", .string(c))])
        case .prepend(let p): return .object([("type", .string("Prepend")), ("prepend", .string(p))])
        case .nmt: return .object([("type", .string("Nmt"))])
        case .precompiled(let m): return .object([("type", .string("Precompiled")), ("precompiled_charsmap", .string(m.base64))])
        case .sequence(let l): return .object([("type", .string("Sequence")), ("normalizers", .array(l.map(\.json)))])
        }
    }
}
