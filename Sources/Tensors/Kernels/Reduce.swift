/// Reductions, all deterministic for any thread count: work is split into fixed blocks and
/// partial results are combined in a fixed order.
public enum Reduce {
    /// Rows per block for column reductions. Fixed (not derived from the thread count) so the
    /// summation order — and therefore every bit of the result — never depends on threads.
    public static let rowBlock = 64

    /// dst (W) += Σ over `rows` of what `contribute(rowRange, accumulator)` adds into a zeroed
    /// accumulator of width `width`, one call per fixed block of rows.
    public static func accumulateRows(
        _ rows: Int, width: Int, into dst: UnsafeMutablePointer<Float>,
        _ contribute: (Range<Int>, UnsafeMutablePointer<Float>) -> Void
    ) {
        if rows == 0 || width == 0 { return }
        let blocks = (rows + rowBlock - 1) / rowBlock
        if blocks == 1 {
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { acc.deallocate() }
            acc.initialize(repeating: 0, count: width)
            contribute(0..<rows, acc)
            for j in 0..<width { dst[j] += acc[j] }
            return
        }
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: blocks * width)
        defer { partial.deallocate() }
        partial.initialize(repeating: 0, count: blocks * width)
        parallelFor(blocks) { range in
            for blk in range {
                contribute(blk * rowBlock..<min(rows, (blk + 1) * rowBlock), partial + blk * width)
            }
        }
        // Pairwise-free, fixed-order combine, parallel over columns.
        parallelFor(width, grain: 256) { cols in
            for blk in 0..<blocks {
                let p = partial + blk * width
                for j in cols { dst[j] += p[j] }
            }
        }
    }

    /// dst (C) += Σ_r src[r, :] for src (R,C).
    public static func sumRows(_ src: UnsafePointer<Float>, rows: Int, columns: Int, into dst: UnsafeMutablePointer<Float>) {
        accumulateRows(rows, width: columns, into: dst) { range, acc in
            for r in range { Elementwise.addInPlace(acc, src + r * columns, count: columns) }
        }
    }

    /// Σ x[i], accumulated in Double over fixed blocks.
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        blockedSum(count) { i in Double(x[i]) }
    }

    /// Σ x[i]², accumulated in Double over fixed blocks (for gradient norms).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        blockedSum(count) { i in let v = Double(x[i]); return v * v }
    }

    static let elementBlock = 1 << 14

    @inline(__always)
    static func blockedSum(_ count: Int, _ term: (Int) -> Double) -> Double {
        let blocks = (count + elementBlock - 1) / elementBlock
        if blocks <= 1 {
            var s = 0.0
            for i in 0..<count { s += term(i) }
            return s
        }
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { buf in
            let p = UnsafeSendable(buf.baseAddress!)
            parallelFor(blocks) { range in
                for blk in range {
                    var s = 0.0
                    for i in blk * elementBlock..<min(count, (blk + 1) * elementBlock) { s += term(i) }
                    p.value[blk] = s
                }
            }
        }
        return partial.reduce(0, +)
    }
}
