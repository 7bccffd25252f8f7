import Tensors

/// How sentences of the corpus are grouped into model inputs (Liu et al. 2019, RoBERTa §4.2;
/// Joshi et al. 2020, SpanBERT §3.3).
public enum InputFormat: String, Sendable, Codable, CaseIterable {
    /// BERT (Devlin et al. 2019): A = sentences of one document packed up to a random split
    /// point, B = the actual continuation or, for NSP with p = 0.5, a segment from another
    /// document; together up to `maxLength` (google-research/bert `create_instances_from_document`:
    /// a one-sentence chunk always gets a random B under NSP, and a corpus of one document draws
    /// the "random" B from that document). Under SOP a lone trailing sentence is dropped.
    case segmentPair
    /// A and B are single natural sentences (RoBERTa's SENTENCE-PAIR): every sentence that has
    /// a successor is an A once; B is that successor or, for NSP with p = 0.5, a random sentence
    /// of another document. `shortSequenceProbability` does not apply.
    case sentencePair
    /// Contiguous sentences packed up to `maxLength`, crossing documents with the template's
    /// separator between them (RoBERTa's FULL-SENTENCES). Single segment, no sentence task.
    case fullSentences
    /// Like ``fullSentences`` but never crossing a document boundary (RoBERTa's DOC-SENTENCES).
    case docSentences
    /// Contiguous blocks of one document up to `maxLength`, ignoring sentence boundaries
    /// (SpanBERT's single-segment training, Joshi et al. 2020 §3.3).
    case singleSegment
    /// The corpus as one token stream, documents joined by the template's separator (GPT-2's
    /// end-of-text), cut into blocks of exactly `maxLength` (the last may be shorter): GPT-2's
    /// and transformers' `run_clm` (`group_texts`) practice. A block that starts at a document
    /// start has no separator before it.
    case blocks

    /// Whether the format's instances have two segments A and B.
    public var isPair: Bool { self == .segmentPair || self == .sentencePair }
}

/// The sentence-level objective trained beside MLM.
public enum SentenceTask: String, Sendable, Codable, CaseIterable {
    case none
    /// Next-sentence prediction (Devlin et al. 2019): label 1 = B is a random segment from another document.
    case nsp
    /// Sentence-order prediction (Lan et al. 2020, ALBERT): A and B are consecutive segments of
    /// one document; label 1 = they were swapped (p = 0.5).
    case sop

    /// The other sentence-pair task (nil for none): both label a consecutive, in-order pair 0,
    /// so a head trained on one can be scored on the other.
    public var other: SentenceTask? {
        switch self {
        case .none: return nil
        case .nsp: return .sop
        case .sop: return .nsp
        }
    }
}

/// What instances to build: format, sentence task and lengths.
public struct InstanceConfig: Sendable, Equatable, Codable {
    /// Maximum sequence length, special tokens included.
    public var maxLength: Int
    /// Probability that an instance gets a target length drawn uniformly in [2, capacity]
    /// instead of the full capacity (google-research/bert `short_seq_prob`), so the model also
    /// sees short inputs. Drawn per instance (google-research draws once per document); use 0
    /// for RoBERTa, which trains on full-length inputs only.
    public var shortSequenceProbability: Double
    /// How sentences are grouped into inputs.
    public var format: InputFormat
    /// NSP, SOP or none; NSP and SOP need a pair format.
    public var sentenceTask: SentenceTask

    public init(maxLength: Int = 128, shortSequenceProbability: Double = 0.1, format: InputFormat = .segmentPair,
                sentenceTask: SentenceTask = .nsp) {
        self.maxLength = maxLength
        self.shortSequenceProbability = shortSequenceProbability
        self.format = format
        self.sentenceTask = sentenceTask
    }

    /// BERT: SEGMENT-PAIR + NSP, short_seq_prob 0.1 (Devlin et al. 2019).
    public static func bert(maxLength: Int = 128) -> InstanceConfig {
        InstanceConfig(maxLength: maxLength, format: .segmentPair, sentenceTask: .nsp)
    }
    /// ALBERT: SEGMENT-PAIR + SOP (Lan et al. 2020).
    public static func albert(maxLength: Int = 128) -> InstanceConfig {
        InstanceConfig(maxLength: maxLength, format: .segmentPair, sentenceTask: .sop)
    }
    /// RoBERTa: FULL-SENTENCES, no NSP, full-length inputs (Liu et al. 2019).
    public static func roberta(maxLength: Int = 512) -> InstanceConfig {
        InstanceConfig(maxLength: maxLength, shortSequenceProbability: 0, format: .fullSentences, sentenceTask: .none)
    }
    /// SpanBERT: single contiguous segments of one document, no NSP (Joshi et al. 2020).
    public static func spanBERT(maxLength: Int = 512) -> InstanceConfig {
        InstanceConfig(maxLength: maxLength, format: .singleSegment, sentenceTask: .none)
    }
}

/// Why an ``InstanceBuilder`` cannot be made from a configuration.
public enum InstanceConfigError: Error, Equatable, CustomStringConvertible {
    /// NSP and SOP need two segments: use `.segmentPair` or `.sentencePair`.
    case sentenceTaskNeedsPair(format: InputFormat, task: SentenceTask)
    /// `maxLength` leaves fewer than 2 tokens of content after the template's specials.
    case maxLengthTooSmall(maxLength: Int, overhead: Int)
    /// A probability outside [0, 1].
    case invalidProbability(Double)

    public var description: String {
        switch self {
        case let .sentenceTaskNeedsPair(format, task):
            return "sentence task \(task.rawValue) needs a pair format, not \(format.rawValue)"
        case let .maxLengthTooSmall(maxLength, overhead):
            return "maxLength \(maxLength) leaves fewer than 2 tokens after \(overhead) special tokens"
        case .invalidProbability(let p): return "probability \(p) is outside [0, 1]"
        }
    }
}

/// A planned instance: which tokens of the corpus go into A and B, and the sentence label.
/// A few integers, so that a whole epoch's plan is small; ``InstanceBuilder/materialize(_:from:)``
/// reads the tokens when the instance is needed.
public struct InstancePlan: Sendable, Equatable, Hashable {
    /// Global token range of segment A (first in the input).
    public var first: Range<Int>
    /// Global token range of segment B, nil for single-segment formats.
    public var second: Range<Int>?
    /// NSP: 1 = B is random; SOP: 1 = swapped; nil without a sentence task.
    public var sentenceLabel: Int32?
    /// FULL-SENTENCES: `first` may span documents; a separator goes before each document start inside it.
    public var separatesDocuments: Bool

    public init(first: Range<Int>, second: Range<Int>? = nil, sentenceLabel: Int32? = nil, separatesDocuments: Bool = false) {
        self.first = first
        self.second = second
        self.sentenceLabel = sentenceLabel
        self.separatesDocuments = separatesDocuments
    }
}

/// Builds pretraining instances in two steps, for streaming over a tokenized corpus:
/// ``plan(_:seed:epoch:)`` decides every instance of an epoch as token ranges (cheap, shuffled,
/// deterministic per (seed, epoch)), ``materialize(_:from:)`` reads one instance's tokens and
/// lays them out with the template.
///
/// Assumes the corpus numbers its tokens so that sentences tile the token range in order
/// (sentence `s + 1` starts where sentence `s` ends), as ``TokenizedCorpus`` does.
///
/// ```swift
/// let builder = try InstanceBuilder(config: .bert(maxLength: 128), template: SequenceTemplate(tokenizer: tok))
/// let plans = builder.plan(corpus, seed: 42, epoch: epoch)
/// for (i, p) in plans.enumerated() { let instance = builder.materialize(p, from: corpus) … }
/// ```
public struct InstanceBuilder: Sendable {
    /// Format, sentence task and lengths.
    public let config: InstanceConfig
    /// The specials around and between segments.
    public let template: SequenceTemplate

    /// Content tokens per instance (maxLength minus the template's specials).
    public var capacity: Int { config.maxLength - template.overhead(pair: config.format.isPair) }

    public init(config: InstanceConfig, template: SequenceTemplate) throws {
        if config.sentenceTask != .none && !config.format.isPair {
            throw InstanceConfigError.sentenceTaskNeedsPair(format: config.format, task: config.sentenceTask)
        }
        let overhead = template.overhead(pair: config.format.isPair)
        if config.maxLength - overhead < 2 {
            throw InstanceConfigError.maxLengthTooSmall(maxLength: config.maxLength, overhead: overhead)
        }
        if !(0...1).contains(config.shortSequenceProbability) {
            throw InstanceConfigError.invalidProbability(config.shortSequenceProbability)
        }
        self.config = config
        self.template = template
    }

    // MARK: Planning

    /// Plans every instance of one epoch, shuffled. Deterministic for (seed, epoch); different
    /// epochs split and pair the corpus differently (for static data pass
    /// `MaskingSeed.dataEpoch(epoch, dupeFactor:)`).
    public func plan<C: TokenizedCorpus>(_ corpus: C, seed: UInt64, epoch: Int) -> [InstancePlan] {
        var rng = RandomGenerator(seed: seed, stream: [0x504C_414E, UInt64(bitPattern: Int64(epoch))])
        var plans: [InstancePlan] = []
        plans.reserveCapacity(corpus.tokenCount / max(1, capacity) + corpus.documentCount + 16)
        switch config.format {
        case .segmentPair: planSegmentPairs(corpus, &rng, &plans)
        case .sentencePair: planSentencePairs(corpus, &rng, &plans)
        case .fullSentences, .docSentences: planPacked(corpus, &rng, &plans)
        case .singleSegment: planBlocks(corpus, &rng, &plans)
        case .blocks: planStream(corpus, &plans)
        }
        // Fisher–Yates with the same stream: the order is part of the deterministic plan.
        if plans.count > 1 {
            for i in stride(from: plans.count - 1, to: 0, by: -1) {
                plans.swapAt(i, rng.integer(below: i + 1))
            }
        }
        return plans
    }

    /// Full capacity, or with probability `shortSequenceProbability` a length uniform in [2, capacity].
    private func targetLength(_ rng: inout RandomGenerator) -> Int {
        let cap = capacity
        if config.shortSequenceProbability > 0 && rng.uniformDouble() < config.shortSequenceProbability {
            return 2 + rng.integer(below: cap - 1)
        }
        return cap
    }

    /// A document's sentences as units of at most `capacity` tokens (longer sentences are split).
    private func units<C: TokenizedCorpus>(ofDocument d: Int, _ corpus: C, into units: inout [Range<Int>]) {
        units.removeAll(keepingCapacity: true)
        let cap = capacity
        for s in corpus.sentences(ofDocument: d) {
            let r = corpus.tokens(ofSentence: s)
            var lo = r.lowerBound
            while lo < r.upperBound {
                let hi = min(lo + cap, r.upperBound)
                units.append(lo..<hi)
                lo = hi
            }
        }
    }

    /// A document other than `d` (uniform over the others), or `d` itself when it is the only one.
    private func otherDocument<C: TokenizedCorpus>(than d: Int, _ corpus: C, _ rng: inout RandomGenerator) -> Int {
        let n = corpus.documentCount
        if n < 2 { return d }
        let r = rng.integer(below: n - 1)
        return r >= d ? r + 1 : r
    }

    /// google-research/bert `truncate_seq_pair`: trim the longer segment, from the front or the
    /// back at random, until the pair fits (random ends avoid a bias towards sentence starts).
    private func truncatePair(_ a: inout Range<Int>, _ b: inout Range<Int>, to limit: Int, _ rng: inout RandomGenerator) {
        // Bound the work: neither side can keep more than `limit` tokens anyway.
        if a.count > limit { a = a.lowerBound..<(a.lowerBound + limit) }
        if b.count > limit { b = b.lowerBound..<(b.lowerBound + limit) }
        while a.count + b.count > limit {
            let front = rng.uniformDouble() < 0.5
            if a.count > b.count {
                a = front ? (a.lowerBound + 1)..<a.upperBound : a.lowerBound..<(a.upperBound - 1)
            } else {
                b = front ? (b.lowerBound + 1)..<b.upperBound : b.lowerBound..<(b.upperBound - 1)
            }
        }
    }

    /// google-research/bert `create_instances_from_document`, per document, over sentence units.
    private func planSegmentPairs<C: TokenizedCorpus>(_ corpus: C, _ rng: inout RandomGenerator, _ plans: inout [InstancePlan]) {
        let cap = capacity
        let task = config.sentenceTask
        var doc: [Range<Int>] = []
        for d in 0..<corpus.documentCount {
            units(ofDocument: d, corpus, into: &doc)
            if doc.isEmpty { continue }
            var target = targetLength(&rng)
            var chunkStart = 0, currentLength = 0
            var i = 0
            while i < doc.count {
                currentLength += doc[i].count
                if i == doc.count - 1 || currentLength >= target {
                    let chunkEnd = i + 1, n = chunkEnd - chunkStart
                    // SOP needs two consecutive segments: grow the chunk, or drop a lone last unit.
                    if task == .sop && n < 2 {
                        if i < doc.count - 1 { i += 1; continue }
                        break
                    }
                    let aEnd = n >= 2 ? chunkStart + 1 + rng.integer(below: n - 1) : chunkStart + 1
                    var a = doc[chunkStart].lowerBound..<doc[aEnd - 1].upperBound
                    var b: Range<Int>? = n >= 2 ? doc[aEnd].lowerBound..<doc[chunkEnd - 1].upperBound : nil
                    var label: Int32? = nil
                    switch task {
                    case .nsp:
                        if n == 1 || rng.uniformDouble() < 0.5 {
                            label = 1
                            b = randomSegment(notIn: d, length: max(1, target - a.count), corpus, &rng)
                            // The unused sentences go back for the next instance.
                            i -= chunkEnd - aEnd
                        } else {
                            label = 0
                        }
                    case .sop:
                        label = swapForSentenceOrder(&a, &b!, &rng)
                    case .none:
                        break
                    }
                    if var bb = b {
                        truncatePair(&a, &bb, to: cap, &rng)
                        if !a.isEmpty && !bb.isEmpty {
                            plans.append(InstancePlan(first: a, second: bb, sentenceLabel: label))
                        }
                    } else if task == .none && !a.isEmpty {
                        // A lone unit without a task: a single-segment instance.
                        plans.append(InstancePlan(first: a.lowerBound..<min(a.upperBound, a.lowerBound + cap)))
                    }
                    chunkStart = i + 1
                    currentLength = 0
                    target = targetLength(&rng)
                }
                i += 1
            }
        }
    }

    /// NSP's random B: sentences of another document from a random one on, up to `length` tokens.
    private func randomSegment<C: TokenizedCorpus>(notIn d: Int, length: Int, _ corpus: C, _ rng: inout RandomGenerator) -> Range<Int>? {
        for _ in 0..<10 {
            let r = otherDocument(than: d, corpus, &rng)
            let sentences = corpus.sentences(ofDocument: r)
            if sentences.isEmpty { continue }
            let start = sentences.lowerBound + rng.integer(below: sentences.count)
            let lo = corpus.tokens(ofSentence: start).lowerBound
            var hi = lo
            for s in start..<sentences.upperBound {
                hi = corpus.tokens(ofSentence: s).upperBound
                if hi - lo >= length { break }
            }
            if hi > lo { return lo..<min(hi, lo + capacity) }
        }
        return nil
    }

    /// A random non-empty sentence of another document.
    private func randomSentence<C: TokenizedCorpus>(notIn d: Int, _ corpus: C, _ rng: inout RandomGenerator) -> Range<Int>? {
        for _ in 0..<10 {
            let r = otherDocument(than: d, corpus, &rng)
            let sentences = corpus.sentences(ofDocument: r)
            if sentences.isEmpty { continue }
            let t = corpus.tokens(ofSentence: sentences.lowerBound + rng.integer(below: sentences.count))
            if !t.isEmpty { return t }
        }
        return nil
    }

    /// SOP (Lan et al. 2020): swaps two consecutive segments with p = 0.5; the label is 1 when swapped.
    private func swapForSentenceOrder(_ a: inout Range<Int>, _ b: inout Range<Int>, _ rng: inout RandomGenerator) -> Int32 {
        guard rng.uniformDouble() < 0.5 else { return 0 }
        swap(&a, &b)
        return 1
    }

    /// SENTENCE-PAIR: each sentence that has a successor is an A once.
    private func planSentencePairs<C: TokenizedCorpus>(_ corpus: C, _ rng: inout RandomGenerator, _ plans: inout [InstancePlan]) {
        let cap = capacity
        for d in 0..<corpus.documentCount {
            let sentences = corpus.sentences(ofDocument: d)
            for s in sentences where s + 1 < sentences.upperBound {
                var a = corpus.tokens(ofSentence: s)
                var b: Range<Int>? = corpus.tokens(ofSentence: s + 1)
                var label: Int32? = nil
                switch config.sentenceTask {
                case .nsp:
                    if rng.uniformDouble() < 0.5 {
                        label = 1
                        b = randomSentence(notIn: d, corpus, &rng)
                    } else {
                        label = 0
                    }
                case .sop:
                    label = swapForSentenceOrder(&a, &b!, &rng)
                case .none: break
                }
                guard var bb = b, !a.isEmpty, !bb.isEmpty else { continue }
                truncatePair(&a, &bb, to: cap, &rng)
                plans.append(InstancePlan(first: a, second: bb, sentenceLabel: label))
            }
        }
    }

    /// FULL-SENTENCES / DOC-SENTENCES: whole sentences packed up to the target length; a sentence
    /// that does not fit starts the next instance, one longer than the target is split.
    private func planPacked<C: TokenizedCorpus>(_ corpus: C, _ rng: inout RandomGenerator, _ plans: inout [InstancePlan]) {
        let crossing = config.format == .fullSentences
        let sepCost = crossing ? template.separator.count : 0
        var target = targetLength(&rng)
        var start = 0, end = 0, length = 0, currentDoc = -1
        func emit() {
            if length > 0 { plans.append(InstancePlan(first: start..<end, separatesDocuments: crossing)) }
            length = 0
        }
        for d in 0..<corpus.documentCount {
            if !crossing && length > 0 {
                emit()
                target = targetLength(&rng)
            }
            for s in corpus.sentences(ofDocument: d) {
                var r = corpus.tokens(ofSentence: s)
                while !r.isEmpty {
                    let sep = length > 0 && currentDoc != d ? sepCost : 0
                    if length + sep + r.count <= target {
                        if length == 0 { start = r.lowerBound }
                        length += sep + r.count
                        end = r.upperBound
                        currentDoc = d
                        r = r.upperBound..<r.upperBound
                    } else if length > 0 {
                        emit()
                        target = targetLength(&rng)
                    } else {
                        start = r.lowerBound
                        end = r.lowerBound + target
                        length = target
                        currentDoc = d
                        emit()
                        r = end..<r.upperBound
                        target = targetLength(&rng)
                    }
                }
            }
        }
        emit()
    }

    /// Single segment (SpanBERT): blocks of the target length filled token by token within one document.
    private func planBlocks<C: TokenizedCorpus>(_ corpus: C, _ rng: inout RandomGenerator, _ plans: inout [InstancePlan]) {
        var target = targetLength(&rng)
        for d in 0..<corpus.documentCount {
            var start = 0, end = 0, length = 0
            for s in corpus.sentences(ofDocument: d) {
                var r = corpus.tokens(ofSentence: s)
                while !r.isEmpty {
                    let take = min(target - length, r.count)
                    if length == 0 { start = r.lowerBound }
                    length += take
                    end = r.lowerBound + take
                    r = end..<r.upperBound
                    if length == target {
                        plans.append(InstancePlan(first: start..<end))
                        length = 0
                        target = targetLength(&rng)
                    }
                }
            }
            if length > 0 {
                plans.append(InstancePlan(first: start..<end))
                target = targetLength(&rng)
            }
        }
    }

    /// GPT-2 blocks: the stream d₀ sep d₁ sep … cut every `capacity` tokens (separators counted;
    /// see ``InputFormat/blocks``). Full length always: `shortSequenceProbability` does not apply.
    private func planStream<C: TokenizedCorpus>(_ corpus: C, _ plans: inout [InstancePlan]) {
        let cap = capacity, sep = template.separator.count
        var start = 0, end = 0, length = 0
        for d in 0..<corpus.documentCount {
            let sentences = corpus.sentences(ofDocument: d)
            guard !sentences.isEmpty else { continue }
            var lo = corpus.tokens(ofSentence: sentences.lowerBound).lowerBound
            let hi = corpus.tokens(ofSentence: sentences.upperBound - 1).upperBound
            // The separator before a document inside a block; it does not fit at the block's very end.
            if length > 0 {
                if length + sep >= cap {
                    plans.append(InstancePlan(first: start..<end, separatesDocuments: true))
                    length = 0
                } else {
                    length += sep
                }
            }
            while lo < hi {
                if length == 0 { start = lo }
                let take = min(cap - length, hi - lo)
                length += take
                lo += take
                end = lo
                if length == cap {
                    plans.append(InstancePlan(first: start..<lo, separatesDocuments: true))
                    length = 0
                }
            }
        }
        if length > 0 { plans.append(InstancePlan(first: start..<end, separatesDocuments: true)) }
    }

    // MARK: Materializing

    /// Reads a plan's tokens and lays them out with the template: ids, token types, special flags,
    /// word starts and the sentence label. Content beyond `maxLength` (a hand-made plan) is cut
    /// from the end of the longer segment.
    public func materialize<C: TokenizedCorpus>(_ plan: InstancePlan, from corpus: C) -> PretrainingInstance {
        var (aIDs, aStarts, aSpecial) = segment(plan.first, separated: plan.separatesDocuments, corpus)
        var bIDs: [Int32] = [], bStarts: [Bool] = []
        if let second = plan.second, !second.isEmpty {
            bIDs = corpus.tokenIDs(second)
            bStarts = corpus.wordStarts(second)
        }
        let isPair = plan.second != nil
        let layout = isPair ? template.pair : template.single
        let limit = max(0, config.maxLength - layout.overhead)
        while aIDs.count + bIDs.count > limit {
            if bIDs.count > aIDs.count { bIDs.removeLast(); bStarts.removeLast() } else {
                aIDs.removeLast(); aStarts.removeLast(); aSpecial.removeLast()
            }
        }
        let n = layout.overhead + aIDs.count + bIDs.count
        var ids: [Int32] = [], types: [Int32] = [], special: [Bool] = [], starts: [Bool] = []
        ids.reserveCapacity(n); types.reserveCapacity(n); special.reserveCapacity(n); starts.reserveCapacity(n)
        func specials(_ s: [Int32], _ t: [Int32]) {
            ids += s; types += t
            special += repeatElement(true, count: s.count)
            starts += repeatElement(true, count: s.count)
        }
        specials(layout.prefix, layout.prefixTypes)
        ids += aIDs; types += repeatElement(layout.firstType, count: aIDs.count); special += aSpecial; starts += aStarts
        if isPair {
            specials(layout.middle, layout.middleTypes)
            ids += bIDs; types += repeatElement(layout.secondType, count: bIDs.count)
            special += repeatElement(false, count: bIDs.count); starts += bStarts
        }
        specials(layout.suffix, layout.suffixTypes)
        return PretrainingInstance(ids: ids, tokenTypes: types, isSpecial: special, wordStarts: starts,
                                   sentenceLabel: plan.sentenceLabel)
    }

    /// A segment's ids, word starts and special flags, with the separator before every document
    /// that starts strictly inside the range when `separated`.
    private func segment<C: TokenizedCorpus>(_ range: Range<Int>, separated: Bool, _ corpus: C) -> ([Int32], [Bool], [Bool]) {
        guard !range.isEmpty else { return ([], [], []) }
        let sep = template.separator
        let boundaries = separated && !sep.isEmpty ? documentStarts(inside: range, corpus) : []
        if boundaries.isEmpty {
            return (corpus.tokenIDs(range), corpus.wordStarts(range), [Bool](repeating: false, count: range.count))
        }
        var ids: [Int32] = [], starts: [Bool] = [], special: [Bool] = []
        let n = range.count + boundaries.count * sep.count
        ids.reserveCapacity(n); starts.reserveCapacity(n); special.reserveCapacity(n)
        var lo = range.lowerBound
        for b in boundaries + [range.upperBound] {
            ids += corpus.tokenIDs(lo..<b)
            starts += corpus.wordStarts(lo..<b)
            special += repeatElement(false, count: b - lo)
            if b < range.upperBound {
                ids += sep
                starts += repeatElement(true, count: sep.count)
                special += repeatElement(true, count: sep.count)
            }
            lo = b
        }
        return (ids, starts, special)
    }

    /// First token of document `d` (the token count for trailing empty documents).
    private func documentStart<C: TokenizedCorpus>(_ d: Int, _ corpus: C) -> Int {
        let s = corpus.sentences(ofDocument: d).lowerBound
        return s < corpus.sentenceCount ? corpus.tokens(ofSentence: s).lowerBound : corpus.tokenCount
    }

    /// Distinct document start tokens strictly inside `range`, ascending.
    private func documentStarts<C: TokenizedCorpus>(inside range: Range<Int>, _ corpus: C) -> [Int] {
        // First document starting after range.lowerBound (binary search: starts are monotonic).
        var lo = 0, hi = corpus.documentCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if documentStart(mid, corpus) <= range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        var result: [Int] = []
        var d = lo
        while d < corpus.documentCount {
            let t = documentStart(d, corpus)
            if t >= range.upperBound { break }
            if result.last != t { result.append(t) }
            d += 1
        }
        return result
    }
}
