import Models
import PretrainingData

/// A collated micro-batch: instances padded to one length, with the flat (row·T + position)
/// indices every objective gathers from.
public struct PretrainingBatch: Sendable {
    public var input: EncoderInput
    /// Flat positions (b·T + t) of the MLM predictions, and their original tokens.
    public var positions: [Int32]
    public var labels: [Int32]
    /// NSP/SOP labels, one per sequence (empty when the format has none).
    public var sentenceLabels: [Int32]
    /// SBO: flat left/right boundary positions and in-span offsets, aligned with `positions`.
    public var spanLeft: [Int32] = []
    public var spanRight: [Int32] = []
    public var spanOffsets: [Int32] = []
    /// Permutation LM's attention masks and query rows (nil for other objectives).
    public var permutation: PermutationMasks?
    /// Non-pad tokens in the batch (for tokens/s).
    public var tokenCount: Int
    /// Real predictions (`labels` also holds padding rows with ``ignoredLabel``).
    public var predictionCount: Int
    /// The target of padding rows: skipped by the loss and the accuracy.
    public static let ignoredLabel = LossKernels.ignoreIndex

    /// Pads every instance to `length` with `padID` (attention mask 0 there).
    public init(_ items: [(instance: PretrainingInstance, masked: MaskedInstance)], length: Int, padID: Int32) {
        let b = items.count
        var ids = [Int32](repeating: padID, count: b * length)
        var types = [Int32](repeating: 0, count: b * length)
        var mask = [Float](repeating: 0, count: b * length)
        // Translation LM's instances carry language and position ids; padding gets 0 (masked out).
        let carriesLanguages = items.contains { $0.instance.languages != nil }, carriesPositions = items.contains { $0.instance.positions != nil }
        var languageIDs = [Int32](repeating: 0, count: carriesLanguages ? b * length : 0)
        var positionIDs = [Int32](repeating: 0, count: carriesPositions ? b * length : 0)
        positions = []
        labels = []
        sentenceLabels = []
        tokenCount = 0
        predictionCount = 0
        for (row, item) in items.enumerated() {
            let n = min(length, item.masked.inputIDs.count)
            let base = row * length
            for t in 0..<n {
                ids[base + t] = item.masked.inputIDs[t]
                types[base + t] = item.instance.tokenTypes[t]
                mask[base + t] = 1
                if carriesLanguages { languageIDs[base + t] = item.instance.languages?[t] ?? 0 }
                if carriesPositions { positionIDs[base + t] = item.instance.positions?[t] ?? Int32(t) }
            }
            tokenCount += n
            for (k, p) in item.masked.positions.enumerated() where Int(p) < n {
                positions.append(Int32(base) + p)
                labels.append(item.masked.labels[k])
                if let spans = item.masked.spanTargets {
                    spanLeft.append(Int32(base) + spans[k].leftBoundary)
                    spanRight.append(Int32(base) + spans[k].rightBoundary)
                    spanOffsets.append(spans[k].offset)
                }
            }
            if let label = item.instance.sentenceLabel { sentenceLabels.append(label) }
        }
        predictionCount = labels.count
        // Pad the predicted rows to a multiple of 64 with ignored targets: the head's (M,V) logits
        // then come in a few sizes the buffer pool can reuse, instead of a fresh ~20 MB every step.
        let padded = (labels.count + 63) / 64 * 64
        let extra = padded - labels.count
        positions += [Int32](repeating: 0, count: extra)
        labels += [Int32](repeating: PretrainingBatch.ignoredLabel, count: extra)
        if !spanLeft.isEmpty {
            spanLeft += [Int32](repeating: 0, count: extra)
            spanRight += [Int32](repeating: 0, count: extra)
            spanOffsets += [Int32](repeating: 0, count: extra)
        }
        if items.contains(where: { $0.masked.order != nil }) {
            permutation = PermutationMasks(items, length: length, predictionRows: labels.count)
        }
        // Packed formats fill every position: no padding mask to apply then.
        input = EncoderInput(ids: ids, tokenTypes: types, attentionMask: tokenCount == b * length ? nil : mask,
                             positionIDs: carriesPositions ? positionIDs : nil, languages: carriesLanguages ? languageIDs : nil,
                             batch: b, length: length)
    }
}

/// The two attention masks of permutation LM (XLNet's two-stream attention, Yang et al. 2019,
/// §2.3) for a batch, from each instance's ``MaskedInstance/order``, and the query stream's rows.
/// Masks are additive (0 sees, −∞ hides); padding keys are hidden by the key mask as usual.
///
/// With o(j) a position's place in the order (−1 for context tokens):
/// - content stream: position i sees j when o(j) ≤ o(i) — itself, and for a target every token
///   before it in the order; context tokens see only the context;
/// - query stream: target t sees j when o(j) < o(t) — never its own token.
public struct PermutationMasks: Sendable {
    /// Q, query-stream rows per sequence: the most targets of any sequence.
    public let queries: Int
    /// (B,T,T) content-stream mask.
    public let content: [Float]
    /// (B,Q,T) query-stream mask.
    public let query: [Float]
    /// (B·Q) each query row's target position in its sequence (padding rows: 0).
    public let targetPositions: [Int32]
    /// The query row (b·Q + k) of each prediction, aligned with ``PretrainingBatch/labels``
    /// (padding predictions: row 0, ignored label).
    public let rows: [Int32]

    init(_ items: [(instance: PretrainingInstance, masked: MaskedInstance)], length: Int, predictionRows: Int) {
        let b = items.count
        let q = max(1, items.map { item in item.masked.positions.filter { Int($0) < min(length, item.masked.inputIDs.count) }.count }.max() ?? 1)
        var content = [Float](repeating: 0, count: b * length * length)
        var query = [Float](repeating: 0, count: b * q * length)
        var targets = [Int32](repeating: 0, count: b * q)
        var rows: [Int32] = []
        for (row, item) in items.enumerated() {
            let n = min(length, item.masked.inputIDs.count)
            var order = [Int32](repeating: -1, count: length)
            for t in 0..<n { order[t] = item.masked.order?[t] ?? -1 }
            let base = row * length * length
            for i in 0..<length {
                for j in 0..<length where order[j] > order[i] { content[base + i * length + j] = -.infinity }
            }
            for (k, p) in item.masked.positions.enumerated() where Int(p) < n {
                targets[row * q + k] = p
                rows.append(Int32(row * q + k))
                let r = order[Int(p)], qBase = (row * q + k) * length
                for j in 0..<length where order[j] >= r { query[qBase + j] = -.infinity }
            }
        }
        rows += [Int32](repeating: 0, count: max(0, predictionRows - rows.count))
        (self.queries, self.content, self.query, self.targetPositions, self.rows) = (q, content, query, targets, rows)
    }
}
