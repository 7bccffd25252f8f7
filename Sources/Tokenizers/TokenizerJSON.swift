import Foundation

/// A JSON value with its path in the document, for typed reading with precise error messages.
public struct JSONField: Sendable {
    /// The value.
    public let value: JSONValue
    /// Dotted path of the value in the document (for error messages).
    public let path: String

    /// Wraps `value` found at `path`.
    public init(value: JSONValue, path: String) { self.value = value; self.path = path }

    func sub(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Required member.
    func field(_ key: String) throws -> JSONField {
        guard case .object = value else { throw TokenizerError.invalidField(path: path, reason: "expected an object") }
        guard let v = value[key] else { throw TokenizerError.invalidField(path: sub(key), reason: "missing") }
        return JSONField(value: v, path: sub(key))
    }

    /// Optional member (absent or null → nil).
    func optionalField(_ key: String) -> JSONField? {
        guard let v = value[key] else { return nil }
        if case .null = v { return nil }
        return JSONField(value: v, path: sub(key))
    }

    func string(_ key: String) throws -> String { try field(key).stringValue() }
    func string(_ key: String, default d: String) throws -> String { try optionalString(key) ?? d }
    func optionalString(_ key: String) throws -> String? { try optionalField(key)?.stringValue() }
    func bool(_ key: String, default d: Bool) throws -> Bool { try optionalBool(key) ?? d }
    func optionalBool(_ key: String) throws -> Bool? {
        guard let f = optionalField(key) else { return nil }
        guard case .bool(let b) = f.value else { throw TokenizerError.invalidField(path: f.path, reason: "expected true or false") }
        return b
    }
    func int(_ key: String) throws -> Int { try field(key).intValue() }
    func int(_ key: String, default d: Int) throws -> Int { try optionalInt(key) ?? d }
    func optionalInt(_ key: String) throws -> Int? { try optionalField(key)?.intValue() }
    func optionalDouble(_ key: String) throws -> Double? {
        guard let f = optionalField(key) else { return nil }
        guard case .number(let d) = f.value else { throw TokenizerError.invalidField(path: f.path, reason: "expected a number") }
        return d
    }
    func array(_ key: String) throws -> [JSONField] {
        let f = try field(key)
        guard case .array(let items) = f.value else { throw TokenizerError.invalidField(path: f.path, reason: "expected an array") }
        return items.enumerated().map { JSONField(value: $0.element, path: "\(f.path)[\($0.offset)]") }
    }

    func stringValue() throws -> String {
        guard case .string(let s) = value else { throw TokenizerError.invalidField(path: path, reason: "expected a string") }
        return s
    }
    func intValue() throws -> Int {
        guard case .number(let d) = value, d == d.rounded(), abs(d) < 1e15 else { throw TokenizerError.invalidField(path: path, reason: "expected an integer") }
        return Int(d)
    }
}

/// The typed contents of a Hugging Face `tokenizer.json`.
///
/// Read with a scalar-exact JSON reader rather than `JSONDecoder`, because `JSONDecoder`
/// keys objects by Swift `String` and would merge canonically equivalent vocabulary entries.
public struct TokenizerJSON: Sendable {
    /// Format version ("1.0").
    public var version: String = "1.0"
    /// Default truncation, if any.
    public var truncation: TruncationParams?
    /// Default padding, if any.
    public var padding: PaddingParams?
    /// Added and special tokens.
    public var addedTokens: [AddedToken] = []
    /// The normalizer, if any.
    public var normalizer: Normalizer?
    /// The pre-tokenizer, if any.
    public var preTokenizer: PreTokenizer?
    /// The post-processor, if any.
    public var postProcessor: PostProcessor?
    /// The decoder, if any.
    public var decoder: Decoder?
    /// The model.
    public var model: Model

    /// A configuration with only a model.
    public init(model: Model) { self.model = model }

    /// Parses tokenizer.json text (UTF-8 bytes).
    public init(bytes: [UInt8]) throws {
        let root = JSONField(value: try JSONValue.parse(bytes), path: "")
        guard case .object = root.value else { throw TokenizerError.invalidField(path: "(root)", reason: "expected an object") }
        model = try Model(json: try root.field("model"))
        version = try root.string("version", default: "1.0")
        if let t = root.optionalField("truncation") {
            let s = try t.string("strategy", default: "LongestFirst")
            guard let strategy = TruncationStrategy(rawValue: s) else { throw TokenizerError.invalidField(path: t.sub("strategy"), reason: "unknown strategy '\(s)'") }
            let d = try t.string("direction", default: "Right")
            guard let dir = TruncationDirection(rawValue: d) else { throw TokenizerError.invalidField(path: t.sub("direction"), reason: "expected Left or Right") }
            truncation = TruncationParams(maxLength: try t.int("max_length"), stride: try t.int("stride", default: 0), strategy: strategy, direction: dir)
        }
        if let p = root.optionalField("padding") {
            var strategy = PaddingParams.Strategy.batchLongest
            let sf = try p.field("strategy")
            if case .string(let s) = sf.value, s == "BatchLongest" { strategy = .batchLongest }
            else if sf.value["Fixed"] != nil { strategy = .fixed(try sf.int("Fixed")) }
            else { throw TokenizerError.invalidField(path: sf.path, reason: "expected \"BatchLongest\" or {\"Fixed\": n}") }
            let d = try p.string("direction", default: "Right")
            guard let dir = PaddingDirection(rawValue: d) else { throw TokenizerError.invalidField(path: p.sub("direction"), reason: "expected Left or Right") }
            padding = PaddingParams(strategy: strategy, direction: dir, padToMultipleOf: try p.optionalInt("pad_to_multiple_of"),
                                    padID: try p.int("pad_id", default: 0), padTypeID: try p.int("pad_type_id", default: 0),
                                    padToken: try p.string("pad_token", default: "[PAD]"))
        }
        if root.optionalField("added_tokens") != nil {
            addedTokens = try root.array("added_tokens").map { try AddedToken(json: $0) }
        }
        if let n = root.optionalField("normalizer") { normalizer = try Normalizer(json: n) }
        if let p = root.optionalField("pre_tokenizer") { preTokenizer = try PreTokenizer(json: p) }
        if let p = root.optionalField("post_processor") { postProcessor = try PostProcessor(json: p) }
        if let d = root.optionalField("decoder") { decoder = try Decoder(json: d) }
    }

    /// Serialises back to tokenizer.json form.
    public var json: JSONValue {
        var o: [(String, JSONValue)] = [("version", .string(version))]
        o.append(("truncation", truncation.map { t in
            .object([("direction", .string(t.direction.rawValue)), ("max_length", .number(Double(t.maxLength))),
                     ("strategy", .string(t.strategy.rawValue)), ("stride", .number(Double(t.stride)))])
        } ?? .null))
        o.append(("padding", padding.map { p in
            let s: JSONValue
            switch p.strategy {
            case .batchLongest: s = .string("BatchLongest")
            case .fixed(let n): s = .object([("Fixed", .number(Double(n)))])
            }
            return .object([("strategy", s), ("direction", .string(p.direction.rawValue)),
                            ("pad_to_multiple_of", p.padToMultipleOf.map { .number(Double($0)) } ?? .null),
                            ("pad_id", .number(Double(p.padID))), ("pad_type_id", .number(Double(p.padTypeID))), ("pad_token", .string(p.padToken))])
        } ?? .null))
        o.append(("added_tokens", .array(addedTokens.map(\.json))))
        o.append(("normalizer", normalizer?.json ?? .null))
        o.append(("pre_tokenizer", preTokenizer?.json ?? .null))
        o.append(("post_processor", postProcessor?.json ?? .null))
        o.append(("decoder", decoder?.json ?? .null))
        o.append(("model", model.json))
        return .object(o)
    }
}
