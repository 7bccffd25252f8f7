/// Vectorised transcendental functions for the kernels (Float32, SIMD8 lanes).
///
/// The C library's `expf`/`erff` are scalar calls; these are branch-free polynomial forms that
/// the compiler keeps in vector registers. Their accuracy is tested against Double references.
public enum VectorMath {
    public typealias Vector = SIMD8<Float>
    public static let width = Vector.scalarCount

    /// e^x, relative error ≲ 2 ulp on [-87.3, 88.3]; exactly 0 below −87.34, +∞ above 88.73
    /// (and saturating at e^88.38 in between, which softmax never reaches).
    /// Cephes `expf`: x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial in r, then 2ⁿ by exponent bits.
    /// Written with `replacing(with:where:)` and bit casts only: `clamped`, `rounded` and SIMD
    /// integer conversions compile to per-lane loops and are several times slower.
    @_transparent
    public static func exp(_ x0: Vector) -> Vector {
        let lo = Vector(repeating: -87.33654), hi = Vector(repeating: 88.37626)
        var x = x0.replacing(with: lo, where: x0 .< lo)
        x = x.replacing(with: hi, where: x .> hi)
        // Round x·log2(e) to the nearest integer with the 1.5·2²³ trick; its low mantissa bits are n.
        // Polynomials use fused multiply-adds (`fma`): one instruction per Horner step.
        let magic = Vector(repeating: 12582912)
        let shifted = fma(x, Vector(repeating: 1.44269504088896341), magic)
        let n = shifted - magic
        var r = fma(n, Vector(repeating: -0.693359375), x)
        r = fma(n, Vector(repeating: 2.12194440e-4), r)
        var p = Vector(repeating: 1.9875691500e-4)
        p = fma(p, r, Vector(repeating: 1.3981999507e-3))
        p = fma(p, r, Vector(repeating: 8.3334519073e-3))
        p = fma(p, r, Vector(repeating: 4.1665795894e-2))
        p = fma(p, r, Vector(repeating: 1.6666665459e-1))
        p = fma(p, r, Vector(repeating: 5.0000001201e-1))
        let y = fma(p, r * r, r + 1)
        let scale = (unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &+ 127) &<< 23
        var result = y * unsafeBitCast(scale, to: Vector.self)
        result = result.replacing(with: 0, where: x0 .< lo)
        result = result.replacing(with: .infinity, where: x0 .> Vector(repeating: 88.72283))
        return result
    }

    /// The error function, absolute error ≲ 1e-6 (the rational approximation used by Eigen and
    /// XLA: odd degree-13 numerator over even degree-8 denominator on [-4, 4], ±1 outside).
    @inline(__always)
    public static func erf(_ x: Vector) -> Vector {
        let four = Vector(repeating: 4), minusFour = Vector(repeating: -4)
        var v = x.replacing(with: four, where: x .> four)
        v = v.replacing(with: minusFour, where: v .< minusFour)
        let x2 = v * v
        var p = fma(x2, Vector(repeating: -2.72614225801306e-10), Vector(repeating: 2.77068142495902e-08))
        p = fma(x2, p, Vector(repeating: -2.10102402082508e-06))
        p = fma(x2, p, Vector(repeating: -5.69250639462346e-05))
        p = fma(x2, p, Vector(repeating: -7.34990630326855e-04))
        p = fma(x2, p, Vector(repeating: -2.95459980854025e-03))
        p = fma(x2, p, Vector(repeating: -1.60960333262415e-02))
        p = p * v
        var q = fma(x2, Vector(repeating: -1.45660718464996e-05), Vector(repeating: -2.13374055278905e-04))
        q = fma(x2, q, Vector(repeating: -1.68282697438203e-03))
        q = fma(x2, q, Vector(repeating: -7.37332916720468e-03))
        q = fma(x2, q, Vector(repeating: -1.42647390514189e-02))
        return p / q
    }

    /// tanh(x) = sign(x)·(1 − 2/(e^{2|x|} + 1)), with the odd Taylor series below |x| < 0.0625 where
    /// that form cancels; absolute error ≲ 3e-7.
    @_transparent
    public static func tanh(_ x: Vector) -> Vector {
        let negative = x .< 0
        let a = x.replacing(with: -x, where: negative)
        let e = exp(2 * a)
        var t = 1 - 2 / (e + 1)
        let a2 = a * a
        var poly = a2 * Vector(repeating: -17.0 / 315) + (2.0 / 15)
        poly = a2 * poly + (-1.0 / 3)
        poly = a2 * poly + 1
        let series = a * poly
        t = t.replacing(with: series, where: a .< Vector(repeating: 0.0625))
        return t.replacing(with: -t, where: negative)
    }

    /// a·b + c with one rounding (a fused multiply-add instruction on FMA CPUs).
    @_transparent
    public static func fma(_ a: Vector, _ b: Vector, _ c: Vector) -> Vector { c.addingProduct(a, b) }

    /// The largest lane (the generic `SIMD.max()` is an out-of-line call).
    @inline(__always)
    public static func horizontalMax(_ v: Vector) -> Float {
        let a = v.lowHalf, b = v.highHalf
        let m = a.replacing(with: b, where: b .> a)
        return Swift.max(Swift.max(m[0], m[1]), Swift.max(m[2], m[3]))
    }

    /// Σ a[i]·b[i] over `count` elements.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = Vector(repeating: 0)
        var i = 0
        while i + width <= count { acc += load(a + i) * load(b + i); i += width }
        var s = acc.sum()
        while i < count { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// x[i] += y[i] over `count` elements.
    @inline(__always)
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) {
        var i = 0
        while i + width <= count { store(load(x + i) + load(y + i), x + i); i += width }
        while i < count { x[i] += y[i]; i += 1 }
    }

    /// x[i] *= y[i] over `count` elements.
    @inline(__always)
    public static func multiply(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) {
        var i = 0
        while i + width <= count { store(load(x + i) * load(y + i), x + i); i += width }
        while i < count { x[i] *= y[i]; i += 1 }
    }

    /// Loads `count < width` trailing elements, padding with `fill`.
    @inline(__always)
    public static func loadPartial(_ p: UnsafePointer<Float>, _ count: Int, fill: Float = 0) -> Vector {
        var v = Vector(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    /// Stores the first `count < width` lanes.
    @inline(__always)
    public static func storePartial(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { p[i] = v[i] }
    }

    /// Loads a full vector (unaligned).
    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    /// Stores a full vector (unaligned).
    @inline(__always)
    public static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// Applies `f` lane-wise over `count` elements: `out[i] = f(inp[i])`.
    @inline(__always)
    public static func map(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int,
                           _ f: (Vector) -> Vector) {
        var i = 0
        while i + width <= count {
            store(f(load(inp + i)), out + i)
            i += width
        }
        if i < count { storePartial(f(loadPartial(inp + i, count - i)), out + i, count - i) }
    }
}
