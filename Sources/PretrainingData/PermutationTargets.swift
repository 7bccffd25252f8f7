import Tensors

/// Targets and factorisation order of permutation language modelling (XLNet, Yang et al. 2019),
/// as transformers' `DataCollatorForPermutationLanguageModeling` chooses them: walking the
/// sequence in windows, each window of `span / probability` tokens holds one span of
/// 1…`maxSpanLength` tokens at a random offset (so about `probability` of the tokens are
/// predicted, in spans); special tokens are never targets. The targets are then put in a random
/// order and everything else comes before them (see ``MaskedInstance/order``). Inputs keep their
/// tokens: the content stream sees a target's own token, the query stream never does.
public struct PermutationTargets: Sendable, Equatable {
    /// Share of the tokens predicted (XLNet: 1/6).
    public var probability: Double
    /// Longest span (XLNet: 5).
    public var maxSpanLength: Int
    /// Cap on targets per sequence; spans are kept in a random order until it is reached.
    public var maxPredictions: Int

    public init(probability: Double = 1.0 / 6, maxSpanLength: Int = 5, maxPredictions: Int = 32) {
        precondition(probability > 0 && probability < 1 && maxSpanLength >= 1 && maxPredictions >= 1, "PermutationTargets: bad settings")
        (self.probability, self.maxSpanLength, self.maxPredictions) = (probability, maxSpanLength, maxPredictions)
    }

    /// The targets (positions ascending, labels the tokens) and order of one instance; deterministic given `rng`.
    public func choose(_ instance: PretrainingInstance, using rng: inout RandomGenerator) -> MaskedInstance {
        let n = instance.ids.count
        var spans: [Range<Int>] = []
        var cursor = 0
        while cursor < n {
            let length = 1 + rng.integer(below: maxSpanLength)
            let window = max(length, Int(Double(length) / probability))
            let start = min(n, cursor + rng.integer(below: window - length + 1))
            // Specials (and the sequence's end) cut a span; what is left of it stays a target.
            let span = (start..<min(n, start + length)).filter { !instance.isSpecial[$0] }
            if let first = span.first, let last = span.last { spans.append(first..<(last + 1)) }
            cursor += window
        }
        // Whole spans in a random order until the cap (the last one cut to fit).
        for i in stride(from: spans.count - 1, to: 0, by: -1) { spans.swapAt(i, rng.integer(below: i + 1)) }
        var isTarget = [Bool](repeating: false, count: n)
        var chosen = 0
        for span in spans where chosen < maxPredictions {
            for p in span where chosen < maxPredictions && !instance.isSpecial[p] && !isTarget[p] {
                isTarget[p] = true
                chosen += 1
            }
        }
        let positions = (0..<n).filter { isTarget[$0] }
        // A random factorisation order of the targets: a shuffled 0..<k.
        var ranks = Array(0..<Int32(positions.count))
        for i in stride(from: ranks.count - 1, to: 0, by: -1) { ranks.swapAt(i, rng.integer(below: i + 1)) }
        var order = [Int32](repeating: -1, count: n)
        for (k, p) in positions.enumerated() { order[p] = ranks[k] }
        return MaskedInstance(inputIDs: instance.ids, positions: positions.map(Int32.init), labels: positions.map { instance.ids[$0] }, order: order)
    }
}
