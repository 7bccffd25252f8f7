/// A decoder (tokenizer.json `decoder`): turns tokens back into text.
public indirect enum Decoder: Sendable {
    /// Joins WordPiece tokens: `##` pieces glued, others preceded by a space; optional cleanup.
    case wordPiece(prefix: String, cleanup: Bool)
    /// Maps byte-level characters back to bytes, then UTF-8 (invalid sequences → U+FFFD).
    case byteLevel
    /// Metaspace replacement back to spaces (dropped in front of the first token unless `never`).
    case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    /// Replaces a pattern in each token.
    case replace(Pattern, String)
    /// `<0xAB>` tokens back to bytes.
    case byteFallback
    /// Joins all tokens into one.
    case fuse
    /// Removes up to `start`/`stop` copies of `content` from each token's ends.
    case strip(content: UInt32, start: Int, stop: Int)
    /// BPE end-of-word suffix back to spaces.
    case bpe(suffix: String)
    /// Several, chained.
    case sequence([Decoder])

    func decodeChain(_ tokens: [String]) throws -> [String] {
        switch self {
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, t in
                var s = t
                if i != 0 {
                    if s.unicodeScalars.starts(with: prefix.unicodeScalars) { s = String(String.UnicodeScalarView(s.unicodeScalars.dropFirst(prefix.unicodeScalars.count))) }
                    else { s = " " + s }
                }
                return cleanup ? wordPieceCleanup(s) : s
            }
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                var tb: [UInt8] = []
                var ok = true
                for u in t.unicodeScalars {
                    let v = Int(u.value)
                    if v < unicodeToByte.count, unicodeToByte[v] >= 0 { tb.append(UInt8(unicodeToByte[v])) } else { ok = false; break }
                }
                bytes += ok ? tb : Array(t.utf8)
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .metaspace(rep, scheme, _):
            return tokens.enumerated().map { i, t in
                var v = String.UnicodeScalarView()
                for u in t.unicodeScalars {
                    if u.value == rep {
                        if i == 0 && scheme != .never { continue }
                        v.append(" ")
                    } else { v.append(u) }
                }
                return String(v)
            }
        case let .replace(pattern, content):
            return try tokens.map { t in
                var n = NormalizedString(t)
                try Normalizer.replace(pattern, content).normalize(&n)
                return n.string
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                if pending.isEmpty { return }
                if let s = String(validatingUTF8CString: pending) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.unicodeScalars)
                if u.count == 6, t.hasPrefix("<0x"), u[5] == ">", let b = UInt8(String(String.UnicodeScalarView(u[3..<5])), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { t in
                var u = Array(t.unicodeScalars)
                var k = 0
                while k < start, let f = u.first, f.value == content { u.removeFirst(); k += 1 }
                k = 0
                while k < stop, let l = u.last, l.value == content { u.removeLast(); k += 1 }
                return String(String.UnicodeScalarView(u))
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { i, t in
                t.replacingAll(suffix, with: i == tokens.count - 1 ? "" : " ")
            }
        case .sequence(let l):
            var t = tokens
            for d in l { t = try d.decodeChain(t) }
            return t
        }
    }

    /// Decodes tokens to text.
    public func decode(_ tokens: [String]) throws -> String { try decodeChain(tokens).joined() }
}

extension String {
    /// Validates UTF-8 bytes (no NUL terminator needed).
    init?(validatingUTF8CString bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var dec = UTF8()
        var v = String.UnicodeScalarView()
        loop: while true {
            switch dec.decode(&it) {
            case .scalarValue(let s): v.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(v)
    }

    /// Replaces every scalar-exact occurrence of `pattern`.
    func replacingAll(_ pattern: String, with rep: String) -> String {
        if pattern.isEmpty { return self }
        var n = NormalizedString(self)
        n.replace(stringScalars(pattern), with: stringScalars(rep))
        return n.string
    }
}

/// Hugging Face's WordPiece decoder cleanup (spaces before punctuation and contractions).
func wordPieceCleanup(_ s: String) -> String {
    var r = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                   (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        r = r.replacingAll(a, with: b)
    }
    return r
}

extension Decoder {
    init(json f: JSONField) throws {
        let type = try f.string("type")
        switch type {
        case "WordPiece": self = .wordPiece(prefix: try f.string("prefix", default: "##"), cleanup: try f.bool("cleanup", default: true))
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let rep = try f.string("replacement", default: "▁").unicodeScalars
            guard rep.count == 1, let r = rep.first else { throw TokenizerError.invalidField(path: f.path + ".replacement", reason: "must be one character") }
            var scheme = PrependScheme.always
            if let s = try f.optionalString("prepend_scheme") {
                guard let p = PrependScheme(rawValue: s) else { throw TokenizerError.invalidField(path: f.path + ".prepend_scheme", reason: "expected always, first or never") }
                scheme = p
            } else if let add = try f.optionalBool("add_prefix_space") { scheme = add ? .always : .never }
            self = .metaspace(replacement: r.value, prependScheme: scheme, split: try f.bool("split", default: true))
        case "Replace": self = .replace(try Pattern(json: try f.field("pattern")), try f.string("content"))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let c = try f.string("content").unicodeScalars
            guard c.count == 1, let ch = c.first else { throw TokenizerError.invalidField(path: f.path + ".content", reason: "must be one character") }
            self = .strip(content: ch.value, start: try f.int("start", default: 0), stop: try f.int("stop", default: 0))
        case "BPEDecoder": self = .bpe(suffix: try f.string("suffix", default: "</w>"))
        case "Sequence": self = .sequence(try f.array("decoders").map { try Decoder(json: $0) })
        default: throw TokenizerError.unknownComponent(path: f.path + ".type", type: type)
        }
    }

    var json: JSONValue {
        switch self {
        case let .wordPiece(p, c): return .object([("type", .string("WordPiece")), ("prefix", .string(p)), ("cleanup", .bool(c))])
        case .byteLevel: return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])
        case let .metaspace(r, s, sp):
            return .object([("type", .string("Metaspace")), ("replacement", .string(scalarsToString([r][...]))), ("prepend_scheme", .string(s.rawValue)), ("split", .bool(sp))])
        case let .replace(p, c): return .object([("type", .string("Replace")), ("pattern", p.json), ("content", .string(c))])
        case .byteFallback: return .object([("type", .string("ByteFallback"))])
        case .fuse: return .object([("type", .string("Fuse"))])
        case let .strip(c, a, b):
            return .object([("type", .string("Strip")), ("content", .string(scalarsToString([c][...]))), ("start", .number(Double(a))), ("stop", .number(Double(b)))])
        case .bpe(let s): return .object([("type", .string("BPEDecoder")), ("suffix", .string(s))])
        case .sequence(let l): return .object([("type", .string("Sequence")), ("decoders", .array(l.map(\.json)))])
        }
    }
}
