import Foundation

/// Errors reading a model configuration. Each says which key and what to do.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformedJSON(path: String, reason: String)
    case unsupportedModelType(String?)
    case wrongType(key: String, expected: String)
    case invalidValue(key: String, reason: String)
    case unknownPreset(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformedJSON(let path, let reason): return "\(path) is not valid JSON: \(reason)"
        case .unsupportedModelType(let type):
            return "model_type \(type.map { "'\($0)'" } ?? "is missing"); supported: \(EncoderConfiguration.Family.allCases.map(\.rawValue).joined(separator: ", "))"
        case .wrongType(let key, let expected): return "config.json key '\(key)' should be \(expected)"
        case .invalidValue(let key, let reason): return "config.json key '\(key)': \(reason)"
        case .unknownPreset(let name):
            return "no preset or file named '\(name)'; presets: \(EncoderConfiguration.presetNames.joined(separator: ", ")), or give a path to a config.json"
        }
    }
}

/// A Hugging Face `config.json`: the encoder description plus every other key, kept so that
/// reading and writing a file loses nothing.
///
/// Key names and defaults are transformers' own for `BertConfig`, `RobertaConfig`,
/// `AlbertConfig`, `ElectraConfig`, `DistilBertConfig` (DistilBERT's differ: `dim`,
/// `n_layers`, `n_heads`, `hidden_dim`, `dropout`, `attention_dropout`, `activation`) and
/// `GPT2Config` (`n_embd`, `n_layer`, `n_head`, `n_inner`, `n_positions`, `activation_function`,
/// `resid_pdrop`, `embd_pdrop`, `attn_pdrop`, `layer_norm_epsilon`, `eos_token_id`). Files from
/// transformers 4.x (`torch_dtype`) and 5.x (`dtype`, defaults omitted) both read.
public struct ConfigFile: Equatable {
    public var encoder: EncoderConfiguration
    /// `architectures`, e.g. `["BertForMaskedLM"]`.
    public var architectures: [String]
    /// Keys this package does not interpret, written back unchanged.
    public var extras: [String: JSONValue]

    public init(encoder: EncoderConfiguration, architectures: [String], extras: [String: JSONValue] = [:]) {
        self.encoder = encoder
        self.architectures = architectures
        self.extras = extras
    }

    /// Reads a config.json.
    public static func load(from url: URL) throws -> ConfigFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ConfigError.unreadable(path: url.path, reason: error.localizedDescription) }
        return try parse(data, path: url.path)
    }

    /// Parses config.json bytes.
    public static func parse(_ data: Data, path: String = "config.json") throws -> ConfigFile {
        let root: [String: JSONValue]
        do { root = try JSONDecoder().decode([String: JSONValue].self, from: data) } catch {
            throw ConfigError.malformedJSON(path: path, reason: "\(error)")
        }
        var reader = KeyReader(values: root)
        guard case .string(let type)? = root["model_type"], let family = EncoderConfiguration.Family(rawValue: type) else {
            if case .string(let t)? = root["model_type"] { throw ConfigError.unsupportedModelType(t) }
            throw ConfigError.unsupportedModelType(nil)
        }
        reader.consume("model_type")
        let architectures = try reader.strings("architectures") ?? []
        let c: EncoderConfiguration
        switch family {
        case .distilbert: c = try readDistilBERT(&reader)
        case .gpt2: c = try readGPT2(&reader)
        case .bert, .roberta, .albert, .electra: c = try readBERTLike(&reader, family: family)
        }
        try c.validate()
        return ConfigFile(encoder: c, architectures: architectures, extras: reader.remaining)
    }

    static func readBERTLike(_ r: inout KeyReader, family: EncoderConfiguration.Family) throws -> EncoderConfiguration {
        let isAlbert = family == .albert, isElectra = family == .electra, isRoberta = family == .roberta
        let hidden = try r.int("hidden_size") ?? (isAlbert ? 4096 : isElectra ? 256 : 768)
        let pad = try r.int("pad_token_id") ?? (isRoberta ? 1 : 0)
        var c = EncoderConfiguration(
            family: family,
            vocabSize: try r.int("vocab_size") ?? (isAlbert ? 30000 : 30522),
            hiddenSize: hidden,
            embeddingSize: try r.int("embedding_size") ?? (isAlbert || isElectra ? 128 : hidden),
            layers: try r.int("num_hidden_layers") ?? 12,
            heads: try r.int("num_attention_heads") ?? (isAlbert ? 64 : isElectra ? 4 : 12),
            intermediateSize: try r.int("intermediate_size") ?? (isAlbert ? 16384 : isElectra ? 1024 : 3072),
            hiddenAct: try r.string("hidden_act") ?? (isAlbert ? "gelu_new" : "gelu"),
            hiddenDropout: Float(try r.double("hidden_dropout_prob") ?? (isAlbert ? 0 : 0.1)),
            attentionDropout: Float(try r.double("attention_probs_dropout_prob") ?? (isAlbert ? 0 : 0.1)),
            maxPositions: try r.int("max_position_embeddings") ?? 512,
            typeVocabSize: try r.int("type_vocab_size") ?? 2,
            layerNormEps: Float(try r.double("layer_norm_eps") ?? 1e-12),
            initializerRange: Float(try r.double("initializer_range") ?? 0.02),
            padTokenId: pad,
            positionOffset: isRoberta ? pad + 1 : 0,
            sharing: isAlbert ? .all : .none,
            hiddenGroups: isAlbert ? try r.int("num_hidden_groups") ?? 1 : 1,
            innerGroupNum: isAlbert ? try r.int("inner_group_num") ?? 1 : 1,
            pooler: family != .electra,
            causal: try r.peekBool("is_decoder") ?? false)
        c.languages = try r.int("n_langs") ?? 0
        if let sharing = try r.string("cross_layer_sharing") {
            guard let s = EncoderConfiguration.Sharing(rawValue: sharing) else {
                throw ConfigError.invalidValue(key: "cross_layer_sharing", reason: "'\(sharing)' is not one of none, all, attention, ffn")
            }
            c.sharing = s
            if !isAlbert, let groups = try r.int("num_hidden_groups") { c.hiddenGroups = groups }
        }
        return c
    }

    static func readDistilBERT(_ r: inout KeyReader) throws -> EncoderConfiguration {
        if try r.bool("sinusoidal_pos_embds") == true {
            throw ConfigError.invalidValue(key: "sinusoidal_pos_embds", reason: "sinusoidal position embeddings are not supported; use learned ones (false)")
        }
        let dim = try r.int("dim") ?? 768
        return EncoderConfiguration(
            family: .distilbert, vocabSize: try r.int("vocab_size") ?? 30522, hiddenSize: dim, embeddingSize: dim,
            layers: try r.int("n_layers") ?? 6, heads: try r.int("n_heads") ?? 12, intermediateSize: try r.int("hidden_dim") ?? 3072,
            hiddenAct: try r.string("activation") ?? "gelu", hiddenDropout: Float(try r.double("dropout") ?? 0.1),
            attentionDropout: Float(try r.double("attention_dropout") ?? 0.1), maxPositions: try r.int("max_position_embeddings") ?? 512,
            typeVocabSize: 0, layerNormEps: 1e-12, initializerRange: Float(try r.double("initializer_range") ?? 0.02),
            padTokenId: try r.int("pad_token_id") ?? 0, pooler: false)
    }

    static func readGPT2(_ r: inout KeyReader) throws -> EncoderConfiguration {
        // Variants of GPT-2's attention this package does not compute are refused, not ignored.
        if try r.peekBool("scale_attn_weights") == false {
            throw ConfigError.invalidValue(key: "scale_attn_weights", reason: "unscaled attention scores are not supported; use true")
        }
        if try r.peekBool("scale_attn_by_inverse_layer_idx") == true {
            throw ConfigError.invalidValue(key: "scale_attn_by_inverse_layer_idx", reason: "scaling attention by 1/layer is not supported; use false")
        }
        if try r.peekBool("add_cross_attention") == true {
            throw ConfigError.invalidValue(key: "add_cross_attention", reason: "cross-attention (an encoder-decoder GPT-2) is not supported; use false")
        }
        let width = try r.int("n_embd") ?? 768
        let residualDropout = try r.double("resid_pdrop") ?? 0.1
        // Embedding dropout uses the residual rate here (they are equal in every released GPT-2).
        _ = try r.double("embd_pdrop")
        return EncoderConfiguration(
            family: .gpt2, vocabSize: try r.int("vocab_size") ?? 50257, hiddenSize: width, embeddingSize: width,
            layers: try r.int("n_layer") ?? 12, heads: try r.int("n_head") ?? 12, intermediateSize: try r.int("n_inner") ?? 4 * width,
            hiddenAct: try r.string("activation_function") ?? "gelu_new", hiddenDropout: Float(residualDropout),
            attentionDropout: Float(try r.double("attn_pdrop") ?? 0.1), maxPositions: try r.int("n_positions") ?? 1024,
            typeVocabSize: 0, layerNormEps: Float(try r.double("layer_norm_epsilon") ?? 1e-5),
            initializerRange: Float(try r.double("initializer_range") ?? 0.02),
            // No padding token: batches pad with end-of-text (pad_token_id, usually null, stays among the extras).
            padTokenId: try r.int("eos_token_id") ?? 50256, pooler: false, causal: true)
    }

    /// The config.json bytes, as transformers' `save_pretrained` writes them (sorted keys,
    /// 2-space indent, trailing newline).
    public func data() -> Data {
        var out = extras
        let c = encoder
        func set(_ key: String, _ value: JSONValue) { out[key] = value }
        // Floats go through their shortest decimal form so 0.1 is written as 0.1, not 0.10000000149.
        func real(_ f: Float) -> JSONValue { .double(Double("\(f)") ?? Double(f)) }
        set("model_type", .string(c.family.rawValue))
        set("architectures", .array(architectures.map { .string($0) }))
        if out["transformers_version"] == nil { set("transformers_version", .string("4.57.1")) }
        if out["torch_dtype"] == nil && out["dtype"] == nil { set("torch_dtype", .string("float32")) }
        set("vocab_size", .int(c.vocabSize))
        set("initializer_range", real(c.initializerRange))
        switch c.family {
        case .gpt2:
            set("eos_token_id", .int(c.padTokenId))
            if out["bos_token_id"] == nil { set("bos_token_id", .int(c.padTokenId)) }
            if out["pad_token_id"] == nil { set("pad_token_id", .null) }
            if out["tie_word_embeddings"] == nil { set("tie_word_embeddings", .bool(true)) }
            set("n_positions", .int(c.maxPositions))
            set("n_embd", .int(c.hiddenSize)); set("n_layer", .int(c.layers)); set("n_head", .int(c.heads))
            set("n_inner", c.intermediateSize == 4 * c.hiddenSize ? .null : .int(c.intermediateSize))
            set("activation_function", .string(c.hiddenAct)); set("resid_pdrop", real(c.hiddenDropout))
            set("embd_pdrop", real(c.hiddenDropout)); set("attn_pdrop", real(c.attentionDropout))
            set("layer_norm_epsilon", real(c.layerNormEps))
            for (key, value) in [("scale_attn_weights", true), ("scale_attn_by_inverse_layer_idx", false), ("reorder_and_upcast_attn", false),
                                 ("add_cross_attention", false), ("use_cache", true)] where out[key] == nil {
                set(key, .bool(value))
            }
        case .distilbert:
            set("pad_token_id", .int(c.padTokenId)); set("max_position_embeddings", .int(c.maxPositions))
            set("dim", .int(c.hiddenSize)); set("n_layers", .int(c.layers)); set("n_heads", .int(c.heads))
            set("hidden_dim", .int(c.intermediateSize)); set("activation", .string(c.hiddenAct))
            set("dropout", real(c.hiddenDropout)); set("attention_dropout", real(c.attentionDropout))
            set("sinusoidal_pos_embds", .bool(false))
        case .bert, .roberta, .albert, .electra:
            set("pad_token_id", .int(c.padTokenId)); set("max_position_embeddings", .int(c.maxPositions))
            set("hidden_size", .int(c.hiddenSize)); set("num_hidden_layers", .int(c.layers))
            set("num_attention_heads", .int(c.heads)); set("intermediate_size", .int(c.intermediateSize))
            set("hidden_act", .string(c.hiddenAct)); set("hidden_dropout_prob", real(c.hiddenDropout))
            set("attention_probs_dropout_prob", real(c.attentionDropout)); set("type_vocab_size", .int(c.typeVocabSize))
            set("layer_norm_eps", real(c.layerNormEps))
            if c.family == .albert || c.family == .electra || c.embeddingSize != c.hiddenSize { set("embedding_size", .int(c.embeddingSize)) }
            if c.family == .albert {
                set("num_hidden_groups", .int(c.hiddenGroups)); set("inner_group_num", .int(c.innerGroupNum))
            }
            if c.causal || out["is_decoder"] != nil { set("is_decoder", .bool(c.causal)) }
            if c.languages > 0 { set("n_langs", .int(c.languages)) }
            let defaultSharing: EncoderConfiguration.Sharing = c.family == .albert ? .all : .none
            if c.sharing != defaultSharing {
                set("cross_layer_sharing", .string(c.sharing.rawValue))
                if c.family != .albert { set("num_hidden_groups", .int(c.hiddenGroups)) }
            }
        }
        return Data((JSONValue.object(out).pythonJSON() + "\n").utf8)
    }

    /// Writes config.json (atomically).
    public func write(to url: URL) throws {
        try data().write(to: url, options: .atomic)
    }
}

/// Reads typed keys from a JSON object, remembering which ones were interpreted.
struct KeyReader {
    var values: [String: JSONValue]
    var remaining: [String: JSONValue]

    init(values: [String: JSONValue]) {
        self.values = values
        remaining = values
    }

    mutating func consume(_ key: String) { remaining[key] = nil }

    mutating func int(_ key: String) throws -> Int? {
        consume(key)
        switch values[key] {
        case nil, .null?: return nil
        case .int(let i)?: return i
        case .double(let d)? where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: throw ConfigError.wrongType(key: key, expected: "an integer")
        }
    }

    mutating func double(_ key: String) throws -> Double? {
        consume(key)
        switch values[key] {
        case nil, .null?: return nil
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: throw ConfigError.wrongType(key: key, expected: "a number")
        }
    }

    mutating func string(_ key: String) throws -> String? {
        consume(key)
        switch values[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw ConfigError.wrongType(key: key, expected: "a string")
        }
    }

    mutating func bool(_ key: String) throws -> Bool? {
        consume(key)
        switch values[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw ConfigError.wrongType(key: key, expected: "true or false")
        }
    }

    /// Reads a flag but leaves it among the extras (it is written back as it was).
    func peekBool(_ key: String) throws -> Bool? {
        switch values[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw ConfigError.wrongType(key: key, expected: "true or false")
        }
    }

    mutating func strings(_ key: String) throws -> [String]? {
        consume(key)
        switch values[key] {
        case nil, .null?: return nil
        case .array(let a)?:
            return try a.map { guard case .string(let s) = $0 else { throw ConfigError.wrongType(key: key, expected: "a list of strings") }; return s }
        default: throw ConfigError.wrongType(key: key, expected: "a list of strings")
        }
    }
}

extension EncoderConfiguration {
    /// Checks sizes and options; the error names the offending key.
    public func validate() throws {
        func fail(_ key: String, _ why: String) throws -> Never { throw ConfigError.invalidValue(key: key, reason: why) }
        for (key, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", layers),
                             ("num_attention_heads", heads), ("intermediate_size", intermediateSize),
                             ("embedding_size", embeddingSize), ("max_position_embeddings", maxPositions)] where value <= 0 {
            try fail(key, "must be positive, got \(value)")
        }
        if hiddenSize % heads != 0 { try fail("num_attention_heads", "hidden size \(hiddenSize) is not a multiple of \(heads) heads") }
        if typeVocabSize < 0 { try fail("type_vocab_size", "must not be negative") }
        if languages < 0 { try fail("n_langs", "must not be negative") }
        if hiddenGroups < 1 || hiddenGroups > layers { try fail("num_hidden_groups", "must be between 1 and num_hidden_layers (\(layers))") }
        if innerGroupNum < 1 { try fail("inner_group_num", "must be at least 1") }
        for (key, p) in [("hidden_dropout_prob", hiddenDropout), ("attention_probs_dropout_prob", attentionDropout)] where !(p >= 0 && p < 1) {
            try fail(key, "must be in [0, 1), got \(p)")
        }
        if padTokenId < 0 || padTokenId >= vocabSize { try fail("pad_token_id", "\(padTokenId) is outside the vocabulary of \(vocabSize)") }
    }
}
