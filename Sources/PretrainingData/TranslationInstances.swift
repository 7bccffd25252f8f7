/// A sentence pair in two languages (a verse and its translation) as token ids without specials.
public struct TranslationPair: Sendable, Equatable {
    public var first: [Int32]
    public var second: [Int32]
    public var firstLanguage: Int32
    public var secondLanguage: Int32

    public init(first: [Int32], second: [Int32], firstLanguage: Int32, secondLanguage: Int32) {
        (self.first, self.second, self.firstLanguage, self.secondLanguage) = (first, second, firstLanguage, secondLanguage)
    }
}

/// Instances of XLM's translation LM (Lample & Conneau 2019, §3.3) and of its monolingual MLM
/// streams, on the template's layouts:
/// - a pair is `prefix A middle B suffix` (BERT `[CLS] A [SEP] B [SEP]`, RoBERTa `<s> A </s></s> B </s>`),
///   A and B in either order; every token of a side — and the specials that open or close it —
///   carries that side's language, and positions restart at the second side (XLM's
///   `concat_batches(…, reset_positions=True)`), so the model must align the two by content;
/// - one sentence alone is `prefix A suffix` in its language (XLM's `--mlm_steps 'en,es'`).
/// Masking then treats both sides alike (``MaskingConfig/mask(_:using:)`` never picks specials).
/// Positions start at `positionOffset` (RoBERTa's padding_idx + 1).
public enum TranslationInstances {
    /// The TLM instance of `pair`, B first when `swap`; the longer side is cut until the whole fits
    /// `length` tokens.
    public static func instance(_ pair: TranslationPair, template: SequenceTemplate, length: Int, positionOffset: Int = 0,
                                swap: Bool) -> PretrainingInstance {
        let layout = template.pair
        var (a, b) = swap ? (pair.second, pair.first) : (pair.first, pair.second)
        let (la, lb) = swap ? (pair.secondLanguage, pair.firstLanguage) : (pair.firstLanguage, pair.secondLanguage)
        while a.count + b.count + layout.overhead > length, !(a.isEmpty && b.isEmpty) {
            if a.count >= b.count { a.removeLast() } else { b.removeLast() }
        }
        let firstPart = layout.prefix + a + layout.middle, secondPart = b + layout.suffix
        let ids = firstPart + secondPart
        let types = layout.prefixTypes + [Int32](repeating: layout.firstType, count: a.count) + layout.middleTypes
            + [Int32](repeating: layout.secondType, count: b.count) + layout.suffixTypes
        let special = [Bool](repeating: true, count: layout.prefix.count) + [Bool](repeating: false, count: a.count)
            + [Bool](repeating: true, count: layout.middle.count) + [Bool](repeating: false, count: b.count)
            + [Bool](repeating: true, count: layout.suffix.count)
        return PretrainingInstance(ids: ids, tokenTypes: types, isSpecial: special, wordStarts: [Bool](repeating: true, count: ids.count),
                                   languages: [Int32](repeating: la, count: firstPart.count) + [Int32](repeating: lb, count: secondPart.count),
                                   positions: (0..<firstPart.count).map { Int32(positionOffset + $0) } + (0..<secondPart.count).map { Int32(positionOffset + $0) })
    }

    /// One sentence alone in its language, cut to fit `length`.
    public static func monolingual(_ tokens: [Int32], language: Int32, template: SequenceTemplate, length: Int,
                                   positionOffset: Int = 0) -> PretrainingInstance {
        let layout = template.single
        let a = Array(tokens.prefix(max(0, length - layout.overhead)))
        let ids = layout.prefix + a + layout.suffix
        let special = [Bool](repeating: true, count: layout.prefix.count) + [Bool](repeating: false, count: a.count)
            + [Bool](repeating: true, count: layout.suffix.count)
        return PretrainingInstance(ids: ids, tokenTypes: layout.prefixTypes + [Int32](repeating: layout.firstType, count: a.count) + layout.suffixTypes,
                                   isSpecial: special, wordStarts: [Bool](repeating: true, count: ids.count),
                                   languages: [Int32](repeating: language, count: ids.count),
                                   positions: (0..<ids.count).map { Int32(positionOffset + $0) })
    }
}
