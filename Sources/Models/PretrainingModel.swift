/// Which heads sit on top of the encoder.
public struct HeadSet: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Masked-LM head (tied decoder).
    public static let maskedLM = HeadSet(rawValue: 1)
    /// NSP (BERT) or SOP (ALBERT) on the pooled [CLS].
    public static let sentencePair = HeadSet(rawValue: 2)
    /// ELECTRA's replaced-token-detection head.
    public static let replacedToken = HeadSet(rawValue: 4)
    /// GPT-2's next-token head (tied to the token table, no bias).
    public static let causalLM = HeadSet(rawValue: 8)

    /// The heads each family pretrains with (BERT: MLM+NSP, ALBERT: MLM+SOP, ELECTRA: the
    /// discriminator's RTD head, RoBERTa and DistilBERT: MLM, GPT-2: the causal LM head).
    public static func pretraining(_ family: EncoderConfiguration.Family) -> HeadSet {
        switch family {
        case .bert, .albert: return [.maskedLM, .sentencePair]
        case .electra: return [.replacedToken]
        case .roberta, .distilbert: return [.maskedLM]
        case .gpt2: return [.causalLM]
        }
    }
}

/// The Hugging Face architecture name (`architectures` in config.json) for a family and heads,
/// and back.
public enum ArchitectureName {
    /// The class-name stem transformers uses for a family (`Bert…`, `DistilBert…`, `GPT2…`).
    public static func stem(_ family: EncoderConfiguration.Family) -> String {
        switch family {
        case .bert: return "Bert"
        case .roberta: return "Roberta"
        case .albert: return "Albert"
        case .electra: return "Electra"
        case .distilbert: return "DistilBert"
        case .gpt2: return "GPT2"
        }
    }

    public static func name(family: EncoderConfiguration.Family, heads: HeadSet) -> String {
        let stem = stem(family)
        if heads.contains(.causalLM) { return stem + "LMHeadModel" }
        if heads.contains(.replacedToken) { return stem + "ForPreTraining" }
        if heads.contains(.sentencePair) { return stem + "ForPreTraining" }
        if heads.contains(.maskedLM) { return stem + "ForMaskedLM" }
        return stem + "Model"
    }

    /// The heads an architecture name implies (unknown names: the base model).
    public static func heads(for architecture: String) -> HeadSet {
        if architecture == "ElectraForPreTraining" { return [.replacedToken] }
        if architecture.hasSuffix("LMHeadModel") || architecture.hasSuffix("ForCausalLM") { return [.causalLM] }
        if architecture.hasSuffix("ForPreTraining") { return [.maskedLM, .sentencePair] }
        if architecture.hasSuffix("ForMaskedLM") { return [.maskedLM] }
        return []
    }
}

/// An encoder with the heads of one pretraining recipe: BERT (`BertForPreTraining`), RoBERTa
/// (`RobertaForMaskedLM`), ALBERT (`AlbertForPreTraining`), ELECTRA's discriminator
/// (`ElectraForPreTraining`) or generator (`ElectraForMaskedLM`), DistilBERT (`DistilBertForMaskedLM`),
/// GPT-2 (`GPT2LMHeadModel`).
///
/// Like Hugging Face, a pooler exists only where something uses it: the base model and the
/// sentence-pair head (`…ForMaskedLM` has none).
public final class PretrainingModel: Module {
    public let config: EncoderConfiguration
    public let heads: HeadSet
    public let encoder: Encoder
    public let maskedLM: MaskedLMHead?
    public let sentencePair: SentencePairHead?
    public let replacedToken: ReplacedTokenHead?
    public let causalLM: CausalLMHead?

    /// A randomly initialised model; `seed` makes the initialisation reproducible. With
    /// `sharedEmbeddings` the encoder (and a masked-LM head's tied decoder) uses another model's
    /// embedding module (ELECTRA's generator, see ``Encoder/init(config:sharedEmbeddings:rng:)``).
    public init(config: EncoderConfiguration, heads: HeadSet, seed: UInt64 = 0, sharedEmbeddings: EncoderEmbeddings? = nil) throws {
        var rng = RandomGenerator(seed: seed)
        var c = config
        c.pooler = config.pooler && PretrainingModel.hasPooler(family: config.family, heads: heads)
        self.config = c
        self.heads = heads
        encoder = try Encoder(config: c, sharedEmbeddings: sharedEmbeddings, rng: &rng)
        maskedLM = heads.contains(.maskedLM) ? try MaskedLMHead(config: c, tiedTo: encoder.embeddings.words, rng: &rng) : nil
        if heads.contains(.sentencePair) {
            guard c.pooler else { throw ModelError.invalidConfiguration("\(c.family.rawValue) has no pooler for a sentence-pair head") }
            sentencePair = SentencePairHead(config: c, rng: &rng)
        } else {
            sentencePair = nil
        }
        replacedToken = heads.contains(.replacedToken) ? try ReplacedTokenHead(config: c, rng: &rng) : nil
        if heads.contains(.causalLM) {
            guard c.causal else { throw ModelError.invalidConfiguration("a causal LM head needs a causal model (GPT-2)") }
            causalLM = CausalLMHead(tiedTo: encoder.embeddings.words)
        } else {
            causalLM = nil
        }
    }

    static func hasPooler(family: EncoderConfiguration.Family, heads: HeadSet) -> Bool {
        switch family {
        case .electra, .distilbert, .gpt2: return false
        default: return heads.isEmpty || heads.contains(.sentencePair)
        }
    }

    /// The architecture name written to config.json.
    public var architecture: String { ArchitectureName.name(family: config.family, heads: heads) }

    public var parameters: [Parameter] {
        encoder.parameters + (maskedLM?.parameters ?? []) + (sentencePair?.parameters ?? []) + (replacedToken?.parameters ?? [])
    }

    /// Parameters of the heads only.
    public var headParameters: [Parameter] {
        (maskedLM?.parameters ?? []) + (sentencePair?.parameters ?? []) + (replacedToken?.parameters ?? [])
    }
}
