/// Layer normalisation over the last axis (BERT: eps 1e-12).
///
/// - inp (N,C), weight γ (C), bias β (C) → out (N,C); saves mean (N) and rstd (N) for backward.
public enum LayerNormKernel {
    public static func forward(
        _ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        _ inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows n: Int, columns c: Int, eps: Float
    ) {
        parallelFor(n, grain: max(1, 8192 / max(c, 1))) { range in
            for r in range {
                let x = inp + r * c, o = out + r * c
                // Two passes (mean, then centred variance) for accuracy, as PyTorch does.
                var sum = VectorMath.Vector(repeating: 0)
                var j = 0
                while j + VectorMath.width <= c { sum += VectorMath.load(x + j); j += VectorMath.width }
                var s = sum.sum()
                while j < c { s += x[j]; j += 1 }
                let m = s / Float(c)
                var sq = VectorMath.Vector(repeating: 0)
                let mv = VectorMath.Vector(repeating: m)
                j = 0
                while j + VectorMath.width <= c { let d = VectorMath.load(x + j) - mv; sq += d * d; j += VectorMath.width }
                var v = sq.sum()
                while j < c { let d = x[j] - m; v += d * d; j += 1 }
                let rs = 1 / (v / Float(c) + eps).squareRoot()
                let rv = VectorMath.Vector(repeating: rs)
                j = 0
                while j + VectorMath.width <= c {
                    let normed = (VectorMath.load(x + j) - mv) * rv
                    VectorMath.store(normed * VectorMath.load(weight + j) + VectorMath.load(bias + j), o + j)
                    j += VectorMath.width
                }
                while j < c { o[j] = (x[j] - m) * rs * weight[j] + bias[j]; j += 1 }
                mean[r] = m
                rstd[r] = rs
            }
        }
    }

    /// dinp (N,C) += ∂L/∂inp; dweight (C) += Σ dout·x̂; dbias (C) += Σ dout.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows n: Int, columns c: Int
    ) {
        let scratch = Tensor(zeros: [2 * c])
        Reduce.accumulateRows(n, width: 2 * c, into: scratch.data) { range, acc in
            let dw = acc, db = acc + c
            for r in range {
                let x = inp + r * c, g = dout + r * c
                let m = mean[r], rs = rstd[r]
                var meanDnorm: Float = 0, meanDnormXhat: Float = 0
                for j in 0..<c {
                    let xhat = (x[j] - m) * rs
                    let dnorm = g[j] * weight[j]
                    meanDnorm += dnorm
                    meanDnormXhat += dnorm * xhat
                    dw[j] += g[j] * xhat
                    db[j] += g[j]
                }
                meanDnorm /= Float(c)
                meanDnormXhat /= Float(c)
                if let dinp {
                    let dx = dinp + r * c
                    for j in 0..<c {
                        let xhat = (x[j] - m) * rs
                        dx[j] += (g[j] * weight[j] - meanDnorm - xhat * meanDnormXhat) * rs
                    }
                }
            }
        }
        if let dweight { Elementwise.addInPlace(dweight, scratch.data, count: c) }
        if let dbias { Elementwise.addInPlace(dbias, scratch.data + c, count: c) }
    }
}
