import Foundation
/// How each family lays out its blocks and names them, as Hugging Face's modeling files define it.
public struct CheckpointLayout: Sendable {
    /// Prefix of the base model inside task models (`bert`, `roberta`, `albert`, `electra`,
    /// `distilbert`, `transformer`).
    public let basePrefix: String
    /// Names inside one layer.
    public let layerNames: TransformerLayerNames
    /// Where layer `i` lives (unshared layers).
    public let layerPath: String
    /// The E→H projection, when the family has one.
    public let projection: String?
    /// The pooler, when the family has one.
    public let pooler: String?
    /// The embedding tables and their LayerNorm, relative to the base prefix.
    public var embeddings = EmbeddingNames.bert
    /// Post-LN (BERT) or pre-LN blocks with a final LayerNorm of this name (GPT-2's `ln_f`).
    public var normPlacement = LayerNormPlacement.post
    public var finalNorm: String?
    /// GPT-2 stores its projections as `Conv1D` weights, (in, out): the transpose of the
    /// (out, in) `Linear` weights here. Loading and saving transpose them (``storesTransposed(_:)``).
    public var conv1DWeights = false

    /// Names of the embedding tables (nil: the family has none of that part).
    public struct EmbeddingNames: Sendable {
        public let words, positions: String
        public let tokenTypes, norm: String?
        /// The language table (only with `n_langs`; transformers' BERT family has none, so the
        /// name follows its `embeddings.*` pattern).
        public var languages = "embeddings.language_embeddings"
        public static let bert = EmbeddingNames(words: "embeddings.word_embeddings", positions: "embeddings.position_embeddings",
                                                tokenTypes: "embeddings.token_type_embeddings", norm: "embeddings.LayerNorm")
        /// GPT-2: `wte`, `wpe`, no segments, no LayerNorm (its blocks normalise their inputs).
        public static let gpt2 = EmbeddingNames(words: "wte", positions: "wpe", tokenTypes: nil, norm: nil)
    }

    public static func of(_ family: EncoderConfiguration.Family) -> CheckpointLayout {
        switch family {
        case .bert: return CheckpointLayout(basePrefix: "bert", layerNames: .bert, layerPath: "encoder.layer", projection: nil, pooler: "pooler.dense")
        case .roberta: return CheckpointLayout(basePrefix: "roberta", layerNames: .bert, layerPath: "encoder.layer", projection: nil, pooler: "pooler.dense")
        case .electra: return CheckpointLayout(basePrefix: "electra", layerNames: .bert, layerPath: "encoder.layer", projection: "embeddings_project", pooler: nil)
        case .albert: return CheckpointLayout(basePrefix: "albert", layerNames: .albert, layerPath: "encoder.layer",
                                              projection: "encoder.embedding_hidden_mapping_in", pooler: "pooler")
        case .distilbert: return CheckpointLayout(basePrefix: "distilbert", layerNames: .distilbert, layerPath: "transformer.layer", projection: nil, pooler: nil)
        case .gpt2:
            return CheckpointLayout(basePrefix: "transformer", layerNames: .gpt2, layerPath: "h", projection: nil, pooler: nil,
                                    embeddings: .gpt2, normPlacement: .pre, finalNorm: "ln_f", conv1DWeights: true)
        }
    }

    /// Whether the file holds parameter `name` transposed (a GPT-2 `Conv1D` weight).
    public func storesTransposed(_ name: String) -> Bool {
        conv1DWeights && ["c_attn.weight", "c_proj.weight", "c_fc.weight"].contains { name.hasSuffix("." + $0) }
    }
}

/// Final hidden states (B,T,H) and, when the model has a pooler, tanh(W·h_[CLS] + b) (B,H).
public struct EncoderOutput {
    /// (B,T,H); (B,Q,H) when ``selection`` is set.
    public var hidden: Variable
    public var pooled: Variable?
    /// Set when the encoder computed only some rows of its last layer: `hidden` then holds the
    /// selection's rows.
    public var selection: RowSelection?

    public init(hidden: Variable, pooled: Variable?, selection: RowSelection? = nil) {
        (self.hidden, self.pooled, self.selection) = (hidden, pooled, selection)
    }

    /// The rows of `hidden` (flattened) holding the given flat positions into B·T.
    public func rows(at positions: [Int32]) -> [Int32] {
        selection?.selectedRows(positions) ?? positions
    }
}

/// The BERT-family encoder: embeddings, an optional E→H projection (ALBERT's factorised
/// embeddings, Lan et al. 2020 §3.1; ELECTRA's `embeddings_project`), a stack of post-LN
/// Transformer layers that may share parameters, and an optional pooler — or, for GPT-2, the
/// same stack as causal pre-LN blocks with a final LayerNorm.
public final class Encoder: Module {
    public let config: EncoderConfiguration
    public let layout: CheckpointLayout
    public let embeddings: EncoderEmbeddings
    public let projection: Linear?
    /// The layers in execution order; shared layers appear more than once.
    public let layers: [TransformerLayer]
    /// After the last layer of a pre-LN stack (GPT-2's `ln_f`).
    public let finalNorm: LayerNorm?
    public let pooler: Linear?

    /// A randomly initialised encoder (N(0, initializer_range²) weights, as Hugging Face does).
    ///
    /// With `sharedEmbeddings`, the encoder reads another encoder's embedding module (token,
    /// position and token-type tables and their LayerNorm) instead of owning one: ELECTRA's
    /// generator and discriminator (Clark et al. 2020, §3.2). Its width must be this config's
    /// `embeddingSize`; each encoder keeps its own E→H projection.
    public init(config: EncoderConfiguration, sharedEmbeddings: EncoderEmbeddings? = nil, rng: inout RandomGenerator) throws {
        try Encoder.validate(config)
        self.config = config
        let layout = CheckpointLayout.of(config.family)
        self.layout = layout
        let base = layout.basePrefix
        let std = config.initializerRange
        if let shared = sharedEmbeddings {
            let c = shared.config
            guard c.embeddingSize == config.embeddingSize, c.vocabSize == config.vocabSize, c.maxPositions == config.maxPositions,
                  c.typeVocabSize == config.typeVocabSize, c.languages == config.languages else {
                throw ModelError.invalidConfiguration("shared embeddings (vocab \(c.vocabSize), width \(c.embeddingSize), \(c.maxPositions) positions, \(c.typeVocabSize) types) do not fit this encoder (vocab \(config.vocabSize), width \(config.embeddingSize), \(config.maxPositions) positions, \(config.typeVocabSize) types)")
            }
            embeddings = shared
        } else {
            embeddings = EncoderEmbeddings(base, names: layout.embeddings, config: config, rng: &rng)
        }
        let needsProjection = config.family == .albert || config.embeddingSize != config.hiddenSize
        if needsProjection {
            guard let name = layout.projection else {
                throw ModelError.invalidConfiguration("\(config.family.rawValue) has no embedding projection; embeddingSize must equal hiddenSize")
            }
            projection = Linear(joinName(base, name), inFeatures: config.embeddingSize, outFeatures: config.hiddenSize, std: std, rng: &rng)
        } else {
            projection = nil
        }
        guard let activation = Activation(huggingFaceName: config.hiddenAct) else { throw ModelError.unsupportedActivation(config.hiddenAct) }
        let layerConfig = TransformerLayerConfig(
            hiddenSize: config.hiddenSize, heads: config.heads, intermediateSize: config.intermediateSize,
            hiddenDropout: config.hiddenDropout, attentionDropout: config.attentionDropout,
            layerNormEps: config.layerNormEps, activation: activation, normPlacement: layout.normPlacement)
        layers = Encoder.buildLayers(config: config, layout: layout, layerConfig: layerConfig, std: std, rng: &rng)
        finalNorm = layout.finalNorm.map { LayerNorm(joinName(base, $0), features: config.hiddenSize, eps: config.layerNormEps) }
        pooler = config.pooler ? Linear(joinName(base, layout.pooler ?? "pooler.dense"), inFeatures: config.hiddenSize,
                                        outFeatures: config.hiddenSize, std: std, rng: &rng) : nil
    }

    static func validate(_ c: EncoderConfiguration) throws {
        func fail(_ why: String) throws -> Never { throw ModelError.invalidConfiguration(why) }
        if c.vocabSize <= 0 || c.hiddenSize <= 0 || c.layers <= 0 || c.heads <= 0 || c.intermediateSize <= 0 || c.embeddingSize <= 0 {
            try fail("sizes must be positive (vocab \(c.vocabSize), hidden \(c.hiddenSize), layers \(c.layers), heads \(c.heads))")
        }
        if c.hiddenSize % c.heads != 0 { try fail("hidden size \(c.hiddenSize) is not a multiple of \(c.heads) heads") }
        if c.sharing != .none && (c.hiddenGroups < 1 || c.hiddenGroups > c.layers) {
            try fail("num_hidden_groups \(c.hiddenGroups) must be between 1 and the \(c.layers) layers")
        }
        if c.innerGroupNum < 1 { try fail("inner_group_num must be at least 1") }
        if c.innerGroupNum > 1 && c.sharing != .all { try fail("inner_group_num > 1 needs all-shared layers (ALBERT)") }
        if c.hiddenDropout < 0 || c.hiddenDropout >= 1 || c.attentionDropout < 0 || c.attentionDropout >= 1 {
            try fail("dropout probabilities must be in [0, 1)")
        }
        if c.family == .gpt2 {
            if !c.causal { try fail("GPT-2 is a causal model (is_decoder cannot be false)") }
            if c.typeVocabSize != 0 || c.pooler || c.embeddingSize != c.hiddenSize || c.sharing != .none || c.languages != 0 {
                try fail("GPT-2 has no token types, pooler, factorised embeddings, shared layers or language embeddings")
            }
        }
        if c.maxPositions <= c.positionOffset { try fail("max_position_embeddings \(c.maxPositions) leaves no positions after the offset \(c.positionOffset)") }
        // Sizes come from files and flags: each is held to a stated limit before anything is allocated.
        for (key, value, limit) in [("vocab_size", c.vocabSize, Limits.vocabulary), ("hidden_size", c.hiddenSize, Limits.width),
                                    ("embedding_size", c.embeddingSize, Limits.width), ("intermediate_size", c.intermediateSize, Limits.intermediate),
                                    ("num_hidden_layers", c.layers, Limits.layers), ("max_position_embeddings", c.maxPositions, Limits.positions),
                                    ("type_vocab_size", c.typeVocabSize, Limits.tokenTypes), ("inner_group_num", c.innerGroupNum, Limits.layers),
                                    ("n_langs", c.languages, Limits.tokenTypes)]
        where value > limit {
            try fail("\(key) \(value) is above the limit of \(limit)")
        }
        let bytes = Double(ParameterCount(config: c, heads: HeadSet.pretraining(c.family).union(.sentencePair)).total) * 8  // weights + gradients
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        if bytes > memory {
            try fail(String(format: "its weights and gradients need %.1f GiB, more than this machine's %.1f GiB of memory; check the sizes in config.json",
                            bytes / 1_073_741_824, memory / 1_073_741_824))
        }
    }

    /// The largest sizes a configuration may ask for (each well above any published model).
    public enum Limits {
        public static let vocabulary = 1 << 22, width = 1 << 16, intermediate = 1 << 18, layers = 1 << 10
        public static let positions = 1 << 20, tokenTypes = 1 << 16
    }

    /// Builds the execution order of layers for the sharing mode.
    ///
    /// - none: layer i has its own blocks at `<layout.layerPath>.i`. Pre-LN stacks (GPT-2)
    ///   initialise each residual output projection with std/√(2·layers) (Radford et al. 2019 §2.3).
    /// - ALBERT all-shared: group g = ⌊i·G/L⌋ runs its `innerGroupNum` layers, named
    ///   `albert.encoder.albert_layer_groups.g.albert_layers.k` exactly as Hugging Face.
    /// - Other families, or ALBERT's attention-only / FFN-only ablations: the shared blocks of
    ///   group g live at the name of that group's first layer; the unshared ones at their own layer.
    static func buildLayers(config c: EncoderConfiguration, layout: CheckpointLayout, layerConfig: TransformerLayerConfig,
                            std: Float, rng: inout RandomGenerator) -> [TransformerLayer] {
        let base = layout.basePrefix, names = layout.layerNames
        func layerName(_ i: Int) -> String { joinName(base, "\(layout.layerPath).\(i)") }
        func group(_ i: Int) -> Int { i * c.hiddenGroups / c.layers }
        let outputStd = layout.normPlacement == .pre ? std / Float(2 * c.layers).squareRoot() : std
        switch c.sharing {
        case .none:
            return (0..<c.layers).map {
                TransformerLayer(layerName($0), config: layerConfig, names: names, std: std, outputStd: outputStd, rng: &rng)
            }
        case .all where c.family == .albert:
            let groups = (0..<c.hiddenGroups).map { g in
                (0..<c.innerGroupNum).map { k in
                    TransformerLayer(joinName(base, "encoder.albert_layer_groups.\(g).albert_layers.\(k)"), config: layerConfig,
                                     names: names, std: std, rng: &rng)
                }
            }
            return (0..<c.layers).flatMap { groups[group($0)] }
        case .all, .attention, .feedForward:
            let firstOfGroup = (0..<c.hiddenGroups).map { g in (0..<c.layers).first { group($0) == g }! }
            let sharedAttention = firstOfGroup.map { AttentionBlock(layerName($0), names: names, config: layerConfig, std: std, rng: &rng) }
            let sharedFFN = firstOfGroup.map { FeedForwardBlock(layerName($0), names: names, config: layerConfig, std: std, rng: &rng) }
            let shareAttention = c.sharing != .feedForward, shareFFN = c.sharing != .attention
            return (0..<c.layers).map { i in
                TransformerLayer(
                    config: layerConfig,
                    attention: shareAttention ? sharedAttention[group(i)]
                        : AttentionBlock(layerName(i), names: names, config: layerConfig, std: std, rng: &rng),
                    feedForward: shareFFN ? sharedFFN[group(i)]
                        : FeedForwardBlock(layerName(i), names: names, config: layerConfig, std: std, rng: &rng))
            }
        }
    }

    /// Every distinct parameter once (shared blocks are listed at their first use).
    public var parameters: [Parameter] {
        var seen = Set<ObjectIdentifier>()
        var out: [Parameter] = []
        let all = embeddings.parameters + (projection?.parameters ?? []) + layers.flatMap(\.parameters) + (finalNorm?.parameters ?? [])
            + (pooler?.parameters ?? [])
        for p in all where seen.insert(ObjectIdentifier(p)).inserted { out.append(p) }
        return out
    }

    /// Forward FLOPs of the encoder on `sequences` inputs of `length` positions, counting the
    /// multiply-adds of its matrix products as 2 each (Kaplan et al. 2020's convention): the E→H
    /// projection, per layer Q/K/V/output (4·H²) and the feed-forward block (2·H·I) for every
    /// position, attention scores and weighted sums (2·T·H per position), and the pooler. Lookups,
    /// LayerNorms and activations are left out; so is any saving of ``RowSelection`` (the count is
    /// the model's, not this implementation's).
    public func forwardFLOPs(sequences: Int, length: Int) -> Double {
        let (h, i, e) = (Double(config.hiddenSize), Double(config.intermediateSize), Double(config.embeddingSize))
        let positions = Double(sequences * length)
        let perLayer = 2 * (4 * h * h + 2 * h * i) + 2 * 2 * Double(length) * h
        let projection = self.projection == nil ? 0 : 2 * e * h
        let pooler = self.pooler == nil ? 0 : 2 * h * h * Double(sequences)
        return positions * (projection + Double(layers.count) * perLayer) + pooler
    }

    /// The embedding part of the parameters (tables, embedding LayerNorm, E→H projection).
    public var embeddingParameters: [Parameter] { embeddings.parameters + (projection?.parameters ?? []) }

    /// input → hidden states (B,T,H) and the pooled [CLS] vector.
    ///
    /// With `readingOnly` (flat positions into B·T), the caller promises to read the final hidden
    /// states at those positions only (an MLM head at the masked tokens): the last layer then runs
    /// on those rows only (see ``RowSelection``) and the output's ``EncoderOutput/selection`` maps
    /// positions to rows. Causal and additive masks, or too many positions, fall back to all rows.
    public func callAsFunction(_ input: EncoderInput, training: Bool, tape: Tape, additiveMask: Tensor? = nil,
                               readingOnly positions: [Int32]? = nil) throws -> EncoderOutput {
        var h = try embeddings(input, training: training, tape: tape)
        if let projection { h = projection(h, tape: tape) }
        let masking = AttentionMasking(
            keyMask: input.attentionMask.map { Tensor($0, shape: [input.batch, input.length]) },
            causal: config.causal, additive: additiveMask)
        var selection: RowSelection?
        if let positions, !config.causal, additiveMask == nil, layout.normPlacement == .post {
            selection = RowSelection(positions: positions, batch: input.batch, length: input.length)
        }
        for (i, layer) in layers.enumerated() {
            if let selection, i == layers.count - 1 {
                h = try layer(h, selecting: selection, keyMask: masking.keyMask, training: training, tape: tape)
            } else {
                h = layer(h, masking: masking, training: training, tape: tape)
            }
        }
        if let finalNorm { h = finalNorm(h, tape: tape) }
        var pooled: Variable?
        if let pooler {
            let rows = selection?.perSequence ?? input.length
            let cls = try tape.gather(tape.reshape(h, [input.batch * rows, config.hiddenSize]),
                                      indices: (0..<input.batch).map { Int32($0 * rows) })
            pooled = tape.tanh(pooler(cls, tape: tape))
        }
        return EncoderOutput(hidden: h, pooled: pooled, selection: selection)
    }

    /// Permutation LM's two streams (XLNet, Yang et al. 2019, §2.3) on this encoder's layers, every
    /// weight shared: the content stream is the usual forward of `input` under `contentMask`
    /// (B,T,T); the query stream starts, for each of the Q target rows per sequence, from the
    /// embedding of `maskTokenID` at the target's position (with its token type and language) —
    /// MPNet's absolute positions, not XLNet's relative attention — and attends to the content
    /// stream under `queryMask` (B,Q,T). `targetPositions` (B·Q) are positions within each sequence.
    /// Returns the query stream after the last layer (B,Q,H), which an LM head reads; the last
    /// layer's content stream is not computed (nothing reads it).
    public func twoStream(_ input: EncoderInput, targetPositions: [Int32], queries q: Int, maskTokenID: Int32,
                          contentMask: Tensor, queryMask: Tensor, training: Bool, tape: Tape) throws -> Variable {
        let (b, t) = (input.batch, input.length)
        guard targetPositions.count == b * q, targetPositions.allSatisfy({ $0 >= 0 && Int($0) < t }),
              contentMask.count == b * t * t, queryMask.count == b * q * t else {
            throw ModelError.inputShape("two-stream attention: \(targetPositions.count) target positions, masks of \(contentMask.count) and \(queryMask.count) values for B=\(b), T=\(t), Q=\(q)")
        }
        guard layout.normPlacement == .post, layers.allSatisfy({ $0.attention.queryKeyValue.count == 3 }) else {
            throw ModelError.invalidConfiguration("two-stream attention runs on post-LN encoders with separate Q, K, V (BERT, RoBERTa, ALBERT, ELECTRA), not \(config.family.rawValue)")
        }
        let positions = input.positionIDs ?? embeddings.positionIDs(for: input)
        func atTargets(_ values: [Int32]?) -> [Int32]? {
            values.map { v in (0..<(b * q)).map { r in v[(r / q) * t + Int(targetPositions[r])] } }
        }
        let queryInput = EncoderInput(ids: [Int32](repeating: maskTokenID, count: b * q), tokenTypes: atTargets(input.tokenTypes),
                                      positionIDs: atTargets(positions), languages: atTargets(input.languages), batch: b, length: q)
        var h = try embeddings(input, training: training, tape: tape)
        var g = try embeddings(queryInput, training: training, tape: tape)
        if let projection { (h, g) = (projection(h, tape: tape), projection(g, tape: tape)) }
        let keyMask = input.attentionMask.map { Tensor($0, shape: [b, t]) }
        for (i, layer) in layers.enumerated() {
            let (content, query) = layer.twoStream(content: h, query: g, keyMask: keyMask, contentMask: contentMask, queryMask: queryMask,
                                                   computesContent: i < layers.count - 1, training: training, tape: tape)
            if let content { h = content }
            g = query
        }
        return g
    }
}
