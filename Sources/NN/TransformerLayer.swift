/// The activation of a feed-forward block (Hugging Face `hidden_act`).
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// Exact GELU with erf (BERT, RoBERTa, ELECTRA, DistilBERT).
    case gelu
    /// The tanh approximation (`gelu_new`; ALBERT's default).
    case geluTanh = "gelu_new"

    /// Parses a `hidden_act` string; nil for activations this package does not implement.
    public init?(huggingFaceName name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        default: return nil
        }
    }

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        switch self {
        case .gelu: return tape.gelu(x)
        case .geluTanh: return tape.geluTanh(x)
        }
    }
}

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
    public var activation: Activation

    public init(hiddenSize: Int, heads: Int, intermediateSize: Int, hiddenDropout: Float = 0.1,
                attentionDropout: Float = 0.1, layerNormEps: Float = 1e-12, activation: Activation = .gelu) {
        precondition(hiddenSize % heads == 0, "hidden size \(hiddenSize) is not a multiple of \(heads) heads")
        self.hiddenSize = hiddenSize
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.layerNormEps = layerNormEps
        self.activation = activation
    }
}

/// Checkpoint names of a layer's eight sub-modules, relative to the layer's prefix.
public struct TransformerLayerNames: Sendable, Equatable {
    public var query, key, value, attentionOutput, attentionNorm, intermediate, output, outputNorm: String

    /// `BertLayer` (also RoBERTa and ELECTRA).
    public static let bert = TransformerLayerNames(
        query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
        attentionOutput: "attention.output.dense", attentionNorm: "attention.output.LayerNorm",
        intermediate: "intermediate.dense", output: "output.dense", outputNorm: "output.LayerNorm")
    /// `AlbertLayer`.
    public static let albert = TransformerLayerNames(
        query: "attention.query", key: "attention.key", value: "attention.value",
        attentionOutput: "attention.dense", attentionNorm: "attention.LayerNorm",
        intermediate: "ffn", output: "ffn_output", outputNorm: "full_layer_layer_norm")
    /// DistilBERT's `TransformerBlock`.
    public static let distilbert = TransformerLayerNames(
        query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin",
        attentionOutput: "attention.out_lin", attentionNorm: "sa_layer_norm",
        intermediate: "ffn.lin1", output: "ffn.lin2", outputNorm: "output_layer_norm")
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

/// Multi-head self-attention with its output projection, dropout, residual and LayerNorm.
public final class AttentionBlock: Module {
    public let query, key, value, output: Linear
    public let norm: LayerNorm
    public let heads: Int

    public init(_ prefix: String, names: TransformerLayerNames, config: TransformerLayerConfig, std: Float, rng: inout RandomGenerator) {
        let h = config.hiddenSize
        heads = config.heads
        query = Linear(joinName(prefix, names.query), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        key = Linear(joinName(prefix, names.key), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        value = Linear(joinName(prefix, names.value), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        output = Linear(joinName(prefix, names.attentionOutput), inFeatures: h, outFeatures: h, std: std, rng: &rng)
        norm = LayerNorm(joinName(prefix, names.attentionNorm), features: h, eps: config.layerNormEps)
    }

    public var parameters: [Parameter] {
        query.parameters + key.parameters + value.parameters + output.parameters + norm.parameters
    }

    /// x (B,T,H) → LayerNorm(x + dropout(Attention(x)·Wₒ))
    public func callAsFunction(_ x: Variable, masking: AttentionMasking, hiddenDropout: Float, attentionDropout: Float, tape: Tape) -> Variable {
        // Q, K and V as one matrix product, read in place by the fused attention.
        let qkv = tape.linear(x, weights: [query, key, value].map { tape.parameter($0.weight) },
                              biases: [query, key, value].map { tape.parameter($0.bias!) })
        let context = tape.attention(packed: qkv, heads: heads, keyMask: masking.keyMask, causal: masking.causal,
                                     additiveMask: masking.additive, dropout: attentionDropout)
        let attended = tape.dropout(output(context, tape: tape), probability: hiddenDropout)
        return norm(tape.add(attended, x), tape: tape)
    }
}

/// The position-wise feed-forward block with dropout, residual and LayerNorm.
public final class FeedForwardBlock: Module {
    public let intermediate, output: Linear
    public let norm: LayerNorm
    public let activation: Activation

    public init(_ prefix: String, names: TransformerLayerNames, config: TransformerLayerConfig, std: Float, rng: inout RandomGenerator) {
        let h = config.hiddenSize, i = config.intermediateSize
        intermediate = Linear(joinName(prefix, names.intermediate), inFeatures: h, outFeatures: i, std: std, rng: &rng)
        output = Linear(joinName(prefix, names.output), inFeatures: i, outFeatures: h, std: std, rng: &rng)
        norm = LayerNorm(joinName(prefix, names.outputNorm), features: h, eps: config.layerNormEps)
        activation = config.activation
    }

    public var parameters: [Parameter] { intermediate.parameters + output.parameters + norm.parameters }

    /// h (B,T,H) → LayerNorm(h + dropout(W₂·act(W₁·h)))
    public func callAsFunction(_ h: Variable, hiddenDropout: Float, tape: Tape) -> Variable {
        let ffn = tape.dropout(output(activation(intermediate(h, tape: tape), tape: tape), tape: tape), probability: hiddenDropout)
        return norm(tape.add(ffn, h), tape: tape)
    }
}

/// One BERT encoder layer (Vaswani et al. 2017; Devlin et al. 2019): self-attention and a GELU
/// feed-forward block, each followed by dropout, a residual connection and LayerNorm (post-LN).
///
/// The two blocks are separate objects so layers can share either or both (ALBERT, Lan et al.
/// 2020, §3.1 and Table 4). Parameter names follow the Hugging Face layer given by `names`.
public final class TransformerLayer: Module {
    public let config: TransformerLayerConfig
    public let attention: AttentionBlock
    public let feedForward: FeedForwardBlock

    /// A layer with its own parameters, named `prefix.<names…>`.
    public convenience init(_ prefix: String, config: TransformerLayerConfig, names: TransformerLayerNames = .bert,
                            std: Float = 0.02, rng: inout RandomGenerator) {
        self.init(config: config,
                  attention: AttentionBlock(prefix, names: names, config: config, std: std, rng: &rng),
                  feedForward: FeedForwardBlock(prefix, names: names, config: config, std: std, rng: &rng))
    }

    /// A layer made of existing (possibly shared) blocks.
    public init(config: TransformerLayerConfig, attention: AttentionBlock, feedForward: FeedForwardBlock) {
        self.config = config
        self.attention = attention
        self.feedForward = feedForward
    }

    public var parameters: [Parameter] { attention.parameters + feedForward.parameters }

    /// x (B,T,H) → (B,T,H). Dropout applies when `training`.
    public func callAsFunction(_ x: Variable, masking: AttentionMasking, training: Bool, tape: Tape) -> Variable {
        let p = training ? config.hiddenDropout : 0
        let h = attention(x, masking: masking, hiddenDropout: p, attentionDropout: training ? config.attentionDropout : 0, tape: tape)
        return feedForward(h, hiddenDropout: p, tape: tape)
    }
}
