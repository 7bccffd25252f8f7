/// Row gathering: embedding lookup, and picking the masked positions for the MLM head.
///
/// - table (V,C), indices (N) → out (N,C) with out[i] = table[indices[i]]
public enum GatherKernel {
    /// Errors for indices outside the table.
    public struct IndexOutOfRange: Error, CustomStringConvertible {
        public let index: Int32, position: Int, rows: Int
        public var description: String {
            "index \(index) at position \(position) is outside a table of \(rows) rows; check that the tokenizer's vocabulary matches the model's vocab_size"
        }
    }

    /// Throws if any index is outside `0..<rows`.
    public static func validate(_ indices: UnsafeBufferPointer<Int32>, rows: Int) throws {
        for (i, ix) in indices.enumerated() where ix < 0 || Int(ix) >= rows {
            throw IndexOutOfRange(index: ix, position: i, rows: rows)
        }
    }

    /// out (N,C) = table[indices] — indices must be valid (see ``validate(_:rows:)``).
    public static func forward(_ out: UnsafeMutablePointer<Float>, table: UnsafePointer<Float>,
                               indices: UnsafePointer<Int32>, count n: Int, columns c: Int) {
        parallelFor(n, grain: max(1, 16384 / max(c, 1))) { range in
            for i in range { (out + i * c).update(from: table + Int(indices[i]) * c, count: c) }
        }
    }

    /// dtable[indices[i]] += dout[i] (scatter-add). Split over column slices, not rows, so
    /// repeated indices never race and the sum order is fixed.
    public static func backward(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                indices: UnsafePointer<Int32>, count n: Int, columns c: Int) {
        let slices = min(Threading.threadCount, max(1, c / 32))
        parallelFor(slices) { range in
            for s in range {
                let lo = c * s / slices, hi = c * (s + 1) / slices
                for i in 0..<n {
                    let dst = dtable + Int(indices[i]) * c, src = dout + i * c
                    for j in lo..<hi { dst[j] += src[j] }
                }
            }
        }
    }
}
