import BLAS

/// Matrix products through BLAS, forward and backward, in all four transpose cases.
///
/// `C = op(A) · op(B)` with `op(X) = X` or `Xᵀ`. Matrices are row-major as stored:
/// - a: (M,K), or (K,M) when `transposeA`
/// - b: (K,N), or (N,K) when `transposeB`
/// - c: (M,N)
public enum MatmulKernel {
    /// c (M,N) = op(a) · op(b), or c += op(a) · op(b) when `accumulate`.
    @inlinable
    public static func forward(
        _ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        accumulate: Bool = false, alpha: Float = 1
    ) {
        product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: transposeA ? m : k, b: b, ldb: transposeB ? k : n,
                beta: accumulate ? 1 : 0, c: c, ldc: n)
    }

    /// Accumulates the gradients of `c = op(a) · op(b)`:
    /// da (shape of a) += ∂L/∂a and db (shape of b) += ∂L/∂b, given dc (M,N).
    @inlinable
    public static func backward(
        da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
        dc: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1
    ) {
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        if let da {
            if transposeA {
                // da (K,M) += op(b) · dcᵀ
                product(transposeA: transposeB, transposeB: true, m: k, n: m, k: n, alpha: alpha,
                           a: b, lda: ldb, b: dc, ldb: n, beta: 1, c: da, ldc: m)
            } else {
                // da (M,K) += dc · op(b)ᵀ
                product(transposeA: false, transposeB: !transposeB, m: m, n: k, k: n, alpha: alpha,
                           a: dc, lda: n, b: b, ldb: ldb, beta: 1, c: da, ldc: k)
            }
        }
        if let db {
            if transposeB {
                // db (N,K) += dcᵀ · op(a)
                product(transposeA: true, transposeB: transposeA, m: n, n: k, k: m, alpha: alpha,
                           a: dc, lda: n, b: a, ldb: lda, beta: 1, c: db, ldc: k)
            } else {
                // db (K,N) += op(a)ᵀ · dc
                product(transposeA: !transposeA, transposeB: false, m: k, n: n, k: m, alpha: alpha,
                           a: a, lda: lda, b: dc, ldb: n, beta: 1, c: db, ldc: n)
            }
        }
    }

    /// ``product``'s K split: blocks of at least this depth, at most this many, for outputs up to this size.
    static let splitDepth = 1024, maximumDepthBlocks = 8, splitOutputLimit = 128 * 1024

    /// c (M,N) = alpha · op(a) · op(b) + beta · c: BLAS, or ``splitDepthProduct`` for a small
    /// output with a long reduction.
    @usableFromInline
    static func product(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let blocks = m * n <= splitOutputLimit ? min(k / splitDepth, maximumDepthBlocks) : 1
        if blocks > 1 {
            splitDepthProduct(blocks: blocks, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// A product with a small output and a long K as `blocks` fixed slices of K run in parallel.
    /// OpenBLAS divides only M and N among its threads, which leaves the second core mostly idle on
    /// a weight gradient such as (128,4096)·(4096,128) (1.2× from two cores) or the decoder's
    /// (614,30522)·(30522,128); here each block is a one-threaded product and the partial products
    /// are added in block order, so the bits do not depend on the thread count.
    static func splitDepthProduct(
        blocks: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // Block 0 accumulates into c (scaled by beta); the others write partial products, added below.
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: (blocks - 1) * m * n)
        defer { partials.deallocate() }
        Threading.withSingleThreadedBLAS {
            parallelFor(blocks) { range in
                for block in range {
                    let k0 = block * k / blocks, depth = (block + 1) * k / blocks - k0
                    BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: depth, alpha: alpha,
                              a: a + (transposeA ? k0 * lda : k0), lda: lda, b: b + (transposeB ? k0 : k0 * ldb), ldb: ldb,
                              beta: block == 0 ? beta : 0, c: block == 0 ? c : partials + (block - 1) * m * n, ldc: block == 0 ? ldc : n)
                }
            }
        }
        parallelFor(m, grain: 16) { rows in
            for r in rows {
                for block in 1..<blocks { VectorMath.add(c + r * ldc, partials + (block - 1) * m * n + r * n, n) }
            }
        }
    }
}

/// A fully connected layer with PyTorch's weight layout (as in Hugging Face checkpoints).
///
/// - inp (N,Cin), weight (Cout,Cin), bias (Cout) → out (N,Cout) = inp · weightᵀ + bias
public enum LinearKernel {
    public static func forward(
        _ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows n: Int, inFeatures cin: Int, outFeatures cout: Int
    ) {
        if let bias {
            parallelFor(n, grain: 64) { range in
                for r in range { (out + r * cout).update(from: bias, count: cout) }
            }
        }
        MatmulKernel.forward(out, inp, weight, m: n, n: cout, k: cin, transposeB: true, accumulate: bias != nil)
    }

    /// dinp (N,Cin) += dout · weight; dweight (Cout,Cin) += doutᵀ · inp; dbias (Cout) += Σ_rows dout.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows n: Int, inFeatures cin: Int, outFeatures cout: Int
    ) {
        MatmulKernel.backward(da: dinp, db: dweight, dc: dout, a: inp, b: weight,
                              m: n, n: cout, k: cin, transposeB: true)
        if let dbias { Reduce.sumRows(dout, rows: n, columns: cout, into: dbias) }
    }
}
