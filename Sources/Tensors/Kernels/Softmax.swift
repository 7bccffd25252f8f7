/// Softmax over the last axis.
///
/// - inp (N,C) → out (N,C), each row summing to 1.
public enum SoftmaxKernel {
    typealias V = VectorMath.Vector

    /// Maximum of a row.
    @inline(__always)
    public static func rowMax(_ x: UnsafePointer<Float>, _ c: Int) -> Float {
        var m = V(repeating: -.infinity)
        var j = 0
        while j + VectorMath.width <= c {
            let v = VectorMath.load(x + j)
            m = m.replacing(with: v, where: v .> m)
            j += VectorMath.width
        }
        var result = VectorMath.horizontalMax(m)
        while j < c { result = max(result, x[j]); j += 1 }
        return result
    }

    /// The first j with x[j] == value (c − 1 when there is none), eight columns per comparison.
    @inline(__always)
    public static func firstIndex(of value: Float, _ x: UnsafePointer<Float>, _ c: Int) -> Int {
        let target = V(repeating: value)
        var j = 0
        while j + VectorMath.width <= c, !any(VectorMath.load(x + j) .== target) { j += VectorMath.width }
        while j < c - 1, x[j] != value { j += 1 }
        return j
    }

    /// out[j] = exp(x[j] − shift); returns Σ out[j] (accumulated in Double for long rows).
    @inline(__always)
    public static func expShifted(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ c: Int, shift: Float) -> Double {
        var acc = V(repeating: 0)
        let s = V(repeating: shift)
        var total = 0.0
        var j = 0
        var lanes = 0
        while j + VectorMath.width <= c {
            let e = VectorMath.exp(VectorMath.load(x + j) - s)
            VectorMath.store(e, out + j)
            acc += e
            j += VectorMath.width
            lanes += 1
            if lanes == 64 { total += Double(acc.sum()); acc = V(repeating: 0); lanes = 0 }
        }
        if j < c {
            let m = c - j
            let e = VectorMath.exp(VectorMath.loadPartial(x + j, m, fill: -.infinity) - s)
            VectorMath.storePartial(e, out + j, m)
            acc += e
        }
        return total + Double(acc.sum())
    }

    /// Softmax of one row in place of `out` (may alias `x`).
    @inline(__always)
    public static func row(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ c: Int) {
        let m = rowMax(x, c)
        let total = expShifted(out, x, c, shift: m)
        let inv = V(repeating: Float(1 / total))
        var j = 0
        while j + VectorMath.width <= c { VectorMath.store(VectorMath.load(out + j) * inv, out + j); j += VectorMath.width }
        while j < c { out[j] *= inv[0]; j += 1 }
    }

    /// out (N,C) = softmax(inp (N,C)) along C.
    public static func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows n: Int, columns c: Int) {
        parallelFor(n, grain: max(1, 4096 / max(c, 1))) { range in
            for r in range { row(out + r * c, inp + r * c, c) }
        }
    }

    /// dx[j] += y[j]·(dy[j] − Σ_k dy[k]·y[k]) for one row.
    @inline(__always)
    public static func rowBackward(_ dx: UnsafeMutablePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>, _ c: Int) {
        var dot: Float = 0
        for j in 0..<c { dot += dy[j] * y[j] }
        for j in 0..<c { dx[j] += y[j] * (dy[j] - dot) }
    }

    /// dinp (N,C) += softmax backward, from the forward output `out`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>, dout: UnsafePointer<Float>, rows n: Int, columns c: Int) {
        parallelFor(n, grain: max(1, 4096 / max(c, 1))) { range in
            for r in range { rowBackward(dinp + r * c, y: out + r * c, dy: dout + r * c, c) }
        }
    }
}
