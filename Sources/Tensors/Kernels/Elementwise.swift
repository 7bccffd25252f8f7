#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise kernels: add, scale, bias add, GELU, tanh, dropout. Vectorised with SIMD8 and
/// split over threads in fixed-size chunks. Every backward *accumulates* (`+=`) into its input
/// gradient, as in llm.c.
public enum Elementwise {
    typealias V = VectorMath.Vector
    static let grain = 1 << 14

    /// Runs `body` over [0, count) in parallel chunks that are multiples of the SIMD width.
    @inline(__always)
    static func chunked(_ count: Int, _ body: (Int, Int) -> Void) {
        let blocks = (count + grain - 1) / grain
        parallelFor(blocks) { range in
            for blk in range { body(blk * grain, min(count, (blk + 1) * grain)) }
        }
    }

    /// dst (N) += src (N)
    @inline(__always)
    public static func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + VectorMath.width <= count {
            VectorMath.store(VectorMath.load(dst + i) + VectorMath.load(src + i), dst + i)
            i += VectorMath.width
        }
        while i < count { dst[i] += src[i]; i += 1 }
    }

    /// dst (N) += alpha · src (N), in parallel.
    public static func accumulate(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int, alpha: Float = 1) {
        chunked(count) { lo, hi in
            var i = lo
            let a = V(repeating: alpha)
            while i + VectorMath.width <= hi {
                VectorMath.store(VectorMath.load(dst + i) + a * VectorMath.load(src + i), dst + i)
                i += VectorMath.width
            }
            while i < hi { dst[i] += alpha * src[i]; i += 1 }
        }
    }

    // MARK: add

    /// out (N) = a (N) + b (N)
    public static func addForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in
            var i = lo
            while i + VectorMath.width <= hi {
                VectorMath.store(VectorMath.load(a + i) + VectorMath.load(b + i), out + i)
                i += VectorMath.width
            }
            while i < hi { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    // MARK: multiply

    /// out (N) = a (N) ⊙ b (N)
    public static func mulForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in
            for i in lo..<hi { out[i] = a[i] * b[i] }
        }
    }

    /// da += dout ⊙ b; db += dout ⊙ a
    public static func mulBackward(da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                   a: UnsafePointer<Float>, b: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in
            if let da { for i in lo..<hi { da[i] += dout[i] * b[i] } }
            if let db { for i in lo..<hi { db[i] += dout[i] * a[i] } }
        }
    }

    // MARK: scale

    /// out (N) = alpha · inp (N)
    public static func scaleForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, alpha: Float, count: Int) {
        chunked(count) { lo, hi in
            VectorMath.map(out + lo, inp + lo, count: hi - lo) { $0 * alpha }
        }
    }

    // MARK: bias

    /// out (N,C) = inp (N,C) + bias (C)
    public static func biasAddForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                      rows n: Int, columns c: Int) {
        parallelFor(n, grain: max(1, grain / max(c, 1))) { range in
            for r in range {
                let o = out + r * c, x = inp + r * c
                var j = 0
                while j + VectorMath.width <= c {
                    VectorMath.store(VectorMath.load(x + j) + VectorMath.load(bias + j), o + j)
                    j += VectorMath.width
                }
                while j < c { o[j] = x[j] + bias[j]; j += 1 }
            }
        }
    }

    /// dinp (N,C) += dout; dbias (C) += Σ_rows dout
    public static func biasAddBackward(dinp: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                       rows n: Int, columns c: Int) {
        if let dinp { accumulate(dinp, dout, count: n * c) }
        if let dbias { Reduce.sumRows(dout, rows: n, columns: c, into: dbias) }
    }

    // MARK: GELU

    static let invSqrt2: Float = 0.70710678118654752
    static let invSqrt2Pi: Float = 0.39894228040143268

    /// out (N) = GELU(inp) = ½·x·(1 + erf(x/√2)), the exact (erf) form BERT uses.
    public static func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in
            VectorMath.map(out + lo, inp + lo, count: hi - lo) { x in
                0.5 * x * (1 + VectorMath.erf(x * invSqrt2))
            }
        }
    }

    /// dinp (N) += dout · GELU'(inp), GELU'(x) = Φ(x) + x·φ(x).
    public static func geluBackward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
                                          accumulate: Bool = true) {
        chunked(count) { lo, hi in
            let n = hi - lo
            let x0 = inp + lo, g0 = dout + lo, d0 = dinp + lo
            var i = 0
            @inline(__always) func grad(_ x: V, _ g: V) -> V {
                let cdf = 0.5 * (1 + VectorMath.erf(x * invSqrt2))
                let pdf = invSqrt2Pi * VectorMath.exp(-0.5 * x * x)
                return g * (cdf + x * pdf)
            }
            while i + VectorMath.width <= n {
                let r = grad(VectorMath.load(x0 + i), VectorMath.load(g0 + i))
                VectorMath.store(accumulate ? VectorMath.load(d0 + i) + r : r, d0 + i)
                i += VectorMath.width
            }
            if i < n {
                let m = n - i
                let r = grad(VectorMath.loadPartial(x0 + i, m), VectorMath.loadPartial(g0 + i, m))
                VectorMath.storePartial(accumulate ? VectorMath.loadPartial(d0 + i, m) + r : r, d0 + i, m)
            }
        }
    }

    // MARK: GELU, tanh approximation

    static let sqrt2OverPi: Float = 0.79788456080286536

    /// out (N) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): Hugging Face's `gelu_new` (ALBERT, GPT-2).
    public static func geluTanhForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in
            VectorMath.map(out + lo, inp + lo, count: hi - lo) { x in
                0.5 * x * (1 + VectorMath.tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)))
            }
        }
    }

    /// dinp (N) += dout · d/dx gelu_new(x).
    public static func geluTanhBackward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
                                              accumulate: Bool = true) {
        chunked(count) { lo, hi in
            let n = hi - lo
            let x0 = inp + lo, g0 = dout + lo, d0 = dinp + lo
            @inline(__always) func grad(_ x: V, _ g: V) -> V {
                let t = VectorMath.tanh(sqrt2OverPi * (x + 0.044715 * x * x * x))
                let dInner = sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
                return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner)
            }
            var i = 0
            while i + VectorMath.width <= n {
                let r = grad(VectorMath.load(x0 + i), VectorMath.load(g0 + i))
                VectorMath.store(accumulate ? VectorMath.load(d0 + i) + r : r, d0 + i)
                i += VectorMath.width
            }
            if i < n {
                let m = n - i
                let r = grad(VectorMath.loadPartial(x0 + i, m), VectorMath.loadPartial(g0 + i, m))
                VectorMath.storePartial(accumulate ? VectorMath.loadPartial(d0 + i, m) + r : r, d0 + i, m)
            }
        }
    }

    // MARK: tanh

    /// out (N) = tanh(inp)
    public static func tanhForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in for i in lo..<hi { out[i] = tanhf(inp[i]) } }
    }

    /// dinp (N) += dout · (1 − out²), from the forward output.
    public static func tanhBackward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in for i in lo..<hi { dinp[i] += dout[i] * (1 - out[i] * out[i]) } }
    }

    // MARK: dropout

    /// Elements per independent RNG stream. Fixed, so masks never depend on the thread count.
    public static let dropoutBlock = 1 << 12

    /// out (N) = inp · m / (1−p), m ~ Bernoulli(1−p), drawn from streams keyed by (`key`, block).
    /// The mask is not stored: backward regenerates it from the same key.
    public static func dropoutForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                                      probability p: Float, key: UInt64) {
        dropoutApply(out, inp, count: count, probability: p, key: key, accumulate: false)
    }

    /// dinp (N) += dout · m / (1−p), with the forward pass's mask regenerated from `key`.
    public static func dropoutBackward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int,
                                       probability p: Float, key: UInt64, accumulate: Bool = true) {
        dropoutApply(dinp, dout, count: count, probability: p, key: key, accumulate: accumulate)
    }

    /// Fills `scales` (N) with the dropout multipliers of stream (`key`, `stream`): 0 with
    /// probability p, else 1/(1−p). One 64-bit draw decides four elements by 16-bit thresholds,
    /// so p is realised to within 2⁻¹⁷ (0.1 → 0.100006) at half the cost of 32-bit ones.
    @inline(__always)
    public static func dropoutScales(_ scales: UnsafeMutablePointer<Float>, count: Int, probability p: Float, key: UInt64, stream: UInt64) {
        let scale = 1 / (1 - p)
        let threshold = UInt64(min((Double(p) * 65536).rounded(), 65535))
        var rng = RandomGenerator(seed: key, stream: [stream])
        var i = 0
        while i + 4 <= count {
            let bits = rng.next()
            scales[i] = bits & 0xffff < threshold ? 0 : scale
            scales[i + 1] = (bits >> 16) & 0xffff < threshold ? 0 : scale
            scales[i + 2] = (bits >> 32) & 0xffff < threshold ? 0 : scale
            scales[i + 3] = bits >> 48 < threshold ? 0 : scale
            i += 4
        }
        if i < count {
            let bits = rng.next()
            for k in 0..<(count - i) { scales[i + k] = (bits >> (16 * UInt64(k))) & 0xffff < threshold ? 0 : scale }
        }
    }

    static func dropoutApply(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                             probability p: Float, key: UInt64, accumulate: Bool) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        let blocks = (count + dropoutBlock - 1) / dropoutBlock
        parallelFor(blocks, grain: 4) { range in
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: dropoutBlock)
            defer { scales.deallocate() }
            for blk in range {
                let lo = blk * dropoutBlock, n = min(count, lo + dropoutBlock) - lo
                dropoutScales(scales, count: n, probability: p, key: key, stream: UInt64(blk))
                var i = 0
                while i + VectorMath.width <= n {
                    let v = VectorMath.load(inp + lo + i) * VectorMath.load(scales + i)
                    VectorMath.store(accumulate ? VectorMath.load(out + lo + i) + v : v, out + lo + i)
                    i += VectorMath.width
                }
                while i < n {
                    let v = inp[lo + i] * scales[i]
                    out[lo + i] = accumulate ? out[lo + i] + v : v
                    i += 1
                }
            }
        }
    }
}
