import Tokenizers

/// Why a ``SequenceTemplate`` could not be derived from a tokenizer, or lacks what a caller needs.
public enum SequenceTemplateError: Error, Equatable, CustomStringConvertible {
    /// Masked language modelling needs a mask token (`[MASK]` or `<mask>`) and the tokenizer has none.
    case noMaskToken
    /// The tokenizer's post-processor does not place the segments as `prefix A middle B suffix`.
    case unsupportedPostProcessor(String)

    public var description: String {
        switch self {
        case .noMaskToken: return "the tokenizer has no mask token ([MASK] or <mask>)"
        case .unsupportedPostProcessor(let why): return "unsupported post-processor: \(why)"
        }
    }
}

/// How one segment, or a pair of segments, becomes a model input: the special tokens around and
/// between them and the token type (segment id) of every position.
///
/// BERT (Devlin et al. 2019): `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, types 0…0 1…1 (the first
/// `[SEP]` has type 0). RoBERTa (Liu et al. 2019): `<s> A </s>` and `<s> A </s></s> B </s>`, all
/// types 0. ``init(tokenizer:)`` reads the layout from the tokenizer's post-processor so that
/// pretraining inputs look exactly like what the tokenizer produces at fine-tuning time.
public struct SequenceTemplate: Sendable, Equatable {
    /// The specials of one layout, `prefix A middle B suffix`, with their token types.
    public struct Layout: Sendable, Equatable {
        /// Specials before A (`[CLS]`, `<s>`).
        public var prefix: [Int32]
        /// Token types of `prefix`.
        public var prefixTypes: [Int32]
        /// Specials between A and B (`[SEP]`, `</s></s>`); empty for a single segment.
        public var middle: [Int32]
        /// Token types of `middle`.
        public var middleTypes: [Int32]
        /// Specials after the last segment (`[SEP]`, `</s>`).
        public var suffix: [Int32]
        /// Token types of `suffix`.
        public var suffixTypes: [Int32]
        /// Token type of A's tokens.
        public var firstType: Int32
        /// Token type of B's tokens (unused for a single segment).
        public var secondType: Int32

        /// A layout; omitted types default to `firstType` for prefix and middle, and to the last
        /// segment's type for the suffix (BERT's convention).
        public init(prefix: [Int32], prefixTypes: [Int32]? = nil, middle: [Int32] = [], middleTypes: [Int32]? = nil,
                    suffix: [Int32], suffixTypes: [Int32]? = nil, firstType: Int32 = 0, secondType: Int32 = 0) {
            self.prefix = prefix
            self.prefixTypes = prefixTypes ?? [Int32](repeating: firstType, count: prefix.count)
            self.middle = middle
            self.middleTypes = middleTypes ?? [Int32](repeating: firstType, count: middle.count)
            self.suffix = suffix
            self.suffixTypes = suffixTypes ?? [Int32](repeating: middle.isEmpty ? firstType : secondType, count: suffix.count)
            self.firstType = firstType
            self.secondType = secondType
        }

        /// Number of special tokens this layout adds.
        public var overhead: Int { prefix.count + middle.count + suffix.count }
    }

    /// Layout of a single segment (`middle` empty).
    public var single: Layout
    /// Layout of a pair.
    public var pair: Layout
    /// Inserted between documents when FULL-SENTENCES packing crosses a document boundary
    /// (Liu et al. 2019, §4.2) and between GPT-2 blocks' documents: the template's separator
    /// (`[SEP]`, `</s>`), or `<|endoftext|>` for a tokenizer whose template adds no specials.
    public var separator: [Int32]
    /// The mask token (`[MASK]`, `<mask>`), nil when the tokenizer has none.
    public var maskID: Int32?
    /// The padding token (`[PAD]`, `<pad>`), nil when the tokenizer has none.
    public var padID: Int32?
    /// Vocabulary size including added tokens: the range random replacements are drawn from.
    public var vocabularySize: Int
    /// Every special token id (template specials, the tokenizer's special added tokens, mask and
    /// pad), sorted: excluded from MLM's random replacements.
    public var specialIDs: [Int32]

    /// A template from its parts (tests, hand-made vocabularies).
    public init(single: Layout, pair: Layout, separator: [Int32]? = nil, maskID: Int32?, padID: Int32?,
                vocabularySize: Int, specialIDs: [Int32]? = nil) {
        self.single = single
        self.pair = pair
        self.separator = separator ?? (single.suffix.last.map { [$0] } ?? [])
        self.maskID = maskID
        self.padID = padID
        self.vocabularySize = vocabularySize
        let all = specialIDs ?? (single.prefix + single.suffix + pair.prefix + pair.middle + pair.suffix
                                 + [maskID, padID].compactMap { $0 })
        self.specialIDs = Array(Set(all)).sorted()
    }

    /// BERT's layout: `[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]`, types 0 for A (and the first
    /// [SEP]), 1 for B and the last [SEP] (Devlin et al. 2019, §3).
    public static func bert(cls: Int32, sep: Int32, mask: Int32?, pad: Int32?, vocabularySize: Int) -> SequenceTemplate {
        SequenceTemplate(
            single: Layout(prefix: [cls], suffix: [sep]),
            pair: Layout(prefix: [cls], middle: [sep], suffix: [sep], firstType: 0, secondType: 1),
            separator: [sep], maskID: mask, padID: pad, vocabularySize: vocabularySize)
    }

    /// RoBERTa's layout: `<s> A </s>`, `<s> A </s></s> B </s>`, all types 0 (Liu et al. 2019).
    public static func roberta(bos: Int32, eos: Int32, mask: Int32?, pad: Int32?, vocabularySize: Int) -> SequenceTemplate {
        SequenceTemplate(
            single: Layout(prefix: [bos], suffix: [eos]),
            pair: Layout(prefix: [bos], middle: [eos, eos], suffix: [eos]),
            separator: [eos], maskID: mask, padID: pad, vocabularySize: vocabularySize)
    }

    /// Derives the template from the tokenizer's post-processor (BertProcessing,
    /// RobertaProcessing, TemplateProcessing or a Sequence of them) by running it on two
    /// placeholder segments and reading where the specials land. A tokenizer without a
    /// post-processor gives an empty template (no specials).
    public init(tokenizer: Tokenizer) throws {
        func placeholder(_ id: Int) -> Encoding {
            var e = Encoding()
            e.ids = [id]; e.typeIDs = [0]; e.tokens = ["a"]; e.offsets = [Encoding.Offset(0, 1)]
            e.wordIDs = [0]; e.specialTokensMask = [0]; e.attentionMask = [1]; e.sequenceIDs = [0]
            return e
        }
        // Placeholder ids no real vocabulary uses.
        let markA = -1_000_001, markB = -1_000_002
        func layout(_ processed: Encoding, isPair: Bool) throws -> Layout {
            let ids = processed.ids, types = processed.typeIDs.map { Int32($0) }
            guard ids.filter({ $0 == markA }).count == 1, let a = ids.firstIndex(of: markA) else {
                throw SequenceTemplateError.unsupportedPostProcessor("segment A must appear exactly once")
            }
            var b = a   // single: an empty middle, the suffix right after A
            if isPair {
                guard ids.filter({ $0 == markB }).count == 1, let ib = ids.firstIndex(of: markB), ib > a else {
                    throw SequenceTemplateError.unsupportedPostProcessor("segment B must appear once, after A")
                }
                b = ib
            }
            let i32 = { (r: Range<Int>) in ids[r].map { Int32(truncatingIfNeeded: $0) } }
            let middle = isPair ? (a + 1)..<b : (a + 1)..<(a + 1)
            return Layout(prefix: i32(0..<a), prefixTypes: Array(types[0..<a]),
                          middle: i32(middle), middleTypes: Array(types[middle]),
                          suffix: i32((b + 1)..<ids.count), suffixTypes: Array(types[(b + 1)...]),
                          firstType: types[a], secondType: types[b])
        }
        if let processor = tokenizer.config.postProcessor {
            single = try layout(processor.process(placeholder(markA), nil, addSpecialTokens: true), isPair: false)
            pair = try layout(processor.process(placeholder(markA), placeholder(markB), addSpecialTokens: true), isPair: true)
        } else {
            single = Layout(prefix: [], suffix: [])
            pair = Layout(prefix: [], suffix: [])
        }
        // A tokenizer without specials in its template (GPT-2's) separates documents with end-of-text.
        separator = single.suffix.last.map { [$0] } ?? pair.middle.first.map { [$0] }
            ?? tokenizer.id(of: Self.endOfText).map { [Int32($0)] } ?? []
        func firstID(_ names: [String]) -> Int32? {
            for n in names { if let id = tokenizer.id(of: n) { return Int32(id) } }
            return nil
        }
        maskID = firstID(["[MASK]", "<mask>", "<MASK>"])
        padID = firstID(["[PAD]", "<pad>", "<PAD>"])
        vocabularySize = tokenizer.vocabularySize
        var specials = Set(single.prefix + single.suffix + pair.prefix + pair.middle + pair.suffix)
        for t in tokenizer.config.addedTokens where t.special { specials.insert(Int32(t.id)) }
        if let maskID { specials.insert(maskID) }
        if let padID { specials.insert(padID) }
        specialIDs = specials.sorted()
    }

    /// GPT-2's end-of-text token, between documents and at the end of a generation.
    public static let endOfText = "<|endoftext|>"

    /// Number of special tokens added to a single segment (`pair: false`) or a pair.
    public func overhead(pair isPair: Bool) -> Int { isPair ? pair.overhead : single.overhead }

    /// The mask token id, or ``SequenceTemplateError/noMaskToken``.
    public func requireMaskID() throws -> Int32 {
        guard let maskID else { throw SequenceTemplateError.noMaskToken }
        return maskID
    }
}
