/// One description of every BERT-family encoder this package builds.
///
/// The variants of the papers are options of this one struct, not separate model types
/// (as in Swift for TensorFlow's swift-models):
/// - BERT (Devlin et al. 2019): the defaults.
/// - RoBERTa (Liu et al. 2019): byte-level BPE vocabulary, `positionOffset = padTokenId + 1`,
///   one token type.
/// - ALBERT (Lan et al. 2020): `embeddingSize < hiddenSize` (factorised V×E + E×H),
///   `sharing = .all` with `hiddenGroups`/`innerGroupNum`, plus the paper's ablations
///   `.attention` and `.feedForward`.
/// - ELECTRA (Clark et al. 2020): `embeddingSize` may differ from `hiddenSize` (an E→H
///   projection), no pooler.
/// - DistilBERT (Sanh et al. 2019): no token types (`typeVocabSize = 0`), no pooler.
/// - GPT-2 (Radford et al. 2019): `causal`, no token types, no pooler; the family also brings
///   pre-LN blocks with a final LayerNorm, no embedding LayerNorm, one fused Q/K/V projection and
///   an LM head tied to the token table without a bias (see `Models.CheckpointLayout`). GPT-2 has
///   no padding token: `padTokenId` holds its end-of-text id, which batches pad with (attention
///   masks hide it), as transformers users do.
///
/// Hugging Face `config.json` files map onto this struct through the `…ConfigFile` mirrors.
public struct EncoderConfiguration: Codable, Sendable, Equatable {
    /// Which Hugging Face model family (and so which checkpoint names and config.json keys).
    public enum Family: String, Codable, Sendable, CaseIterable {
        case bert, roberta, albert, electra, distilbert, gpt2
    }

    /// Cross-layer parameter sharing (ALBERT §3.1 and its Table 4 ablations).
    public enum Sharing: String, Codable, Sendable, CaseIterable {
        /// Every layer has its own parameters (BERT).
        case none
        /// All layer parameters shared, in `hiddenGroups` groups (ALBERT default: one group).
        case all
        /// Only the attention sub-block is shared.
        case attention
        /// Only the feed-forward sub-block is shared.
        case feedForward = "ffn"
    }

    public var family: Family
    public var vocabSize: Int
    public var hiddenSize: Int
    /// Width of the token embeddings; equal to `hiddenSize` unless factorised (ALBERT, ELECTRA).
    public var embeddingSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    /// Activation in the feed-forward block (`"gelu"`, exact erf form).
    public var hiddenAct: String
    public var hiddenDropout: Float
    public var attentionDropout: Float
    public var maxPositions: Int
    /// Number of segment (token type) ids; 0 means no segment embeddings (DistilBERT).
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var initializerRange: Float
    public var padTokenId: Int
    /// First position id (RoBERTa: `padTokenId + 1`; others 0).
    public var positionOffset: Int
    public var sharing: Sharing
    /// ALBERT `num_hidden_groups`: layer i uses group ⌊i·G/L⌋.
    public var hiddenGroups: Int
    /// ALBERT `inner_group_num`: layers inside one group.
    public var innerGroupNum: Int
    /// Whether the model has a pooler (dense + tanh on [CLS]).
    public var pooler: Bool
    /// GPT-style causal attention: position i sees positions ≤ i (GPT-2, CLM).
    public var causal: Bool
    /// Languages with an embedding of their own added to every token (XLM's `lang_embeddings`,
    /// config key `n_langs`; ids come with the input, ``EncoderInput``); 0 = no language table.
    public var languages = 0

    public init(
        family: Family = .bert, vocabSize: Int = 30522, hiddenSize: Int = 768, embeddingSize: Int? = nil,
        layers: Int = 12, heads: Int = 12, intermediateSize: Int? = nil, hiddenAct: String = "gelu",
        hiddenDropout: Float = 0.1, attentionDropout: Float = 0.1, maxPositions: Int = 512, typeVocabSize: Int = 2,
        layerNormEps: Float = 1e-12, initializerRange: Float = 0.02, padTokenId: Int = 0, positionOffset: Int = 0,
        sharing: Sharing = .none, hiddenGroups: Int = 1, innerGroupNum: Int = 1, pooler: Bool = true, causal: Bool = false
    ) {
        self.family = family
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.embeddingSize = embeddingSize ?? hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize ?? 4 * hiddenSize
        self.hiddenAct = hiddenAct
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.initializerRange = initializerRange
        self.padTokenId = padTokenId
        self.positionOffset = positionOffset
        self.sharing = sharing
        self.hiddenGroups = hiddenGroups
        self.innerGroupNum = innerGroupNum
        self.pooler = pooler
        self.causal = causal
    }
}
