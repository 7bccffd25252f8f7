import Foundation

/// The kind of model to train.
public enum TrainerKind: String, Sendable {
    case wordpiece, bpe, unigram
}

/// Settings shared by the trainers (Hugging Face names in parentheses).
public struct TrainerOptions: Sendable {
    /// Target vocabulary size, special tokens included (`vocab_size`).
    public var vocabSize: Int
    /// Minimum count for a merge to be learned (`min_frequency`).
    public var minFrequency: Int
    /// Special tokens, given ids 0, 1, … (`special_tokens`); nil → the model's usual set.
    public var specialTokens: [String]?
    /// Keep at most this many initial characters (`limit_alphabet`).
    public var limitAlphabet: Int?
    /// Progress lines on stderr (`show_progress`).
    public var showProgress: Bool

    /// Creates trainer settings.
    public init(vocabSize: Int, minFrequency: Int = 2, specialTokens: [String]? = nil, limitAlphabet: Int? = nil, showProgress: Bool = false) {
        self.vocabSize = vocabSize; self.minFrequency = minFrequency; self.specialTokens = specialTokens
        self.limitAlphabet = limitAlphabet; self.showProgress = showProgress
    }
}

/// The pipeline (everything but the model) a freshly trained tokenizer of `kind` uses.
func pipeline(for kind: TrainerKind, specials: [String]) -> TokenizerJSON {
    let placeholder = Model.wordPiece(WordPiece(vocab: Vocabulary(tokens: ["[UNK]"])))
    var c = TokenizerJSON(model: placeholder)
    switch kind {
    case .wordpiece:
        c.normalizer = .bert(cleanText: true, handleChineseChars: true, stripAccents: nil, lowercase: true)
        c.preTokenizer = .bert
        c.decoder = .wordPiece(prefix: "##", cleanup: true)
    case .bpe:
        c.preTokenizer = .byteLevel(addPrefixSpace: false, trimOffsets: true, useRegex: true)
        c.decoder = .byteLevel
    case .unigram:
        c.normalizer = .sequence([.replace(.string("``"), "\""), .replace(.string("''"), "\""), .unicode(.nfkc)])
        c.preTokenizer = .metaspace(replacement: 0x2581, prependScheme: .always, split: true)
        c.decoder = .metaspace(replacement: 0x2581, prependScheme: .always, split: true)
    }
    return c
}

/// Default special tokens per model.
func defaultSpecials(_ kind: TrainerKind) -> [String] {
    switch kind {
    case .wordpiece: return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    case .bpe: return ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    case .unigram: return ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    }
}

/// Trains a tokenizer of `kind` on UTF-8 text files (invalid UTF-8 is an error naming the file).
public func trainTokenizer(kind: TrainerKind, files: [String], options: TrainerOptions) throws -> Tokenizer {
    var lines: [String] = []
    for f in files {
        let l = try TextFiles.lines(f)
        lines += l
    }
    return try trainTokenizer(kind: kind, lines: lines, options: options)
}

/// Trains a tokenizer of `kind` on lines of text.
public func trainTokenizer(kind: TrainerKind, lines: [String], options: TrainerOptions) throws -> Tokenizer {
    let specials = options.specialTokens ?? defaultSpecials(kind)
    guard options.vocabSize > specials.count else {
        throw TokenizerError.training("vocab size \(options.vocabSize) must exceed the \(specials.count) special tokens")
    }
    var config = pipeline(for: kind, specials: specials)
    let progress = Progress(enabled: options.showProgress)
    progress.say("counting words in \(lines.count) lines")
    let counts = try countWords(lines, normalizer: config.normalizer, preTokenizer: config.preTokenizer)
    progress.say("\(counts.count) distinct words")
    guard !counts.isEmpty else { throw TokenizerError.training("the training text is empty (no words after normalization); give files with text") }
    switch kind {
    case .wordpiece:
        let r = try trainBPE(words: counts, options: options, specials: specials, prefix: "##",
                             initialAlphabet: [], progress: progress)
        let unk = specials.contains("[UNK]") ? "[UNK]" : (specials.first ?? "[UNK]")
        config.model = .wordPiece(WordPiece(vocab: Vocabulary(tokens: r.vocab), unkToken: unk))
    case .bpe:
        let r = try trainBPE(words: counts, options: options, specials: specials, prefix: nil,
                             initialAlphabet: byteToUnicode, progress: progress)
        config.model = .bpe(try BPE(vocab: Vocabulary(tokens: r.vocab), merges: r.merges))
    case .unigram:
        let unk = specials.first { $0.unicodeScalars.elementsEqual("<unk>".unicodeScalars) } ?? specials.first { $0.contains("unk") || $0.contains("UNK") }
        let pieces = try trainUnigram(words: counts, options: options, specials: specials, progress: progress)
        let unkID = unk.flatMap { u in pieces.firstIndex { $0.0.unicodeScalars.elementsEqual(u.unicodeScalars) } }
        config.model = .unigram(try Unigram(pieces: pieces, unkID: unkID))
    }
    let vocab = config.model.vocabulary
    config.addedTokens = specials.compactMap { s in vocab.id(s).map { AddedToken(content: s, id: $0, special: true, lstrip: s == "<mask>", normalized: false) } }
    config.postProcessor = postProcessor(for: kind, vocab: vocab)
    progress.say("done: \(vocab.count) tokens")
    return try Tokenizer(config: config)
}

func postProcessor(for kind: TrainerKind, vocab: Vocabulary) -> PostProcessor? {
    switch kind {
    case .wordpiece, .unigram:
        guard let cls = vocab.id("[CLS]"), let sep = vocab.id("[SEP]") else { return nil }
        let specials = [TemplateSpecialToken(id: "[CLS]", ids: [cls], tokens: ["[CLS]"]), TemplateSpecialToken(id: "[SEP]", ids: [sep], tokens: ["[SEP]"])]
        return .template(single: [.specialToken(id: "[CLS]", typeID: 0), .sequence(second: false, typeID: 0), .specialToken(id: "[SEP]", typeID: 0)],
                         pair: [.specialToken(id: "[CLS]", typeID: 0), .sequence(second: false, typeID: 0), .specialToken(id: "[SEP]", typeID: 0),
                                .sequence(second: true, typeID: 1), .specialToken(id: "[SEP]", typeID: 1)], specialTokens: specials)
    case .bpe:
        guard let cls = vocab.id("<s>"), let sep = vocab.id("</s>") else { return .byteLevel(trimOffsets: true, addPrefixSpace: false) }
        return .roberta(sep: ("</s>", sep), cls: ("<s>", cls), trimOffsets: true, addPrefixSpace: false)
    }
}

/// Progress messages on stderr.
final class Progress: Sendable {
    let enabled: Bool
    let start = Date()
    init(enabled: Bool) { self.enabled = enabled }
    func say(_ s: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(String(format: "[%7.2fs] %@\n", Date().timeIntervalSince(start), s).utf8))
    }
}

/// A word (scalar sequence) usable as a dictionary key without canonical-equivalence merging.
struct WordKey: Hashable, Sendable {
    let scalars: [UInt32]
}

/// Counts pre-tokenized words over all lines, in parallel; returns words in first-seen order.
func countWords(_ lines: [String], normalizer: Normalizer?, preTokenizer: PreTokenizer?) throws -> [(WordKey, Int)] {
    let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    let chunks = min(max(1, lines.count), workers * 8)
    let per = (lines.count + chunks - 1) / max(chunks, 1)
    let results = UnsafeMutableBufferPointer<Result<([WordKey: Int], [WordKey]), Error>>.allocate(capacity: chunks)
    defer { results.deallocate() }
    let box = UnsafeSendableBuffer(results)
    let empty = try AddedVocabulary(tokens: [], normalizer: nil)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let counted = Result { () throws -> ([WordKey: Int], [WordKey]) in
            var counts: [WordKey: Int] = [:]
            var order: [WordKey] = []
            let lo = c * per, hi = min(lines.count, lo + per)
            if lo < hi {
                for i in lo..<hi {
                    var pre = try empty.extractAndNormalize(lines[i].unicodeScalars.map(\.value), normalizer: normalizer)
                    try preTokenizer?.preTokenize(&pre)
                    for s in pre.splits {
                        let k = WordKey(scalars: s.normalized.scalars)
                        if let v = counts[k] { counts[k] = v + 1 } else { counts[k] = 1; order.append(k) }
                    }
                }
            }
            return (counts, order)
        }
        (box.base.baseAddress! + c).initialize(to: counted)
    }
    defer { results.baseAddress!.deinitialize(count: chunks) }
    var total: [WordKey: Int] = [:]
    var order: [WordKey] = []
    for c in 0..<chunks {
        let (m, o) = try results[c].get()
        for k in o {
            let v = m[k] ?? 0
            if let t = total[k] { total[k] = t + v } else { total[k] = v; order.append(k) }
        }
    }
    return order.map { ($0, total[$0] ?? 0) }
}
