import PretrainingData
import Tensors
import Tokenizers

/// XLM's training streams over a parallel corpus (Lample & Conneau 2019): batches of translation
/// pairs (TLM) interleaved with batches of each language alone (MLM), as `--mlm_steps
/// 'en,es,en-es'` does, in the proportion `translationRatio`. Every row of one batch is of the same
/// kind, decided by (seed, epoch, batch number), so the rows a data-parallel rank takes of a batch
/// agree with the others'. Pairs are shuffled per epoch (the held-out stream, `fixed`, keeps one
/// order and one masking); a pair's order in a TLM row and its masking are drawn from
/// (seed, epoch, index), so a checkpoint's data position is all a resumed run needs.
public final class TranslationInstanceStream: InstanceStream {
    /// What a batch holds: translation pairs, or one language (0: each pair's first side, 1: its second).
    public enum Kind: Hashable, Sendable {
        case translation
        case monolingual(side: Int)
    }

    public let pairs: [TranslationPair]
    let template: SequenceTemplate
    let length: Int
    let positionOffset: Int
    let masking: MaskingConfig
    let seed: UInt64
    let batchSize: Int
    let translationRatio: Double
    let fixed: Bool
    private var order: (epoch: Int, indices: [Int])?

    public init(pairs: [TranslationPair], template: SequenceTemplate, length: Int, positionOffset: Int = 0, masking: MaskingConfig,
                seed: UInt64, batchSize: Int, translationRatio: Double, fixed: Bool = false) {
        (self.pairs, self.template, self.length, self.positionOffset, self.masking) = (pairs, template, length, positionOffset, masking)
        (self.seed, self.batchSize, self.translationRatio, self.fixed) = (seed, max(1, batchSize), translationRatio, fixed)
    }

    public func count(epoch: Int) -> Int { pairs.count }

    /// Verses are short (a pair ~70 tokens, one side ~35): batches pad to their longest.
    public var padsToLongest: Bool { true }

    /// The kind of the batch that row `index` of `epoch` belongs to.
    public func kind(epoch: Int, index: Int) -> Kind {
        var rng = RandomGenerator(seed: seed, stream: [0x7e1a, UInt64(fixed ? 1 : epoch), UInt64(index / batchSize)])
        if rng.uniformDouble() < translationRatio { return .translation }
        return .monolingual(side: rng.integer(below: 2))
    }

    public func item(epoch: Int, index: Int) throws -> (instance: PretrainingInstance, masked: MaskedInstance) {
        precondition(index >= 0 && index < pairs.count, "index \(index) is outside the epoch's \(pairs.count) pairs")
        let e = fixed ? 1 : epoch
        if order?.epoch != e {
            var shuffle = RandomGenerator(seed: seed, stream: [0x7e1b, UInt64(e)])
            var indices = Array(pairs.indices)
            if !fixed { for i in stride(from: indices.count - 1, to: 0, by: -1) { indices.swapAt(i, shuffle.integer(below: i + 1)) } }
            order = (e, indices)
        }
        let pair = pairs[order?.indices[index] ?? index]
        var rng = RandomGenerator(seed: seed, stream: [0x7e1c, UInt64(e), UInt64(index)])
        let instance: PretrainingInstance
        switch kind(epoch: epoch, index: index) {
        case .translation:
            instance = TranslationInstances.instance(pair, template: template, length: length, positionOffset: positionOffset, swap: rng.bernoulli(0.5))
        case .monolingual(let side):
            instance = TranslationInstances.monolingual(side == 0 ? pair.first : pair.second, language: side == 0 ? pair.firstLanguage : pair.secondLanguage,
                                                        template: template, length: length, positionOffset: positionOffset)
        }
        return (instance, masking.mask(instance, using: &rng))
    }
}

/// A parallel corpus ready for translation LM: both sides tokenized (no specials), the first
/// side language 0 and the second language 1, split by whole books.
public struct TranslationCorpus {
    public let train: [TranslationPair]
    public let heldout: [TranslationPair]

    public init(verses: ParallelVerses, heldoutBooks: [String], tokenizer: Tokenizer) throws {
        let books = Set(verses.books)
        if let unknown = heldoutBooks.first(where: { !books.contains($0) }) {
            throw RecipeError.invalid("heldout_books: '\(unknown)' is not a book of the parallel corpus; its books are \(verses.books.joined(separator: ", "))")
        }
        let (train, heldout) = verses.split(heldoutBooks: Set(heldoutBooks))
        guard !train.isEmpty else { throw RecipeError.invalid("heldout_books hold every verse of the parallel corpus; leave books to train on") }
        func tokenized(_ pairs: [(reference: VerseReference, first: String, second: String)]) throws -> [TranslationPair] {
            let ids = { (texts: [String]) in try tokenizer.encodeBatch(texts, addSpecialTokens: false).map { $0.ids.map(Int32.init) } }
            let (first, second) = (try ids(pairs.map(\.first)), try ids(pairs.map(\.second)))
            return zip(first, second).map { TranslationPair(first: $0, second: $1, firstLanguage: 0, secondLanguage: 1) }
        }
        (self.train, self.heldout) = (try tokenized(train), try tokenized(heldout))
    }
}
