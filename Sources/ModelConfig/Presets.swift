import Foundation

extension EncoderConfiguration {
    /// Named sizes: the papers' models and small CPU sizes.
    ///
    /// BERT (Devlin et al. 2019, §3): base L12/H768/A12, large L24/H1024/A16. ALBERT (Lan et al.
    /// 2020, Table 1): E=128, all layers shared, base/large/xlarge/xxlarge. ELECTRA (Clark et al.
    /// 2020, Table 6): small E128/H256/A4, base H768. DistilBERT (Sanh et al. 2019): 6 layers of
    /// BERT-base, no token types, no pooler. tiny/mini/small: BERT-shaped CPU sizes; electra-tiny:
    /// tiny as an ELECTRA discriminator (its generator: H32, one head). GPT-2 (Radford et al. 2019,
    /// Table 2): gpt2 (124M: L12/H768/A12, 50,257 tokens, 1,024 positions) and gpt2-medium
    /// (L24/H1024/A16); gpt2-tiny/gpt2-mini: the CPU sizes of tiny and mini as GPT-2s.
    public static let presets: [String: EncoderConfiguration] = [
        "bert-base": EncoderConfiguration(),
        "bert-large": EncoderConfiguration(hiddenSize: 1024, layers: 24, heads: 16),
        "roberta-base": EncoderConfiguration(family: .roberta, vocabSize: 50265, maxPositions: 514, typeVocabSize: 1,
                                             layerNormEps: 1e-5, padTokenId: 1, positionOffset: 2),
        "albert-base": albert(hidden: 768, layers: 12, heads: 12),
        "albert-large": albert(hidden: 1024, layers: 24, heads: 16),
        "albert-xlarge": albert(hidden: 2048, layers: 24, heads: 32),
        "albert-xxlarge": albert(hidden: 4096, layers: 12, heads: 64),
        "electra-small": EncoderConfiguration(family: .electra, hiddenSize: 256, embeddingSize: 128, heads: 4, pooler: false),
        "electra-base": EncoderConfiguration(family: .electra, hiddenSize: 768, embeddingSize: 768, heads: 12, pooler: false),
        "electra-tiny": EncoderConfiguration(family: .electra, hiddenSize: 128, embeddingSize: 128, layers: 2, heads: 2, pooler: false),
        "distilbert-base": EncoderConfiguration(family: .distilbert, layers: 6, typeVocabSize: 0, pooler: false),
        "gpt2": gpt2(hidden: 768, layers: 12, heads: 12),
        "gpt2-medium": gpt2(hidden: 1024, layers: 24, heads: 16),
        "gpt2-tiny": gpt2(hidden: 128, layers: 2, heads: 2, positions: 512),
        "gpt2-mini": gpt2(hidden: 256, layers: 4, heads: 4, positions: 512),
        "tiny": EncoderConfiguration(hiddenSize: 128, layers: 2, heads: 2),
        "mini": EncoderConfiguration(hiddenSize: 256, layers: 4, heads: 4),
        "small": EncoderConfiguration(hiddenSize: 512, layers: 4, heads: 8),
    ]

    static func albert(hidden: Int, layers: Int, heads: Int) -> EncoderConfiguration {
        EncoderConfiguration(family: .albert, vocabSize: 30000, hiddenSize: hidden, embeddingSize: 128, layers: layers, heads: heads,
                             hiddenAct: "gelu_new", hiddenDropout: 0, attentionDropout: 0, sharing: .all)
    }

    static func gpt2(hidden: Int, layers: Int, heads: Int, positions: Int = 1024) -> EncoderConfiguration {
        EncoderConfiguration(family: .gpt2, vocabSize: 50257, hiddenSize: hidden, layers: layers, heads: heads, hiddenAct: "gelu_new",
                             maxPositions: positions, typeVocabSize: 0, layerNormEps: 1e-5, padTokenId: 50256, pooler: false, causal: true)
    }

    /// This size as a GPT-2: causal, gelu_new, LayerNorm ε 1e-5, no token types and no pooler
    /// (what the recipes and benchmarks make of a BERT-shaped size such as `mini` for GPT-2).
    public func asGPT2() -> EncoderConfiguration {
        var c = self
        (c.family, c.causal, c.hiddenAct, c.layerNormEps, c.typeVocabSize, c.pooler, c.positionOffset) = (.gpt2, true, "gelu_new", 1e-5, 0, false, 0)
        return c
    }

    /// Preset names, sorted.
    public static var presetNames: [String] { presets.keys.sorted() }

    /// A preset by name, or the configuration in a config.json file (or a folder holding one).
    public static func resolve(_ nameOrPath: String) throws -> EncoderConfiguration {
        if let preset = presets[nameOrPath] { return preset }
        var url = URL(fileURLWithPath: nameOrPath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw ConfigError.unknownPreset(nameOrPath) }
        if isDirectory.boolValue { url = url.appendingPathComponent("config.json") }
        return try ConfigFile.load(from: url).encoder
    }

    /// ELECTRA's generator for this discriminator (Clark et al. 2020, §3.2): hidden size × `fraction`
    /// (1/4 by default), intermediate 4× hidden, max(1, hidden/64) heads, same embeddings.
    public func electraGenerator(fraction: Double = 0.25) -> EncoderConfiguration {
        var g = self
        g.hiddenSize = max(1, Int((Double(hiddenSize) * fraction).rounded()))
        g.heads = max(1, g.hiddenSize / 64)
        while g.hiddenSize % g.heads != 0 { g.heads -= 1 }
        g.intermediateSize = 4 * g.hiddenSize
        g.pooler = false
        return g
    }
}

extension EncoderConfiguration {
    /// The preset called `name` (one of `presetNames`); unlike `resolve(_:)` it never reads a file.
    public static func preset(_ name: String) throws -> EncoderConfiguration {
        guard let preset = presets[name] else { throw ConfigError.unknownPreset(name) }
        return preset
    }
}
