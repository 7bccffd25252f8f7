/// Sizes and dropout of one post-LN Transformer encoder layer.
public struct TransformerLayerConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var heads: Int
    public var intermediateSize: Int
    /// Dropout on the attention and FFN outputs (`hidden_dropout_prob`).
    public var hiddenDropout: Float
    /// Dropout on attention probabilities (`attention_probs_dropout_prob`).
    public var attentionDropout: Float
    public var layerNormEps: Float

    public init(hiddenSize: Int, heads: Int, intermediateSize: Int, hiddenDropout: Float = 0.1,
                attentionDropout: Float = 0.1, layerNormEps: Float = 1e-12) {
        precondition(hiddenSize % heads == 0, "hidden size \(hiddenSize) is not a multiple of \(heads) heads")
        self.hiddenSize = hiddenSize
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.layerNormEps = layerNormEps
    }
}

/// Masks for a self-attention call.
public struct AttentionMasking {
    /// (B,T): 1 for real tokens, 0 for padding.
    public var keyMask: Tensor?
    /// GPT-style: position i attends to j ≤ i.
    public var causal: Bool
    /// (T,T) or (B,T,T) additive scores (−∞ hides): permutation LM.
    public var additive: Tensor?

    public init(keyMask: Tensor? = nil, causal: Bool = false, additive: Tensor? = nil) {
        self.keyMask = keyMask
        self.causal = causal
        self.additive = additive
    }
}

/// One BERT encoder layer (Vaswani et al. 2017; Devlin et al. 2019): self-attention and a GELU
/// feed-forward block, each followed by dropout, a residual connection and LayerNorm (post-LN).
/// Parameter names follow Hugging Face's `BertLayer` (`attention.self.query`, …, `output.LayerNorm`).
public final class TransformerLayer: Module {
    public let config: TransformerLayerConfig
    public let query, key, value, attentionOutput: Linear
    public let attentionNorm: LayerNorm
    public let intermediate, output: Linear
    public let outputNorm: LayerNorm

    public init(_ name: String, config: TransformerLayerConfig, std: Float = 0.02, rng: inout RandomGenerator) {
        let h = config.hiddenSize, i = config.intermediateSize
        self.config = config
        query = Linear(joinName(name, "attention.self.query"), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        key = Linear(joinName(name, "attention.self.key"), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        value = Linear(joinName(name, "attention.self.value"), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        attentionOutput = Linear(joinName(name, "attention.output.dense"), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        attentionNorm = LayerNorm(joinName(name, "attention.output.LayerNorm"), features: h, eps: config.layerNormEps)
        intermediate = Linear(joinName(name, "intermediate.dense"), inFeatures: h, outFeatures: i, std: std, rng: &rng)
        output = Linear(joinName(name, "output.dense"), inFeatures: i, outFeatures: h, std: std, rng: &rng)
        outputNorm = LayerNorm(joinName(name, "output.LayerNorm"), features: h, eps: config.layerNormEps)
    }

    public var parameters: [Parameter] {
        query.parameters + key.parameters + value.parameters + attentionOutput.parameters + attentionNorm.parameters
            + intermediate.parameters + output.parameters + outputNorm.parameters
    }

    /// x (B,T,H) → (B,T,H). Dropout applies when `training`.
    public func callAsFunction(_ x: Variable, masking: AttentionMasking, training: Bool, tape: Tape) -> Variable {
        let p = training ? config.hiddenDropout : 0
        let context = tape.attention(
            query: query(x, tape: tape), key: key(x, tape: tape), value: value(x, tape: tape), heads: config.heads,
            keyMask: masking.keyMask, causal: masking.causal, additiveMask: masking.additive,
            dropout: training ? config.attentionDropout : 0)
        let attended = tape.dropout(attentionOutput(context, tape: tape), probability: p)
        let h = attentionNorm(tape.add(attended, x), tape: tape)
        let ffn = tape.dropout(output(tape.gelu(intermediate(h, tape: tape)), tape: tape), probability: p)
        return outputNorm(tape.add(ffn, h), tape: tape)
    }
}
