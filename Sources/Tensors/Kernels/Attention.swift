import BLAS

/// Fused multi-head scaled-dot-product attention, one tape node in the autodiff layer.
///
/// - q (B,T,C), k (B,S,C), v (B,S,C), C = heads·D; head h owns columns [h·D, (h+1)·D)
///   (the layout of Hugging Face's `view(B, T, heads, D)`). Rows of q (and dq) are `inputStride`
///   apart and rows of k and v (and dk, dv) `keyStride` apart, so they may be column blocks of one
///   packed projection: (B,T,3C) with q = base, k = base + C, v = base + 2C and both strides 3C;
///   or q (B,T,C) on its own with k, v packed in (B,S,2C), keyStride 2C. Sequence b's keys start
///   `keyBatchStride` floats after sequence b−1's (S·keyStride unless given: a key/value cache of
///   capacity N > S has N·C).
/// - keyMask (B,S): 1 = attend, 0 = padding (optional).
/// - causal: query i sees keys j ≤ i (requires T == S).
/// - additiveMask (T,S) or (B,T,S): added to the scores (permutation LM); −∞ hides a key.
/// - out (B,T,C); probabilities (B,heads,T,S) are saved for backward.
///
/// A query row that can see no key gets all-zero probabilities (and output), never NaN.
/// Attention dropout masks are drawn from streams keyed by (key, b·heads + h) and regenerated
/// in backward instead of being stored.
public struct AttentionShape: Sendable, Equatable {
    public var batch: Int, queries: Int, keys: Int, heads: Int, headDim: Int
    /// Distance between consecutive rows of q (C when unpacked, 3C when packed with k and v).
    public var inputStride: Int
    /// Distance between consecutive rows of k and v (`inputStride` unless given).
    public var keyStride: Int
    /// Distance between the first keys of consecutive sequences (`keys · keyStride` unless given).
    public var keyBatchStride: Int
    public var channels: Int { heads * headDim }
    public init(batch: Int, queries: Int, keys: Int, heads: Int, headDim: Int, inputStride: Int? = nil, keyStride: Int? = nil,
                keyBatchStride: Int? = nil) {
        (self.batch, self.queries, self.keys, self.heads, self.headDim) = (batch, queries, keys, heads, headDim)
        self.inputStride = inputStride ?? heads * headDim
        self.keyStride = keyStride ?? self.inputStride
        self.keyBatchStride = keyBatchStride ?? keys * self.keyStride
    }
}

/// Masks applied to attention scores.
public struct AttentionMasks {
    public var keyMask: UnsafePointer<Float>?
    public var causal: Bool
    public var additive: UnsafePointer<Float>?
    /// True when `additive` is (B,T,S); false when (T,S) shared by the batch.
    public var additivePerBatch: Bool
    public init(keyMask: UnsafePointer<Float>? = nil, causal: Bool = false,
                additive: UnsafePointer<Float>? = nil, additivePerBatch: Bool = false) {
        self.keyMask = keyMask
        self.causal = causal
        self.additive = additive
        self.additivePerBatch = additivePerBatch
    }
}

public enum AttentionKernel {
    public static func forward(
        _ out: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        shape s: AttentionShape, masks: AttentionMasks, dropout p: Float, key: UInt64
    ) {
        let (T, S, D, C, H, L, LK) = (s.queries, s.keys, s.headDim, s.channels, s.heads, s.inputStride, s.keyStride)
        precondition(!masks.causal || T == S, "causal attention needs as many queries as keys")
        let scale = 1 / Float(D).squareRoot()
        Threading.withSingleThreadedBLAS {
            parallelFor(s.batch * H) { range in
                let dropped = p > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: T * S) : nil
                let keyBias = UnsafeMutablePointer<Float>.allocate(capacity: S)
                defer { dropped?.deallocate(); keyBias.deallocate() }
                var biasBatch = -1
                for bh in range {
                    let b = bh / H, h = bh % H
                    let P = probabilities + bh * T * S
                    let qb = q + b * T * L + h * D, kb = k + b * s.keyBatchStride + h * D, vb = v + b * s.keyBatchStride + h * D
                    // scores (T,S) = scale · Q_bh · K_bhᵀ
                    BLAS.gemm(transposeA: false, transposeB: true, m: T, n: S, k: D, alpha: scale,
                              a: qb, lda: L, b: kb, ldb: LK, beta: 0, c: P, ldc: S)
                    if let km = masks.keyMask, biasBatch != b {
                        for j in 0..<S { keyBias[j] = km[b * S + j] == 0 ? -.infinity : 0 }
                        biasBatch = b
                    }
                    for i in 0..<T {
                        maskedSoftmaxRow(P + i * S, row: i, batch: b, shape: s, masks: masks,
                                         keyBias: masks.keyMask == nil ? nil : UnsafePointer(keyBias))
                    }
                    var pv = UnsafePointer(P)
                    if let dropped {
                        Elementwise.dropoutScales(dropped, count: T * S, probability: p, key: key, stream: UInt64(bh))
                        VectorMath.multiply(dropped, P, T * S)
                        pv = UnsafePointer(dropped)
                    }
                    // out_bh (T,D) = P' · V_bh
                    BLAS.gemm(transposeA: false, transposeB: false, m: T, n: D, k: S, alpha: 1,
                              a: pv, lda: S, b: vb, ldb: LK, beta: 0, c: out + b * T * C + h * D, ldc: C)
                }
            }
        }
    }

    /// Applies the masks to one row of scores and replaces it by its softmax.
    @inline(__always)
    static func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, row i: Int, batch b: Int,
                                 shape s: AttentionShape, masks: AttentionMasks, keyBias: UnsafePointer<Float>?) {
        let S = s.keys
        if let add = masks.additive {
            VectorMath.add(row, add + (masks.additivePerBatch ? b * s.queries * S : 0) + i * S, S)
        }
        let visible = masks.causal ? i + 1 : S
        if visible < S { (row + visible).update(repeating: -.infinity, count: S - visible) }
        if let keyBias { VectorMath.add(row, keyBias, visible) }
        let mx = SoftmaxKernel.rowMax(row, S)
        if mx == -.infinity {
            row.update(repeating: 0, count: S)
            return
        }
        SoftmaxKernel.row(row, row, S)
    }

    /// dq, dk, dv (shapes of q, k, v) += gradients of the forward pass, given dout (B,T,C).
    public static func backward(
        dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        shape s: AttentionShape, dropout p: Float, key: UInt64
    ) {
        let (T, S, D, C, H, L, LK) = (s.queries, s.keys, s.headDim, s.channels, s.heads, s.inputStride, s.keyStride)
        let scale = 1 / Float(D).squareRoot()
        Threading.withSingleThreadedBLAS {
            parallelFor(s.batch * H) { range in
                let dP = UnsafeMutablePointer<Float>.allocate(capacity: T * S)
                let dropped = p > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: T * S) : nil
                defer { dP.deallocate(); dropped?.deallocate() }
                for bh in range {
                    let b = bh / H, h = bh % H
                    let P = probabilities + bh * T * S
                    let qb = q + b * T * L + h * D, kb = k + b * s.keyBatchStride + h * D, vb = v + b * s.keyBatchStride + h * D
                    let gb = dout + b * T * C + h * D
                    var pv = P
                    if let dropped {
                        // Regenerate the forward mask; `dropped` holds the mask scale (0 or 1/(1−p)).
                        Elementwise.dropoutScales(dropped, count: T * S, probability: p, key: key, stream: UInt64(bh))
                        dP.update(from: P, count: T * S)
                        VectorMath.multiply(dP, dropped, T * S)
                        pv = UnsafePointer(dP)
                    }
                    // dV_bh (S,D) += P'ᵀ · dout_bh
                    if let dv {
                        BLAS.gemm(transposeA: true, transposeB: false, m: S, n: D, k: T, alpha: 1,
                                  a: pv, lda: S, b: gb, ldb: C, beta: 1, c: dv + b * s.keyBatchStride + h * D, ldc: LK)
                    }
                    if dq == nil && dk == nil { continue }
                    // dP' (T,S) = dout_bh · V_bhᵀ, then through dropout and softmax.
                    BLAS.gemm(transposeA: false, transposeB: true, m: T, n: S, k: D, alpha: 1,
                              a: gb, lda: C, b: vb, ldb: LK, beta: 0, c: dP, ldc: S)
                    if let dropped { VectorMath.multiply(dP, dropped, T * S) }
                    for i in 0..<T {
                        // dScores = P ⊙ (dP − Σ dP⊙P), row by row
                        let y = P + i * S, g = dP + i * S
                        let dot = VectorMath.Vector(repeating: VectorMath.dot(g, y, S))
                        var j = 0
                        while j + VectorMath.width <= S {
                            VectorMath.store(VectorMath.load(y + j) * (VectorMath.load(g + j) - dot), g + j)
                            j += VectorMath.width
                        }
                        while j < S { g[j] = y[j] * (g[j] - dot[0]); j += 1 }
                    }
                    // dQ_bh += scale · dScores · K_bh ; dK_bh += scale · dScoresᵀ · Q_bh
                    if let dq {
                        BLAS.gemm(transposeA: false, transposeB: false, m: T, n: D, k: S, alpha: scale,
                                  a: dP, lda: S, b: kb, ldb: LK, beta: 1, c: dq + b * T * L + h * D, ldc: L)
                    }
                    if let dk {
                        BLAS.gemm(transposeA: true, transposeB: false, m: S, n: D, k: T, alpha: scale,
                                  a: dP, lda: S, b: qb, ldb: L, beta: 1, c: dk + b * s.keyBatchStride + h * D, ldc: LK)
                    }
                }
            }
        }
    }
}
