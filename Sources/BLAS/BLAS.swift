#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// A thin, typed door to the platform's BLAS: OpenBLAS on Linux, Accelerate on macOS.
///
/// Everything above this layer multiplies matrices through ``BLAS/gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// and nothing else touches the C API, so a GPU backend can later replace this one file.
public enum BLAS {
    /// Errors raised when a size cannot be handed to BLAS.
    public enum Failure: Error, CustomStringConvertible {
        case sizeTooLarge(String, Int)
        public var description: String {
            switch self {
            case .sizeTooLarge(let name, let value):
                return "BLAS: \(name) = \(value) does not fit in a 32-bit BLAS integer; split the product into smaller blocks."
            }
        }
    }

    /// The number of threads BLAS itself may use. We set it explicitly (see ``setThreadCount(_:)``)
    /// so that it never fights our own parallel kernels; the two never run at the same time.
    public static var threadCount: Int {
        #if canImport(Accelerate)
        return 0  // Accelerate manages its own threads; it cannot be pinned.
        #else
        return Int(openblas_get_num_threads())
        #endif
    }

    /// Pins the BLAS thread count. Call once at start-up (``Threading/configure(threads:)`` does).
    public static func setThreadCount(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(clamping: max(1, count)))
        #endif
    }

    @inline(__always)
    static func narrow(_ value: Int, _ name: String) -> Int32 {
        guard value >= 0, value <= Int(Int32.max) else {
            preconditionFailure(Failure.sizeTooLarge(name, value).description)
        }
        return Int32(value)
    }

    /// Row-major single-precision GEMM: `C (m,n) = alpha · op(A) (m,k) · op(B) (k,n) + beta · C`.
    ///
    /// `lda`, `ldb`, `ldc` are the row strides of the matrices *as stored* (before `op`), which
    /// lets callers multiply strided sub-matrices (one attention head inside a `(T, C)` block)
    /// without copying.
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C untouched only when beta == 1; make k == 0 mean "scale C by beta".
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        let m32 = narrow(m, "m"), n32 = narrow(n, "n"), k32 = narrow(k, "k")
        let lda32 = narrow(lda, "lda"), ldb32 = narrow(ldb, "ldb"), ldc32 = narrow(ldc, "ldc")
        if m == 1 {
            // One row (a decoding step's projections and LM head): a matrix-vector product.
            // OpenBLAS 0.3.21's GEMM packs all of B first, a second pass over the weights that
            // the memory-bound step pays in full; GEMV reads B once.
            // c (n) = alpha · op(B)ᵀ-side product with a's k values (stride lda when A is transposed).
            let incA = transposeA ? lda32 : 1
            if transposeB {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, n32, k32, alpha, b, ldb32, a, incA, beta, c, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasTrans, k32, n32, alpha, b, ldb32, a, incA, beta, c, 1)
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            m32, n32, k32, alpha, a, lda32, b, ldb32, beta, c, ldc32)
    }
}
