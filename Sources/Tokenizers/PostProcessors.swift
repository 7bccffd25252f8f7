/// One piece of a template: a special token or one of the input sequences.
public enum TemplatePiece: Sendable, Equatable {
    case specialToken(id: String, typeID: Int)
    case sequence(second: Bool, typeID: Int)
}

/// A special token used by a template: its name and the ids/tokens it expands to.
public struct TemplateSpecialToken: Sendable, Equatable {
    /// Name used in templates.
    public var id: String
    /// Ids it expands to.
    public var ids: [Int]
    /// Token strings it expands to.
    public var tokens: [String]
    /// Creates a template special token.
    public init(id: String, ids: [Int], tokens: [String]) { self.id = id; self.ids = ids; self.tokens = tokens }
}

/// A post-processor (tokenizer.json `post_processor`): adds special tokens, sets type ids.
public indirect enum PostProcessor: Sendable {
    /// `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with type ids 0 / 1.
    case bert(sep: (String, Int), cls: (String, Int))
    /// `<s> A </s>` / `<s> A </s></s> B </s>`, all type ids 0, optional byte-level offset trimming.
    case roberta(sep: (String, Int), cls: (String, Int), trimOffsets: Bool, addPrefixSpace: Bool)
    /// Any template.
    case template(single: [TemplatePiece], pair: [TemplatePiece], specialTokens: [TemplateSpecialToken])
    /// Byte-level offset trimming only.
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    /// Several, in order.
    case sequence([PostProcessor])

    /// Number of tokens added to a single input or a pair.
    public func addedTokens(isPair: Bool) -> Int {
        switch self {
        case .bert: return isPair ? 3 : 2
        case .roberta: return isPair ? 4 : 2
        case let .template(single, pair, specials):
            return (isPair ? pair : single).reduce(0) { n, p in
                if case .specialToken(let id, _) = p { return n + (specials.first { $0.id.unicodeScalars.elementsEqual(id.unicodeScalars) }?.ids.count ?? 0) }
                return n
            }
        case .byteLevel: return 0
        case .sequence(let l): return l.reduce(0) { $0 + $1.addedTokens(isPair: isPair) }
        }
    }

    /// The template (single, pair, specials) this processor applies, if any.
    var templates: ([TemplatePiece], [TemplatePiece], [TemplateSpecialToken])? {
        switch self {
        case let .bert(sep, cls):
            let specials = [TemplateSpecialToken(id: cls.0, ids: [cls.1], tokens: [cls.0]), TemplateSpecialToken(id: sep.0, ids: [sep.1], tokens: [sep.0])]
            return ([.specialToken(id: cls.0, typeID: 0), .sequence(second: false, typeID: 0), .specialToken(id: sep.0, typeID: 0)],
                    [.specialToken(id: cls.0, typeID: 0), .sequence(second: false, typeID: 0), .specialToken(id: sep.0, typeID: 0),
                     .sequence(second: true, typeID: 1), .specialToken(id: sep.0, typeID: 1)], specials)
        case let .roberta(sep, cls, _, _):
            let specials = [TemplateSpecialToken(id: cls.0, ids: [cls.1], tokens: [cls.0]), TemplateSpecialToken(id: sep.0, ids: [sep.1], tokens: [sep.0])]
            return ([.specialToken(id: cls.0, typeID: 0), .sequence(second: false, typeID: 0), .specialToken(id: sep.0, typeID: 0)],
                    [.specialToken(id: cls.0, typeID: 0), .sequence(second: false, typeID: 0), .specialToken(id: sep.0, typeID: 0),
                     .specialToken(id: sep.0, typeID: 0), .sequence(second: true, typeID: 0), .specialToken(id: sep.0, typeID: 0)], specials)
        case let .template(s, p, sp): return (s, p, sp)
        case .byteLevel: return nil
        case .sequence(let l): return l.lazy.compactMap(\.templates).first
        }
    }

    var trimSettings: (Bool)? {
        switch self {
        case let .roberta(_, _, trim, add): return trim ? add : nil
        case let .byteLevel(trim, add): return trim ? add : nil
        case .sequence(let l): return l.lazy.compactMap(\.trimSettings).first
        default: return nil
        }
    }

    /// Applies the processor to one or two encodings (with their overflowing windows).
    public func process(_ a: Encoding, _ b: Encoding?, addSpecialTokens: Bool) -> Encoding {
        var a = a, b = b
        if let addPrefixSpace = trimSettings {
            trimByteLevelOffsets(&a, addPrefixSpace: addPrefixSpace)
            if b != nil { trimByteLevelOffsets(&b!, addPrefixSpace: addPrefixSpace) }
        }
        let aO = a.overflowing, bO = b?.overflowing ?? []
        a.overflowing = []; b?.overflowing = []
        var main = apply(a, b, addSpecialTokens: addSpecialTokens)
        var overflow: [Encoding] = []
        for ao in aO {
            overflow.append(apply(ao, b, addSpecialTokens: addSpecialTokens))
            for bo in bO { overflow.append(apply(ao, bo, addSpecialTokens: addSpecialTokens)) }
        }
        for bo in bO { overflow.append(apply(a, bo, addSpecialTokens: addSpecialTokens)) }
        main.overflowing = overflow
        return main
    }

    func apply(_ a: Encoding, _ b: Encoding?, addSpecialTokens: Bool) -> Encoding {
        guard let (single, pair, specials) = templates else {
            var e = a
            if let b { e.appendTokens(of: b) }
            return e
        }
        var out = Encoding()
        for piece in (b == nil ? single : pair) {
            switch piece {
            case let .sequence(second, typeID):
                guard var s = second ? b : a else { continue }
                s.typeIDs = [Int](repeating: typeID, count: s.count)
                s.sequenceIDs = [Int?](repeating: second ? 1 : 0, count: s.count)
                out.appendTokens(of: s)
            case let .specialToken(id, typeID):
                guard addSpecialTokens, let sp = specials.first(where: { $0.id.unicodeScalars.elementsEqual(id.unicodeScalars) }) else { continue }
                for (i, tid) in sp.ids.enumerated() {
                    out.append(id: tid, typeID: typeID, token: i < sp.tokens.count ? sp.tokens[i] : sp.id, offset: .init(0, 0), wordID: nil, special: 1, sequence: nil)
                }
            }
        }
        return out
    }
}

/// Hugging Face `process_offsets`: offsets exclude the leading/trailing spaces (`Ġ`) of tokens.
func trimByteLevelOffsets(_ e: inout Encoding, addPrefixSpace: Bool) {
    for i in e.overflowing.indices { trimByteLevelOffsets(&e.overflowing[i], addPrefixSpace: addPrefixSpace) }
    for i in 0..<e.count {
        let sc = Array(e.tokens[i].unicodeScalars)
        let isSpace: (Unicode.Scalar) -> Bool = { $0.value == 0x120 || isWhitespace($0.value) }
        var leading = 0
        while leading < sc.count, isSpace(sc[leading]) { leading += 1 }
        var trailing = 0
        while trailing < sc.count, isSpace(sc[sc.count - 1 - trailing]) { trailing += 1 }
        if leading == 0 && trailing == 0 { continue }
        var o = e.offsets[i]
        if leading > 0 {
            let isFirst = i == 0 || o.start == 0
            if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
            o.start = min(o.start + leading, o.end)
        }
        if trailing > 0 && o.end >= trailing { o.end = max(o.end - trailing, o.start) }
        e.offsets[i] = o
    }
}

extension PostProcessor {
    init(json f: JSONField) throws {
        let type = try f.string("type")
        func pair(_ key: String) throws -> (String, Int) {
            let a = try f.array(key)
            guard a.count == 2, case .string(let t) = a[0].value, case .number(let d) = a[1].value, d >= 0, d < 1e9, d == d.rounded() else {
                throw TokenizerError.invalidField(path: "\(f.path).\(key)", reason: "expected [token, id]")
            }
            return (t, Int(d))
        }
        switch type {
        case "BertProcessing": self = .bert(sep: try pair("sep"), cls: try pair("cls"))
        case "RobertaProcessing":
            self = .roberta(sep: try pair("sep"), cls: try pair("cls"), trimOffsets: try f.bool("trim_offsets", default: true),
                            addPrefixSpace: try f.bool("add_prefix_space", default: true))
        case "ByteLevel":
            self = .byteLevel(trimOffsets: try f.bool("trim_offsets", default: true), addPrefixSpace: try f.bool("add_prefix_space", default: true))
        case "TemplateProcessing":
            func pieces(_ key: String) throws -> [TemplatePiece] {
                try f.array(key).map { p in
                    if let s = p.value["SpecialToken"] {
                        let sf = JSONField(value: s, path: p.path + ".SpecialToken")
                        return .specialToken(id: try sf.string("id"), typeID: try sf.int("type_id", default: 0))
                    }
                    if let s = p.value["Sequence"] {
                        let sf = JSONField(value: s, path: p.path + ".Sequence")
                        let id = try sf.string("id")
                        guard id == "A" || id == "B" else { throw TokenizerError.invalidField(path: sf.path + ".id", reason: "expected A or B") }
                        return .sequence(second: id == "B", typeID: try sf.int("type_id", default: 0))
                    }
                    throw TokenizerError.invalidField(path: p.path, reason: "expected {\"SpecialToken\": …} or {\"Sequence\": …}")
                }
            }
            var specials: [TemplateSpecialToken] = []
            let sf = try f.field("special_tokens")
            guard case .object(let entries) = sf.value else { throw TokenizerError.invalidField(path: sf.path, reason: "expected an object") }
            for (k, v) in entries {
                let e = JSONField(value: v, path: sf.path + "." + k)
                let ids = try e.array("ids").map { try $0.intValue() }
                let toks = try e.array("tokens").map { try $0.stringValue() }
                specials.append(TemplateSpecialToken(id: try e.string("id"), ids: ids, tokens: toks))
            }
            let single = try pieces("single"), pairT = try pieces("pair")
            for case .specialToken(let id, _) in single + pairT where !specials.contains(where: { $0.id.unicodeScalars.elementsEqual(id.unicodeScalars) }) {
                throw TokenizerError.invalidField(path: f.path + ".special_tokens", reason: "template uses '\(id)' which is not listed")
            }
            self = .template(single: single, pair: pairT, specialTokens: specials)
        case "Sequence": self = .sequence(try f.array("processors").map { try PostProcessor(json: $0) })
        default: throw TokenizerError.unknownComponent(path: f.path + ".type", type: type)
        }
    }

    var json: JSONValue {
        func pieceJSON(_ p: TemplatePiece) -> JSONValue {
            switch p {
            case let .specialToken(id, t): return .object([("SpecialToken", .object([("id", .string(id)), ("type_id", .number(Double(t)))]))])
            case let .sequence(second, t): return .object([("Sequence", .object([("id", .string(second ? "B" : "A")), ("type_id", .number(Double(t)))]))])
            }
        }
        switch self {
        case let .bert(sep, cls):
            return .object([("type", .string("BertProcessing")), ("sep", .array([.string(sep.0), .number(Double(sep.1))])),
                            ("cls", .array([.string(cls.0), .number(Double(cls.1))]))])
        case let .roberta(sep, cls, t, a):
            return .object([("type", .string("RobertaProcessing")), ("sep", .array([.string(sep.0), .number(Double(sep.1))])),
                            ("cls", .array([.string(cls.0), .number(Double(cls.1))])), ("trim_offsets", .bool(t)), ("add_prefix_space", .bool(a))])
        case let .byteLevel(t, a):
            return .object([("type", .string("ByteLevel")), ("trim_offsets", .bool(t)), ("add_prefix_space", .bool(a))])
        case let .template(s, p, sp):
            return .object([("type", .string("TemplateProcessing")), ("single", .array(s.map(pieceJSON))), ("pair", .array(p.map(pieceJSON))),
                            ("special_tokens", .object(sp.map { ($0.id, .object([("id", .string($0.id)), ("ids", .array($0.ids.map { .number(Double($0)) })),
                                                                                   ("tokens", .array($0.tokens.map { .string($0) }))])) }))])
        case .sequence(let l): return .object([("type", .string("Sequence")), ("processors", .array(l.map(\.json)))])
        }
    }
}
