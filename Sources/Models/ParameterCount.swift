/// Parameter counts of a configuration, by part, computed from the sizes alone (no allocation),
/// exactly as Hugging Face's modules hold them (tied decoder weights counted once).
public struct ParameterCount: Codable, Sendable, Equatable {
    /// Token, position, segment (and language) tables, their LayerNorm, and the E→H projection.
    public var embeddings: Int
    /// The distinct Transformer layer parameters (shared layers counted once), and a pre-LN
    /// stack's final LayerNorm.
    public var encoder: Int
    /// The pooler (dense H×H + bias), 0 when absent.
    public var pooler: Int
    /// The pretraining heads (MLM transform + output bias, NSP/SOP, RTD).
    public var heads: Int

    /// embeddings + encoder + pooler: what Hugging Face's `…Model` holds.
    public var backbone: Int { embeddings + encoder + pooler }
    /// Everything.
    public var total: Int { backbone + heads }

    public init(config c: EncoderConfiguration, heads: HeadSet) {
        let (v, e, h, i) = (c.vocabSize, c.embeddingSize, c.hiddenSize, c.intermediateSize)
        var emb = Self.embeddingTables(c)
        if c.family == .albert || e != h { emb += e * h + h }
        embeddings = emb
        let attention = 4 * (h * h + h) + 2 * h
        let feedForward = h * i + i + i * h + h + 2 * h
        switch c.sharing {
        case .none: encoder = c.layers * (attention + feedForward)
        case .all: encoder = c.hiddenGroups * c.innerGroupNum * (attention + feedForward)
        case .attention: encoder = c.hiddenGroups * attention + c.layers * feedForward
        case .feedForward: encoder = c.layers * attention + c.hiddenGroups * feedForward
        }
        if CheckpointLayout.of(c.family).finalNorm != nil { encoder += 2 * h }
        pooler = c.pooler && PretrainingModel.hasPooler(family: c.family, heads: heads) ? h * h + h : 0
        var head = 0
        if heads.contains(.maskedLM) { head += h * e + e + 2 * e + v }
        if heads.contains(.sentencePair) { head += 2 * h + 2 }
        if heads.contains(.replacedToken) { head += h * h + h + h + 1 }
        // The causal LM head is the tied token table: nothing of its own.
        self.heads = head
    }

    /// The token, position and segment tables and their LayerNorm (what ELECTRA's two networks share).
    public static func embeddingTables(_ c: EncoderConfiguration) -> Int {
        let names = CheckpointLayout.of(c.family).embeddings
        let types = names.tokenTypes == nil ? 0 : c.typeVocabSize
        return (c.vocabSize + c.maxPositions + types + c.languages) * c.embeddingSize + (names.norm == nil ? 0 : 2 * c.embeddingSize)
    }

    /// ELECTRA's generator for discriminator `c` (`electraGenerator(fraction:)`): the parameters it
    /// adds — its E→H projection, layers and MLM head — beside the shared embedding tables.
    public static func electraGeneratorOwn(discriminator c: EncoderConfiguration, fraction: Double = 0.25) -> Int {
        let g = c.electraGenerator(fraction: fraction)
        return ParameterCount(config: g, heads: [.maskedLM]).total - embeddingTables(g)
    }
}
