import Tensors

/// Which tokens masked language modelling predicts, and how they are grouped.
public enum MaskingScheme: Sendable, Equatable, Codable {
    /// BERT (Devlin et al. 2019): positions chosen uniformly among non-special tokens.
    case token
    /// Whole-word masking (Devlin et al. 2019, google-research/bert update): words (from the
    /// word-start flags) are chosen until the budget; all pieces of a word are masked together.
    case wholeWord
    /// ALBERT n-gram masking (Lan et al. 2020, §4.1): n-grams of up to `maxWords` whole words with
    /// p(n) ∝ 1/n (n ≤ 3: 6/11, 3/11, 2/11), non-overlapping.
    case ngram(maxWords: Int)
    /// SpanBERT span masking (Joshi et al. 2020, §3.1): span length in words ~ Geometric(p)
    /// truncated to [1, maxWords] and renormalised (p = 0.2, 10: mean ≈ 3.8), starting at a word
    /// start; one replacement decision per span; feeds SBO through `spanTargets`.
    case span(geometricP: Double, maxWords: Int)

    /// ALBERT's n-gram masking, n ≤ 3.
    public static var albertNgram: MaskingScheme { .ngram(maxWords: 3) }
    /// SpanBERT's span masking, Geometric(0.2) clipped to 10 words.
    public static var spanBERT: MaskingScheme { .span(geometricP: 0.2, maxWords: 10) }
}

/// Masked language modelling settings: how many tokens to predict, how they are chosen, and
/// what replaces them.
///
/// The number of predictions per sequence is `max(1, round(probability · m))` capped by
/// `maxPredictions`, where `m` counts the maskable (non-special) tokens (google-research/bert
/// counts specials too; counting only maskable tokens makes the rate exactly `probability` of
/// what can be predicted). Each chosen token is replaced by the mask token with probability
/// `maskRatio`, by a random non-special token with `randomRatio`, and kept otherwise:
/// BERT 0.8 / 0.1 / 0.1 (Devlin et al. 2019, §3.1); ELECTRA's generator 0.85 / 0 / 0.15
/// (Clark et al. 2020). Whole-word and n-gram masking decide per token, as google-research/bert
/// and ALBERT do; span masking decides once per span (Joshi et al. 2020, §3.1).
public struct MaskingConfig: Sendable, Equatable, Codable {
    /// How predicted tokens are grouped (token, whole word, n-gram, span).
    public var scheme: MaskingScheme
    /// Fraction of maskable tokens to predict (0.15).
    public var probability: Double
    /// Cap on predictions per sequence (BERT: 20 at length 128, 80 at 512); nil = no cap.
    public var maxPredictions: Int?
    /// Probability that a chosen token becomes the mask token.
    public var maskRatio: Double
    /// Probability that a chosen token becomes a random token; the rest are kept unchanged.
    public var randomRatio: Double
    /// The id that replaces masked tokens (`[MASK]`, `<mask>`).
    public var maskID: Int32
    /// Random replacements are drawn from `0..<vocabularySize`.
    public var vocabularySize: Int
    /// Ids never drawn as random replacements (the specials), sorted.
    public var excludedFromRandom: [Int32]

    /// Probability that a chosen token keeps its id.
    public var keepRatio: Double { max(0, 1 - maskRatio - randomRatio) }

    public init(scheme: MaskingScheme = .token, maskID: Int32, vocabularySize: Int, excludedFromRandom: [Int32] = [],
                probability: Double = 0.15, maxPredictions: Int? = nil, maskRatio: Double = 0.8, randomRatio: Double = 0.1) {
        self.scheme = scheme
        self.maskID = maskID
        self.vocabularySize = vocabularySize
        self.excludedFromRandom = excludedFromRandom.sorted()
        self.probability = probability
        self.maxPredictions = maxPredictions
        self.maskRatio = maskRatio
        self.randomRatio = randomRatio
    }

    /// Settings from a template (mask id, vocabulary, specials); throws
    /// ``SequenceTemplateError/noMaskToken`` when the tokenizer has no mask token.
    public init(template: SequenceTemplate, scheme: MaskingScheme = .token, probability: Double = 0.15,
                maxPredictions: Int? = nil, maskRatio: Double = 0.8, randomRatio: Double = 0.1) throws {
        self.init(scheme: scheme, maskID: try template.requireMaskID(), vocabularySize: template.vocabularySize,
                  excludedFromRandom: template.specialIDs, probability: probability, maxPredictions: maxPredictions,
                  maskRatio: maskRatio, randomRatio: randomRatio)
    }

    /// Number of predictions for `maskable` maskable tokens: max(1, round(p·m)), capped; 0 when m = 0.
    public func predictionCount(maskable: Int) -> Int {
        guard maskable > 0 else { return 0 }
        // Clamped before converting so that a NaN or huge probability cannot trap.
        let expected = probability.isFinite ? min(Double(maskable), max(0, probability * Double(maskable))) : 0
        var k = max(1, Int(expected.rounded()))
        if let cap = maxPredictions { k = min(k, max(0, cap)) }
        return min(k, maskable)
    }

    /// Masks one instance. Deterministic given `rng`; special tokens are never chosen. Positions
    /// come out ascending with the original ids as labels; span masking also fills `spanTargets`.
    public func mask(_ instance: PretrainingInstance, using rng: inout RandomGenerator) -> MaskedInstance {
        maskRecordingUnits(instance, using: &rng, recordPlacement: false).masked
    }

    // Per-token state while masking: unmaskable, free, or the replacement decided for it.
    private static let blocked: UInt8 = 255, free: UInt8 = 0, replaceMask: UInt8 = 1, replaceRandom: UInt8 = 2, keep: UInt8 = 3

    /// Masks and, with `recordPlacement`, also returns the chosen units (token ranges: a token, a
    /// word, an n-gram, a span) in the order they were placed, which tests use to check the unit
    /// length distributions.
    func maskRecordingUnits(_ instance: PretrainingInstance, using rng: inout RandomGenerator,
                            recordPlacement: Bool = true) -> (masked: MaskedInstance, units: [Range<Int>]) {
        let n = instance.ids.count
        var state = [UInt8](repeating: Self.free, count: n)
        var maskable = 0
        for i in 0..<n {
            if instance.isSpecial[i] { state[i] = Self.blocked } else { maskable += 1 }
        }
        var isSpan = false
        if case .span = scheme, n > 0 {
            // SBO needs both boundary tokens inside the sequence: spans never touch either end.
            isSpan = true
            if state[0] == Self.free { state[0] = Self.blocked; maskable -= 1 }
            if n > 1 && state[n - 1] == Self.free { state[n - 1] = Self.blocked; maskable -= 1 }
        }
        let budget = predictionCount(maskable: maskable)
        var units: [Range<Int>] = []
        if budget > 0 {
            switch scheme {
            case .token: chooseTokens(&state, budget, &units, &rng)
            case .wholeWord:
                let words = Words(state, instance.wordStarts)
                chooseWholeWords(words, &state, budget, &units, &rng)
            case .ngram(let maxWords):
                let words = Words(state, instance.wordStarts)
                chooseNgrams(words, maxWords: max(1, maxWords), &state, budget, &units, &rng)
            case let .span(p, maxWords):
                let words = Words(state, instance.wordStarts)
                chooseSpans(words, p: p, maxWords: max(1, maxWords), &state, budget, &units, &rng)
            }
        }
        let placed = recordPlacement ? units : []
        units.sort { $0.lowerBound < $1.lowerBound }
        var count = 0
        for u in units { count += u.count }
        var inputIDs = instance.ids
        var positions: [Int32] = [], labels: [Int32] = []
        positions.reserveCapacity(count); labels.reserveCapacity(count)
        var targets: [SpanTarget] = []
        if isSpan { targets.reserveCapacity(count) }
        for u in units {
            for t in u {
                positions.append(Int32(t))
                labels.append(instance.ids[t])
                switch state[t] {
                case Self.replaceMask: inputIDs[t] = maskID
                case Self.replaceRandom: inputIDs[t] = randomToken(&rng)
                default: break
                }
                if isSpan {
                    targets.append(SpanTarget(leftBoundary: Int32(u.lowerBound - 1), rightBoundary: Int32(u.upperBound),
                                              offset: Int32(t - u.lowerBound)))
                }
            }
        }
        let masked = MaskedInstance(inputIDs: inputIDs, positions: positions, labels: labels,
                                    spanTargets: isSpan ? targets : nil)
        return (masked, placed)
    }

    /// One 80/10/10 draw.
    @inline(__always)
    private func decision(_ rng: inout RandomGenerator) -> UInt8 {
        let u = rng.uniformDouble()
        if u < maskRatio { return Self.replaceMask }
        if u < maskRatio + randomRatio { return Self.replaceRandom }
        return Self.keep
    }

    /// A random id outside the excluded specials (rejection; the mask id if the vocabulary is
    /// all specials, so it can never loop forever).
    private func randomToken(_ rng: inout RandomGenerator) -> Int32 {
        guard vocabularySize > 0 else { return maskID }
        for _ in 0..<64 {
            let t = Int32(truncatingIfNeeded: rng.integer(below: vocabularySize))
            if !isExcluded(t) { return t }
        }
        return maskID
    }

    @inline(__always)
    private func isExcluded(_ t: Int32) -> Bool {
        // Few specials: a linear scan beats hashing.
        for e in excludedFromRandom where e == t { return true }
        return false
    }

    /// Token masking: a partial Fisher–Yates over the maskable positions.
    private func chooseTokens(_ state: inout [UInt8], _ budget: Int, _ units: inout [Range<Int>], _ rng: inout RandomGenerator) {
        var candidates: [Int32] = []
        candidates.reserveCapacity(state.count)
        for i in state.indices where state[i] == Self.free { candidates.append(Int32(i)) }
        units.reserveCapacity(budget)
        for k in 0..<min(budget, candidates.count) {
            candidates.swapAt(k, k + rng.integer(below: candidates.count - k))
            let p = Int(candidates[k])
            state[p] = decision(&rng)
            units.append(p..<(p + 1))
        }
    }

    /// Whole words: visit words in random order, take each that still fits in the budget
    /// (google-research/bert skips a word that would overshoot rather than split it).
    private func chooseWholeWords(_ words: Words, _ state: inout [UInt8], _ budget: Int, _ units: inout [Range<Int>],
                                  _ rng: inout RandomGenerator) {
        var order = words.order()
        var masked = 0
        for k in 0..<order.count {
            if masked >= budget { break }
            order.swapAt(k, k + rng.integer(below: order.count - k))
            let w = Int(order[k])
            let lo = Int(words.begin[w]), hi = Int(words.end[w])
            if masked + hi - lo > budget { continue }
            for t in lo..<hi { state[t] = decision(&rng) }
            units.append(lo..<hi)
            masked += hi - lo
        }
    }

    /// ALBERT `create_masked_lm_predictions` with n-grams: visit start words in random order, draw
    /// n ∝ 1/n among the n-grams that stay inside the segment, shorten it while it overshoots the
    /// budget, skip it if it overlaps an earlier one.
    private func chooseNgrams(_ words: Words, maxWords: Int, _ state: inout [UInt8], _ budget: Int,
                              _ units: inout [Range<Int>], _ rng: inout RandomGenerator) {
        var order = words.order()
        var masked = 0
        for k in 0..<order.count {
            if masked >= budget { break }
            order.swapAt(k, k + rng.integer(below: order.count - k))
            let w = Int(order[k])
            let available = min(maxWords, Int(words.runEnd[w]) - w)
            // p(n) ∝ 1/n over 1...available.
            var total = 0.0
            for j in 1...available { total += 1 / Double(j) }
            var u = rng.uniformDouble() * total
            var n = available
            for j in 1...available {
                u -= 1 / Double(j)
                if u < 0 { n = j; break }
            }
            let lo = Int(words.begin[w])
            while n > 1 && masked + Int(words.end[w + n - 1]) - lo > budget { n -= 1 }
            let hi = Int(words.end[w + n - 1])
            if masked + hi - lo > budget { continue }
            var overlaps = false
            for t in lo..<hi where state[t] != Self.free { overlaps = true; break }
            if overlaps { continue }
            for t in lo..<hi { state[t] = decision(&rng) }
            units.append(lo..<hi)
            masked += hi - lo
        }
    }

    /// Span length in words: Geometric(p) on 1...maxWords, renormalised (SpanBERT's `len_distrib`).
    static func spanLength(p: Double, maxWords: Int, _ rng: inout RandomGenerator) -> Int {
        guard p > 0 && p < 1 else { return p >= 1 ? 1 : 1 + rng.integer(below: maxWords) }
        var weight = p, total = 0.0
        for _ in 0..<maxWords { total += weight; weight *= 1 - p }
        var u = rng.uniformDouble() * total
        weight = p
        for length in 1...maxWords {
            u -= weight
            if u < 0 { return length }
            weight *= 1 - p
        }
        return maxWords
    }

    /// SpanBERT span masking: draw a length, then an anchor word (retrying anchors rather than
    /// lengths, so that collisions do not bias lengths short); a span stays inside its segment,
    /// is trimmed to the remaining budget, and keeps one free token on each side so spans never
    /// touch (their SBO boundary tokens are never masked). One decision per span.
    private func chooseSpans(_ words: Words, p: Double, maxWords: Int, _ state: inout [UInt8], _ budget: Int,
                             _ units: inout [Range<Int>], _ rng: inout RandomGenerator) {
        let wordCount = words.begin.count
        guard wordCount > 0 else { return }
        var masked = 0, failures = 0
        let attempts = 10
        while masked < budget && failures < 16 {
            let length = Self.spanLength(p: p, maxWords: maxWords, &rng)
            var accepted = false
            for attempt in 0..<attempts {
                let w = rng.integer(below: wordCount)
                var end = min(w + length, Int(words.runEnd[w]))
                // Prefer anchors where the whole span fits in the segment; clip on the last try.
                if end - w < length && attempt < attempts - 1 { continue }
                let lo = Int(words.begin[w])
                while end > w && Int(words.end[end - 1]) - lo > budget - masked { end -= 1 }
                if end == w { continue }
                let hi = Int(words.end[end - 1])
                // lo ≥ 1 and hi ≤ n − 1: both ends of the sequence are blocked for spans.
                let before = state[lo - 1], after = state[hi]
                var clear = (before == Self.free || before == Self.blocked) && (after == Self.free || after == Self.blocked)
                if clear { for t in lo..<hi where state[t] != Self.free { clear = false; break } }
                if !clear { continue }
                let kind = decision(&rng)
                for t in lo..<hi { state[t] = kind }
                units.append(lo..<hi)
                masked += hi - lo
                accepted = true
                break
            }
            if !accepted { failures += 1 }
        }
    }
}

/// The words of a sequence: maximal runs of maskable tokens split at word starts. A maskable
/// token right after a blocked one always starts a word, so segments never share a word.
struct Words {
    /// First token of each word.
    var begin: [Int32] = []
    /// One past the last token of each word.
    var end: [Int32] = []
    /// One past the last word of the word's segment (run of maskable tokens).
    var runEnd: [Int32] = []

    init(_ state: [UInt8], _ wordStarts: [Bool]) {
        let n = state.count
        begin.reserveCapacity(n); end.reserveCapacity(n); runEnd.reserveCapacity(n)
        var i = 0
        while i < n {
            if state[i] != 0 { i += 1; continue }
            let firstWord = begin.count
            begin.append(Int32(i))
            i += 1
            while i < n && state[i] == 0 {
                if wordStarts[i] { end.append(Int32(i)); begin.append(Int32(i)) }
                i += 1
            }
            end.append(Int32(i))
            runEnd += repeatElement(Int32(begin.count), count: begin.count - firstWord)
        }
    }

    /// 0..<wordCount, to be shuffled lazily.
    func order() -> [Int32] { (0..<Int32(begin.count)).map { $0 } }
}

/// Seeds for masking: dynamic masking (Liu et al. 2019, RoBERTa §4.1) draws a fresh mask each
/// time a sequence is fed, keyed by (seed, epoch, index) so runs are reproducible; static masking
/// (Devlin et al. 2019) fixes `dupeFactor` masks per sequence at preparation time, which is
/// exactly keying by (seed, epoch mod dupeFactor, index).
public enum MaskingSeed {
    /// The generator for masking instance `index` in `epoch`. `dupeFactor` nil = dynamic masking;
    /// `dupeFactor: 10` = BERT's static masking with 10 duplicates (the first `dupeFactor` epochs
    /// of static and dynamic masking coincide).
    public static func rng(seed: UInt64, epoch: Int, index: Int, dupeFactor: Int? = nil) -> RandomGenerator {
        RandomGenerator(seed: seed, stream: [0x4D41_534B, UInt64(bitPattern: Int64(dataEpoch(epoch, dupeFactor: dupeFactor))),
                                             UInt64(bitPattern: Int64(index))])
    }

    /// The epoch static data repeats: `epoch mod dupeFactor` (`epoch` itself when dynamic). Pass it
    /// to ``InstanceBuilder/plan(_:seed:epoch:)`` too, so the instances repeat with their masks.
    public static func dataEpoch(_ epoch: Int, dupeFactor: Int?) -> Int {
        guard let dupeFactor else { return epoch }
        let d = max(1, dupeFactor)
        return ((epoch % d) + d) % d
    }
}
