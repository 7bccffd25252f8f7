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

/// Where a block's LayerNorm sits.
public enum LayerNormPlacement: Sendable, Equatable {
    /// After the residual sum: LayerNorm(x + f(x)) (Vaswani et al. 2017; BERT and its successors).
    case post
    /// Before the sub-layer, on its input only: x + f(LayerNorm(x)) (GPT-2, Radford et al. 2019
    /// §2.3), with a final LayerNorm after the last layer.
    case pre
}

/// Sizes, dropout and LayerNorm placement of one Transformer layer.
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
    public var normPlacement: LayerNormPlacement

    public init(hiddenSize: Int, heads: Int, intermediateSize: Int, hiddenDropout: Float = 0.1,
                attentionDropout: Float = 0.1, layerNormEps: Float = 1e-12, activation: Activation = .gelu,
                normPlacement: LayerNormPlacement = .post) {
        precondition(hiddenSize % heads == 0, "hidden size \(hiddenSize) is not a multiple of \(heads) heads")
        self.hiddenSize = hiddenSize
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.layerNormEps = layerNormEps
        self.activation = activation
        self.normPlacement = normPlacement
    }
}

/// Checkpoint names of a layer's sub-modules, relative to the layer's prefix.
public struct TransformerLayerNames: Sendable, Equatable {
    /// The query, key and value projections: three names, or one for a fused (H → 3H) projection
    /// whose output columns are [Q | K | V] (GPT-2's `c_attn`).
    public var queryKeyValue: [String]
    /// The attention block's LayerNorm: after its residual (post-LN) or on its input (pre-LN).
    public var attentionNorm: String
    public var attentionOutput, intermediate, output, outputNorm: String

    public init(queryKeyValue: [String], attentionOutput: String, attentionNorm: String, intermediate: String, output: String,
                outputNorm: String) {
        precondition(queryKeyValue.count == 3 || queryKeyValue.count == 1, "Q/K/V: three names or one fused")
        (self.queryKeyValue, self.attentionOutput, self.attentionNorm) = (queryKeyValue, attentionOutput, attentionNorm)
        (self.intermediate, self.output, self.outputNorm) = (intermediate, output, outputNorm)
    }

    init(query: String, key: String, value: String, attentionOutput: String, attentionNorm: String, intermediate: String,
         output: String, outputNorm: String) {
        self.init(queryKeyValue: [query, key, value], attentionOutput: attentionOutput, attentionNorm: attentionNorm,
                  intermediate: intermediate, output: output, outputNorm: outputNorm)
    }

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
    /// GPT-2's `Block` (`ln_1` and `ln_2` on the sub-layers' inputs).
    public static let gpt2 = TransformerLayerNames(
        queryKeyValue: ["attn.c_attn"], attentionOutput: "attn.c_proj", attentionNorm: "ln_1",
        intermediate: "mlp.c_fc", output: "mlp.c_proj", outputNorm: "ln_2")
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

/// The rows of a layer's output that a caller will read, as a rectangular (B,Q) selection.
///
/// An MLM loss reads the final hidden states at the masked positions only (~15 %), so the last
/// layer needs queries, the output projection, the feed-forward block and their LayerNorms just
/// for those rows; keys and values still cover every position. The loss and every gradient are
/// exactly those of the full computation — only work whose result nobody reads is skipped.
public struct RowSelection: Sendable, Equatable {
    /// Flat indices into the B·T rows, `perSequence` per sequence, sequences in order (B·Q).
    public let rows: [Int32]
    /// Q, the selected rows per sequence.
    public let perSequence: Int
    /// For each flat position of B·T, its row in the selected (B·Q) output, or −1.
    public let rowOfPosition: [Int32]

    /// The rows holding `positions` (flat indices into B·T, any order, repeats allowed). Each
    /// sequence's first position ([CLS], which a pooler reads) is always selected, and sequences
    /// with fewer rows than the longest are padded by repeating it. Nil when a position is out of
    /// range or the selection would keep more than half of the rows (no work saved worth having).
    public init?(positions: [Int32], batch: Int, length: Int) {
        guard batch > 0, length > 0 else { return nil }
        var rowOf = [Int32](repeating: -1, count: batch * length)
        var perSequence = Array(repeating: [Int32](), count: batch)
        for b in 0..<batch { perSequence[b].append(Int32(b * length)); rowOf[b * length] = 0 }
        for p in positions {
            guard p >= 0, Int(p) < batch * length else { return nil }
            let b = Int(p) / length
            if rowOf[Int(p)] < 0 {
                rowOf[Int(p)] = Int32(perSequence[b].count)
                perSequence[b].append(p)
            }
        }
        let q = perSequence.map(\.count).max()!
        guard 2 * q <= length else { return nil }
        var rows = [Int32]()
        rows.reserveCapacity(batch * q)
        for b in 0..<batch {
            rows += perSequence[b] + Array(repeating: Int32(b * length), count: q - perSequence[b].count)
        }
        for (p, r) in rowOf.enumerated() where r >= 0 { rowOf[p] = Int32(p / length * q) + r }
        (self.rows, self.perSequence, self.rowOfPosition) = (rows, q, rowOf)
    }

    /// The selected rows holding `positions` (each must be selected).
    public func selectedRows(_ positions: [Int32]) -> [Int32] {
        positions.map { p in
            let r = rowOfPosition[Int(p)]
            precondition(r >= 0, "RowSelection: position \(p) was not selected")
            return r
        }
    }
}

/// Multi-head self-attention with its output projection, dropout, residual and LayerNorm.
public final class AttentionBlock: Module {
    /// Q, K and V (H → H each), or one fused H → 3H projection with columns [Q | K | V] (GPT-2).
    public let queryKeyValue: [Linear]
    public let output: Linear
    public let norm: LayerNorm
    public let heads: Int
    public let normPlacement: LayerNormPlacement

    public init(_ prefix: String, names: TransformerLayerNames, config: TransformerLayerConfig, std: Float,
                outputStd: Float? = nil, rng: inout RandomGenerator) {
        let h = config.hiddenSize
        heads = config.heads
        let width = names.queryKeyValue.count == 1 ? 3 * h : h
        queryKeyValue = names.queryKeyValue.map { Linear(joinName(prefix, $0), inFeatures: h, outFeatures: width, std: std, rng: &rng) }
        output = Linear(joinName(prefix, names.attentionOutput), inFeatures: h, outFeatures: h, std: outputStd ?? std, rng: &rng)
        norm = LayerNorm(joinName(prefix, names.attentionNorm), features: h, eps: config.layerNormEps)
        normPlacement = config.normPlacement
    }

    public var parameters: [Parameter] { queryKeyValue.flatMap(\.parameters) + output.parameters + norm.parameters }

    /// The packed (…, 3H) [Q | K | V] of `x`: one matrix product, read in place by the fused attention.
    public func packedQueryKeyValue(_ x: Variable, tape: Tape) -> Variable {
        tape.linear(x, weights: queryKeyValue.map { tape.parameter($0.weight) }, biases: queryKeyValue.map { tape.parameter($0.bias!) })
    }

    /// x (B,T,H) → LayerNorm(x + dropout(Attention(x)·Wₒ)) (post-LN), or
    /// x + dropout(Attention(LayerNorm(x))·Wₒ) (pre-LN).
    public func callAsFunction(_ x: Variable, masking: AttentionMasking, hiddenDropout: Float, attentionDropout: Float, tape: Tape) -> Variable {
        let input = normPlacement == .pre ? norm(x, tape: tape) : x
        let context = tape.attention(packed: packedQueryKeyValue(input, tape: tape), heads: heads, keyMask: masking.keyMask,
                                     causal: masking.causal, additiveMask: masking.additive, dropout: attentionDropout)
        let attended = tape.dropout(output(context, tape: tape), probability: hiddenDropout)
        return normPlacement == .pre ? tape.add(attended, x) : norm(tape.add(attended, x), tape: tape)
    }

    /// x (B,T,H) → the `selection`'s rows (B,Q,H) of the output: keys and values from every
    /// position, everything else for the selected rows only. No causal or additive masks;
    /// post-LN blocks with separate Q, K and V only (the encoders that select rows).
    public func callAsFunction(_ x: Variable, selecting selection: RowSelection, keyMask: Tensor?,
                               hiddenDropout: Float, attentionDropout: Float, tape: Tape) throws -> Variable {
        precondition(queryKeyValue.count == 3 && normPlacement == .post, "row selection needs a post-LN block with separate Q, K, V")
        let (query, key, value) = (queryKeyValue[0], queryKeyValue[1], queryKeyValue[2])
        let (b, t, h) = (x.shape[0], x.shape[1], x.shape[2])
        let picked = try tape.gather(tape.reshape(x, [b * t, h]), indices: selection.rows)
        let residual = tape.reshape(picked, [b, selection.perSequence, h])
        let q = query(residual, tape: tape)
        let kv = tape.linear(x, weights: [key, value].map { tape.parameter($0.weight) },
                             biases: [key, value].map { tape.parameter($0.bias!) })
        let context = tape.attention(query: q, packedKeyValue: kv, heads: heads, keyMask: keyMask, dropout: attentionDropout)
        let attended = tape.dropout(output(context, tape: tape), probability: hiddenDropout)
        return norm(tape.add(attended, residual), tape: tape)
    }
}

extension AttentionBlock {
    /// XLNet's two-stream attention (Yang et al. 2019, §2.3) with this block's one set of weights:
    /// the content stream h (B,T,H) and the query stream g (B,Q,H) both attend to the keys and
    /// values of h, each under its own additive mask (``PermutationMasks``); each stream then gets
    /// the output projection, dropout, its own residual and the LayerNorm. K and V are computed
    /// once for both. With `computesContent` false (the last layer: nothing reads h after it)
    /// the content stream's queries and outputs are skipped and nil is returned for it.
    /// Post-LN blocks with separate Q, K and V (BERT, RoBERTa, ALBERT, ELECTRA).
    public func twoStream(content h: Variable, query g: Variable, keyMask: Tensor?, contentMask: Tensor, queryMask: Tensor,
                          computesContent: Bool, hiddenDropout: Float, attentionDropout: Float, tape: Tape) -> (content: Variable?, query: Variable) {
        precondition(queryKeyValue.count == 3 && normPlacement == .post, "two-stream attention needs a post-LN block with separate Q, K, V")
        let (query, key, value) = (queryKeyValue[0], queryKeyValue[1], queryKeyValue[2])
        let kv = tape.linear(h, weights: [key, value].map { tape.parameter($0.weight) }, biases: [key, value].map { tape.parameter($0.bias!) })
        func stream(_ x: Variable, mask: Tensor) -> Variable {
            let context = tape.attention(query: query(x, tape: tape), packedKeyValue: kv, heads: heads, keyMask: keyMask,
                                         additiveMask: mask, dropout: attentionDropout)
            return norm(tape.add(tape.dropout(output(context, tape: tape), probability: hiddenDropout), x), tape: tape)
        }
        return (computesContent ? stream(h, mask: contentMask) : nil, stream(g, mask: queryMask))
    }
}

/// The position-wise feed-forward block with dropout, residual and LayerNorm.
public final class FeedForwardBlock: Module {
    public let intermediate, output: Linear
    public let norm: LayerNorm
    public let activation: Activation
    public let normPlacement: LayerNormPlacement

    public init(_ prefix: String, names: TransformerLayerNames, config: TransformerLayerConfig, std: Float,
                outputStd: Float? = nil, rng: inout RandomGenerator) {
        let h = config.hiddenSize, i = config.intermediateSize
        intermediate = Linear(joinName(prefix, names.intermediate), inFeatures: h, outFeatures: i, std: std, rng: &rng)
        output = Linear(joinName(prefix, names.output), inFeatures: i, outFeatures: h, std: outputStd ?? std, rng: &rng)
        norm = LayerNorm(joinName(prefix, names.outputNorm), features: h, eps: config.layerNormEps)
        activation = config.activation
        normPlacement = config.normPlacement
    }

    public var parameters: [Parameter] { intermediate.parameters + output.parameters + norm.parameters }

    /// h (B,T,H) → LayerNorm(h + dropout(W₂·act(W₁·h))) (post-LN), or
    /// h + dropout(W₂·act(W₁·LayerNorm(h))) (pre-LN).
    public func callAsFunction(_ h: Variable, hiddenDropout: Float, tape: Tape) -> Variable {
        let input = normPlacement == .pre ? norm(h, tape: tape) : h
        let ffn = tape.dropout(output(activation(intermediate(input, tape: tape), tape: tape), tape: tape), probability: hiddenDropout)
        return normPlacement == .pre ? tape.add(ffn, h) : norm(tape.add(ffn, h), tape: tape)
    }
}

/// One Transformer layer (Vaswani et al. 2017; Devlin et al. 2019): self-attention and a GELU
/// feed-forward block, each with dropout, a residual connection and LayerNorm — after the
/// residual (post-LN, BERT) or on the block's input (pre-LN, GPT-2).
///
/// The two blocks are separate objects so layers can share either or both (ALBERT, Lan et al.
/// 2020, §3.1 and Table 4). Parameter names follow the Hugging Face layer given by `names`.
public final class TransformerLayer: Module {
    public let config: TransformerLayerConfig
    public let attention: AttentionBlock
    public let feedForward: FeedForwardBlock

    /// A layer with its own parameters, named `prefix.<names…>`.
    /// `outputStd` initialises the two residual output projections (GPT-2: std/√(2·layers)).
    public convenience init(_ prefix: String, config: TransformerLayerConfig, names: TransformerLayerNames = .bert,
                            std: Float = 0.02, outputStd: Float? = nil, rng: inout RandomGenerator) {
        self.init(config: config,
                  attention: AttentionBlock(prefix, names: names, config: config, std: std, outputStd: outputStd, rng: &rng),
                  feedForward: FeedForwardBlock(prefix, names: names, config: config, std: std, outputStd: outputStd, rng: &rng))
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

    /// Two-stream attention (``AttentionBlock/twoStream(content:query:keyMask:contentMask:queryMask:computesContent:hiddenDropout:attentionDropout:tape:)``),
    /// then the feed-forward block on each stream.
    public func twoStream(content h: Variable, query g: Variable, keyMask: Tensor?, contentMask: Tensor, queryMask: Tensor,
                          computesContent: Bool, training: Bool, tape: Tape) -> (content: Variable?, query: Variable) {
        let p = training ? config.hiddenDropout : 0
        let (h2, g2) = attention.twoStream(content: h, query: g, keyMask: keyMask, contentMask: contentMask, queryMask: queryMask,
                                           computesContent: computesContent, hiddenDropout: p,
                                           attentionDropout: training ? config.attentionDropout : 0, tape: tape)
        return (h2.map { feedForward($0, hiddenDropout: p, tape: tape) }, feedForward(g2, hiddenDropout: p, tape: tape))
    }

    /// x (B,T,H) → the `selection`'s rows (B,Q,H) of the output (see ``RowSelection``); the
    /// masking may only hide keys (padding).
    public func callAsFunction(_ x: Variable, selecting selection: RowSelection, keyMask: Tensor?, training: Bool, tape: Tape) throws -> Variable {
        let p = training ? config.hiddenDropout : 0
        let h = try attention(x, selecting: selection, keyMask: keyMask, hiddenDropout: p,
                              attentionDropout: training ? config.attentionDropout : 0, tape: tape)
        return feedForward(h, hiddenDropout: p, tape: tape)
    }
}
