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
    /// Non-pad tokens in the batch (for tokens/s).
    public var tokenCount: Int

    /// Pads every instance to `length` with `padID` (attention mask 0 there).
    public init(_ items: [(instance: PretrainingInstance, masked: MaskedInstance)], length: Int, padID: Int32) {
        let b = items.count
        var ids = [Int32](repeating: padID, count: b * length)
        var types = [Int32](repeating: 0, count: b * length)
        var mask = [Float](repeating: 0, count: b * length)
        positions = []
        labels = []
        sentenceLabels = []
        tokenCount = 0
        for (row, item) in items.enumerated() {
            let n = min(length, item.masked.inputIDs.count)
            let base = row * length
            for t in 0..<n {
                ids[base + t] = item.masked.inputIDs[t]
                types[base + t] = item.instance.tokenTypes[t]
                mask[base + t] = 1
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
        input = EncoderInput(ids: ids, tokenTypes: types, attentionMask: mask, batch: b, length: length)
    }
}
