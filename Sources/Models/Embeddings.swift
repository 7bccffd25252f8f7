/// A batch of token sequences, all of one length (padded), flattened row-major.
public struct EncoderInput: Sendable {
    /// Token ids (B·T).
    public var ids: [Int32]
    /// Segment ids (B·T), or nil for all zeros.
    public var tokenTypes: [Int32]?
    /// 1 for real tokens, 0 for padding (B·T), or nil when nothing is padded.
    public var attentionMask: [Float]?
    /// Position ids (B·T) when they do not follow from the ids (incremental decoding continues
    /// each sequence where its prefix ended; translation LM restarts them at the second
    /// sentence); nil: the family's own.
    public var positionIDs: [Int32]?
    /// Language ids (B·T) for a model with language embeddings (`n_langs`); nil: language 0.
    public var languages: [Int32]?
    public var batch: Int
    public var length: Int

    public init(ids: [Int32], tokenTypes: [Int32]? = nil, attentionMask: [Float]? = nil, positionIDs: [Int32]? = nil,
                languages: [Int32]? = nil, batch: Int, length: Int) {
        self.ids = ids
        self.languages = languages
        self.tokenTypes = tokenTypes
        self.attentionMask = attentionMask
        self.positionIDs = positionIDs
        self.batch = batch
        self.length = length
    }

    func validate() throws {
        let n = batch * length
        guard batch > 0, length > 0, ids.count == n else {
            throw ModelError.inputShape("\(ids.count) ids for batch \(batch) × length \(length)")
        }
        if let t = tokenTypes, t.count != n { throw ModelError.inputShape("\(t.count) token types for \(n) ids") }
        if let m = attentionMask, m.count != n { throw ModelError.inputShape("\(m.count) mask entries for \(n) ids") }
        if let p = positionIDs, p.count != n { throw ModelError.inputShape("\(p.count) position ids for \(n) ids") }
        if let l = languages, l.count != n { throw ModelError.inputShape("\(l.count) language ids for \(n) ids") }
    }
}

/// Token + position (+ segment) (+ language) embeddings, LayerNorm and dropout (Devlin et al.
/// 2019, §3.2; XLM's language embeddings, Lample & Conneau 2019), of width E (`embeddingSize`);
/// GPT-2's have no segments and no LayerNorm.
public final class EncoderEmbeddings: Module {
    public let words: Embedding
    public let positions: Embedding
    public let tokenTypes: Embedding?
    /// `embeddings.language_embeddings` (n_langs × E) when the configuration has languages.
    public let languages: Embedding?
    public let norm: LayerNorm?
    let config: EncoderConfiguration

    /// Tables named `base.<names…>`.
    public init(_ base: String, names: CheckpointLayout.EmbeddingNames = .bert, config: EncoderConfiguration, rng: inout RandomGenerator) {
        self.config = config
        let e = config.embeddingSize, std = config.initializerRange
        words = Embedding(joinName(base, names.words), count: config.vocabSize, dimension: e, std: std, rng: &rng)
        positions = Embedding(joinName(base, names.positions), count: config.maxPositions, dimension: e, std: std, rng: &rng)
        tokenTypes = config.typeVocabSize > 0 ? names.tokenTypes.map {
            Embedding(joinName(base, $0), count: config.typeVocabSize, dimension: e, std: std, rng: &rng)
        } : nil
        norm = names.norm.map { LayerNorm(joinName(base, $0), features: e, eps: config.layerNormEps) }
        // Drawn after every other table, so a model without languages initialises as before.
        languages = config.languages > 0
            ? Embedding(joinName(base, names.languages), count: config.languages, dimension: e, std: std, rng: &rng) : nil
        // Hugging Face zeroes the padding row of RoBERTa-style (padding_idx) tables at init.
        if config.family == .roberta {
            for table in [words.weight.value, positions.weight.value] where config.padTokenId < table.shape[0] {
                (table.data + config.padTokenId * e).update(repeating: 0, count: e)
            }
        }
    }

    public var parameters: [Parameter] {
        words.parameters + positions.parameters + (tokenTypes?.parameters ?? []) + (norm?.parameters ?? []) + (languages?.parameters ?? [])
    }

    /// Position ids: 0..<T, or for RoBERTa Hugging Face's `create_position_ids_from_input_ids`
    /// (non-pad tokens count up from padding_idx + 1, pads get padding_idx).
    public func positionIDs(for input: EncoderInput) -> [Int32] {
        var out = [Int32](repeating: 0, count: input.ids.count)
        for b in 0..<input.batch {
            var seen = 0
            for t in 0..<input.length {
                let i = b * input.length + t
                if config.family == .roberta {
                    if input.ids[i] == Int32(config.padTokenId) {
                        out[i] = Int32(config.padTokenId)
                    } else {
                        seen += 1
                        out[i] = Int32(config.padTokenId + seen)
                    }
                } else {
                    out[i] = Int32(config.positionOffset + t)
                }
            }
        }
        return out
    }

    /// input (B·T ids) → (B,T,E)
    public func callAsFunction(_ input: EncoderInput, training: Bool, tape: Tape) throws -> Variable {
        try input.validate()
        let positionIDs = input.positionIDs ?? positionIDs(for: input)
        if let last = positionIDs.max(), Int(last) >= config.maxPositions || positionIDs.contains(where: { $0 < 0 }) {
            throw ModelError.sequenceTooLong(length: input.length, maximum: config.maxPositions - config.positionOffset)
        }
        if let bad = input.ids.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw ModelError.tokenOutOfVocabulary(id: bad, vocabSize: config.vocabSize)
        }
        var sum = tape.add(try words(input.ids, tape: tape), try positions(positionIDs, tape: tape))
        if let tokenTypes {
            let types = input.tokenTypes ?? [Int32](repeating: 0, count: input.ids.count)
            if let bad = types.first(where: { $0 < 0 || Int($0) >= config.typeVocabSize }) {
                throw ModelError.tokenTypeOutOfRange(id: bad, typeVocabSize: config.typeVocabSize)
            }
            sum = tape.add(sum, try tokenTypes(types, tape: tape))
        }
        if let languages {
            let ids = input.languages ?? [Int32](repeating: 0, count: input.ids.count)
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= config.languages }) {
                throw ModelError.inputShape("language id \(bad) is outside the model's \(config.languages) languages (n_langs)")
            }
            sum = tape.add(sum, try languages(ids, tape: tape))
        }
        let normed = norm.map { $0(sum, tape: tape) } ?? sum
        let dropped = tape.dropout(normed, probability: training ? config.hiddenDropout : 0)
        return tape.reshape(dropped, [input.batch, input.length, config.embeddingSize])
    }
}
