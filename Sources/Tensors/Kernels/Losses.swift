#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loss kernels. Each forward returns the loss *sum* (in Double) and the autodiff layer divides
/// by a normaliser it chooses, so gradient accumulation can normalise by the predicted tokens of
/// the whole accumulated batch rather than per micro-batch.
public enum LossKernels {
    /// Targets equal to this are skipped (PyTorch's `ignore_index`).
    public static let ignoreIndex: Int32 = -100

    // MARK: cross-entropy

    /// Softmax cross-entropy over rows: logits (M,V), targets (M) → Σ_m −log softmax(logits[m])[t_m].
    /// Saves logsumexp (M) for backward. Rows whose target is ``ignoreIndex`` contribute nothing.
    ///
    /// With `gradient` (M,V), also writes ∂/∂logits of the sum times `gradientScale`,
    /// `scale·(softmax − onehot)` (zero rows for ignored targets), while the row is in cache: the
    /// backward pass then needs no second pass of exponentials over the vocabulary.
    public static func crossEntropyForward(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, logSumExp: UnsafeMutablePointer<Float>,
        rows m: Int, classes v: Int, gradient: UnsafeMutablePointer<Float>? = nil, gradientScale: Float = 1
    ) -> Double {
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: max(m, 1))
        defer { losses.deallocate() }
        parallelFor(m, grain: max(1, 8192 / max(v, 1))) { range in
            let scratch = gradient == nil ? UnsafeMutablePointer<Float>.allocate(capacity: v) : nil
            defer { scratch?.deallocate() }
            for r in range {
                let row = logits + r * v
                let t = targets[r]
                let out = gradient.map { $0 + r * v } ?? scratch!
                let mx = SoftmaxKernel.rowMax(row, v)
                let total = SoftmaxKernel.expShifted(out, row, v, shift: mx)
                let lse = Double(mx) + log(total)
                logSumExp[r] = Float(lse)
                losses[r] = t == ignoreIndex ? 0 : lse - Double(row[Int(t)])
                if gradient != nil {
                    if t == ignoreIndex {
                        out.update(repeating: 0, count: v)
                    } else {
                        let k = VectorMath.Vector(repeating: gradientScale / Float(total))
                        var j = 0
                        while j + VectorMath.width <= v { VectorMath.store(VectorMath.load(out + j) * k, out + j); j += VectorMath.width }
                        while j < v { out[j] *= k[0]; j += 1 }
                        out[Int(t)] -= gradientScale
                    }
                }
            }
        }
        var sum = 0.0
        for r in 0..<m { sum += losses[r] }
        return sum
    }

    /// Rows per block of ``biasCrossEntropyInPlace``'s bias-gradient partial sums: a fixed size
    /// (not one block per thread) so the sum's order, and its bits, do not depend on the threads.
    static let biasGradientBlock = 32

    /// The tail of a decoder fused with softmax cross-entropy. `logits` (M,V) holds x·Wᵀ; per row
    /// (while it sits in L2) this adds `bias`, takes the log-sum-exp, the loss and the argmax
    /// (`predictions`, −1 for ignored rows), and with `gradientScale` overwrites the row with
    /// ∂loss/∂logits = scale·(softmax − onehot) and adds Σ_rows of it to `biasGradient` (V).
    /// The (M,V) logits are thus read and written once instead of being copied for the bias,
    /// exponentiated into a second buffer and summed over rows for the bias gradient.
    ///
    /// With `sampling`, each kept row also draws one class from softmax(logits/temperature) with
    /// its uniform u ∈ [0, 1) (`samples`, −1 for ignored rows): the first class whose cumulative
    /// probability exceeds u — an exact categorical draw (ELECTRA's generator samples; the
    /// reference's Gumbel-max draws from the same distribution). At temperature 1 it scans the
    /// exponentials the loss computes anyway, while the row is still in cache.
    public static func biasCrossEntropyInPlace(
        _ logits: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, targets: UnsafePointer<Int32>,
        rows m: Int, classes v: Int, predictions: UnsafeMutablePointer<Int32>,
        gradientScale: Float?, biasGradient: UnsafeMutablePointer<Float>?,
        sampling: (uniforms: UnsafePointer<Float>, temperature: Float, samples: UnsafeMutablePointer<Int32>)? = nil
    ) -> Double {
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: max(m, 1))
        defer { losses.deallocate() }
        let blockRows = biasGradientBlock, blocks = (m + blockRows - 1) / blockRows
        let partials = biasGradient == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: blocks * v)
        defer { partials?.deallocate() }
        typealias V = VectorMath.Vector
        let w = VectorMath.width
        parallelFor(blocks) { range in
            // Tempered draws need the row's scaled exponentials beside the logits: one buffer per task.
            let scratch = (sampling?.temperature ?? 1) != 1 ? UnsafeMutablePointer<Float>.allocate(capacity: v) : nil
            defer { scratch?.deallocate() }
            for block in range {
                let partial = partials.map { $0 + block * v }
                partial?.initialize(repeating: 0, count: v)
                for r in block * blockRows..<min(m, (block + 1) * blockRows) {
                    let row = logits + r * v, t = targets[r]
                    if t == ignoreIndex {
                        losses[r] = 0
                        predictions[r] = -1
                        sampling?.samples[r] = -1
                        if gradientScale != nil { row.update(repeating: 0, count: v) }
                        continue
                    }
                    let mx = bias.map { addingBiasReturningMax(row, $0, v) } ?? SoftmaxKernel.rowMax(row, v)
                    predictions[r] = Int32(SoftmaxKernel.firstIndex(of: mx, row, v))
                    if let sampling, let scratch {
                        sampling.samples[r] = Int32(temperedSample(row, v, shift: mx, temperature: sampling.temperature,
                                                                   uniform: sampling.uniforms[r], scratch: scratch))
                    }
                    let target = row[Int(t)]
                    // The row is ours to overwrite: exponentials in place, then the gradient.
                    let total = SoftmaxKernel.expShifted(row, row, v, shift: mx)
                    if let sampling, sampling.temperature == 1 {
                        sampling.samples[r] = Int32(cumulativeIndex(row, v, exceeding: Double(sampling.uniforms[r]) * total))
                    }
                    losses[r] = Double(mx) + log(total) - Double(target)
                    guard let scale = gradientScale else { continue }
                    let k = V(repeating: scale / Float(total))
                    var j = 0
                    if let partial {
                        while j + w <= v {
                            let g = VectorMath.load(row + j) * k
                            VectorMath.store(g, row + j)
                            VectorMath.store(VectorMath.load(partial + j) + g, partial + j)
                            j += w
                        }
                        while j < v { row[j] *= k[0]; partial[j] += row[j]; j += 1 }
                        row[Int(t)] -= scale
                        partial[Int(t)] -= scale
                    } else {
                        while j + w <= v { VectorMath.store(VectorMath.load(row + j) * k, row + j); j += w }
                        while j < v { row[j] *= k[0]; j += 1 }
                        row[Int(t)] -= scale
                    }
                }
            }
        }
        if let partials, let biasGradient {
            // Blocks in order, columns split over threads.
            parallelFor(v, grain: 1024) { cols in
                for block in 0..<blocks {
                    VectorMath.add(biasGradient + cols.lowerBound, partials + block * v + cols.lowerBound, cols.count)
                }
            }
        }
        var sum = 0.0
        for r in 0..<m { sum += losses[r] }
        return sum
    }

    /// The first j with Σ_{i≤j} weights[i] > goal (weights ≥ 0), eight at a time until the block
    /// that crosses; the last positive weight when rounding leaves the total at or below `goal`.
    @inline(__always)
    static func cumulativeIndex(_ weights: UnsafePointer<Float>, _ c: Int, exceeding goal: Double) -> Int {
        var sum = 0.0
        var j = 0
        while j + VectorMath.width <= c {
            let block = Double(VectorMath.load(weights + j).sum())
            if sum + block > goal { break }
            sum += block
            j += VectorMath.width
        }
        while j < c {
            sum += Double(weights[j])
            if sum > goal { return j }
            j += 1
        }
        var last = c - 1
        while last > 0 && weights[last] <= 0 { last -= 1 }
        return last
    }

    /// A draw from softmax(logits/temperature) with uniform `u`, leaving `logits` as they are
    /// (`scaled`: room for `c` floats).
    static func temperedSample(_ logits: UnsafePointer<Float>, _ c: Int, shift: Float, temperature: Float, uniform u: Float,
                               scratch scaled: UnsafeMutablePointer<Float>) -> Int {
        let k = 1 / temperature
        for j in 0..<c { scaled[j] = (logits[j] - shift) * k }
        let total = SoftmaxKernel.expShifted(scaled, scaled, c, shift: 0)
        return cumulativeIndex(scaled, c, exceeding: Double(u) * total)
    }

    /// row += bias; returns the row's maximum (one pass).
    @inline(__always)
    static func addingBiasReturningMax(_ row: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, _ c: Int) -> Float {
        var m = VectorMath.Vector(repeating: -.infinity)
        var j = 0
        while j + VectorMath.width <= c {
            let x = VectorMath.load(row + j) + VectorMath.load(bias + j)
            VectorMath.store(x, row + j)
            m = m.replacing(with: x, where: x .> m)
            j += VectorMath.width
        }
        var result = VectorMath.horizontalMax(m)
        while j < c { row[j] += bias[j]; result = max(result, row[j]); j += 1 }
        return result
    }

    /// Number of rows whose target is not ``ignoreIndex``.
    public static func countTargets(_ targets: UnsafeBufferPointer<Int32>) -> Int {
        targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    }

    // MARK: binary cross-entropy with logits

    /// Σ_i w_i · BCE(σ(x_i), t_i), computed stably as max(x,0) − x·t + log(1 + e^−|x|).
    /// logits (N), targets (N) in [0,1], weights (N) or nil for all ones.
    public static func bceWithLogitsForward(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, weights: UnsafePointer<Float>?, count n: Int
    ) -> Double {
        var sum = 0.0
        for i in 0..<n {
            let w = Double(weights?[i] ?? 1)
            if w == 0 { continue }
            let x = Double(logits[i]), t = Double(targets[i])
            sum += w * (max(x, 0) - x * t + log1p(exp(-abs(x))))
        }
        return sum
    }

    /// dlogits (N) += scale · w · (σ(x) − t)
    public static func bceWithLogitsBackward(
        dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Float>,
        weights: UnsafePointer<Float>?, count n: Int, scale: Float
    ) {
        for i in 0..<n {
            let w = weights?[i] ?? 1
            let x = logits[i]
            let sigma = x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
            dlogits[i] += scale * w * (sigma - targets[i])
        }
    }

    // MARK: KL divergence with temperature (distillation)

    /// Σ_m KL(softmax(t_m/τ) ‖ softmax(s_m/τ)) over rows; student, teacher (M,V).
    /// Saves the two log-softmax normalisers (M each) for backward.
    ///
    /// Per row, with a = s/τ, b = t/τ, p = softmax(b): KL = Σ p·(b − a) + lse(a) − lse(b) (Σ p = 1),
    /// so one pass of SIMD exponentials per side and one dot product; sums of eight-lane partials
    /// go to Double every 64 vectors. DistilBERT's soft targets cover every token (4096 × 30522
    /// elements a batch): against the per-element scalar `exp` loops this replaced, the tiny
    /// distillation step's forward went from ~1,000 to ~630 ms, the KL backward from ~470 to
    /// ~80 ms, the step from ~2,000 to ~3,300 tokens/s (`bench train --objective distillation
    /// --profile`, 2 threads, two alternated runs each).
    public static func klDivergenceForward(
        student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, temperature tau: Float,
        studentLSE: UnsafeMutablePointer<Float>, teacherLSE: UnsafeMutablePointer<Float>, rows m: Int, classes v: Int
    ) -> Double {
        typealias V = VectorMath.Vector
        let w = VectorMath.width
        let rowKL = UnsafeMutablePointer<Double>.allocate(capacity: max(m, 1))
        defer { rowKL.deallocate() }
        let inverse = 1 / tau
        parallelFor(m, grain: max(1, 4096 / max(v, 1))) { range in
            let a = UnsafeMutablePointer<Float>.allocate(capacity: v), b = UnsafeMutablePointer<Float>.allocate(capacity: v)
            let e = UnsafeMutablePointer<Float>.allocate(capacity: v)
            defer { a.deallocate(); b.deallocate(); e.deallocate() }
            for r in range {
                let s = student + r * v, t = teacher + r * v
                var j = 0
                while j + w <= v {
                    VectorMath.store(VectorMath.load(s + j) * inverse, a + j)
                    VectorMath.store(VectorMath.load(t + j) * inverse, b + j)
                    j += w
                }
                while j < v { a[j] = s[j] * inverse; b[j] = t[j] * inverse; j += 1 }
                let am = SoftmaxKernel.rowMax(a, v), bm = SoftmaxKernel.rowMax(b, v)
                let sl = Double(am) + log(SoftmaxKernel.expShifted(e, a, v, shift: am))
                let bSum = SoftmaxKernel.expShifted(e, b, v, shift: bm)   // e = exp(b − max b)
                let tl = Double(bm) + log(bSum)
                studentLSE[r] = Float(sl)
                teacherLSE[r] = Float(tl)
                var dot = 0.0, acc = V(repeating: 0), lanes = 0
                j = 0
                while j + w <= v {
                    acc = acc.addingProduct(VectorMath.load(e + j), VectorMath.load(b + j) - VectorMath.load(a + j))
                    j += w
                    lanes += 1
                    if lanes == 64 { dot += Double(acc.sum()); acc = V(repeating: 0); lanes = 0 }
                }
                dot += Double(acc.sum())
                while j < v { dot += Double(e[j]) * Double(b[j] - a[j]); j += 1 }
                rowKL[r] = dot / bSum + sl - tl
            }
        }
        var sum = 0.0
        for r in 0..<m { sum += rowKL[r] }
        return sum
    }

    /// dstudent += scale·(p_s − p_t)/τ; dteacher += scale·p_t·(ℓ − KL_row)/τ with ℓ = log p_t − log p_s.
    /// The student-only case (a frozen teacher: every distillation step) is SIMD; the teacher's
    /// gradient, needed only by the gradient checks, stays scalar.
    public static func klDivergenceBackward(
        dstudent: UnsafeMutablePointer<Float>?, dteacher: UnsafeMutablePointer<Float>?,
        student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, temperature tau: Float,
        studentLSE: UnsafePointer<Float>, teacherLSE: UnsafePointer<Float>, rows m: Int, classes v: Int, scale: Float
    ) {
        typealias V = VectorMath.Vector
        let w = VectorMath.width
        let inverse = 1 / tau, factor = scale / tau
        parallelFor(m, grain: max(1, 4096 / max(v, 1))) { range in
            for r in range {
                let s = student + r * v, t = teacher + r * v
                if dteacher == nil, let ds = dstudent.map({ $0 + r * v }) {
                    let sl = V(repeating: studentLSE[r]), tl = V(repeating: teacherLSE[r]), f = V(repeating: factor)
                    var j = 0
                    while j + w <= v {
                        let ps = VectorMath.exp(VectorMath.load(s + j) * inverse - sl), pt = VectorMath.exp(VectorMath.load(t + j) * inverse - tl)
                        VectorMath.store(VectorMath.load(ds + j).addingProduct(f, ps - pt), ds + j)
                        j += w
                    }
                    while j < v {
                        ds[j] += factor * (expf(s[j] * inverse - studentLSE[r]) - expf(t[j] * inverse - teacherLSE[r]))
                        j += 1
                    }
                    continue
                }
                var klRow: Float = 0
                if dteacher != nil {
                    for j in 0..<v {
                        let logPt = t[j] / tau - teacherLSE[r], logPs = s[j] / tau - studentLSE[r]
                        klRow += expf(logPt) * (logPt - logPs)
                    }
                }
                for j in 0..<v {
                    let logPt = t[j] / tau - teacherLSE[r], logPs = s[j] / tau - studentLSE[r]
                    let pt = expf(logPt), ps = expf(logPs)
                    dstudent?[r * v + j] += scale * (ps - pt) / tau
                    dteacher?[r * v + j] += scale * pt * (logPt - logPs - klRow) / tau
                }
            }
        }
    }

    // MARK: cosine similarity

    /// out (N) = a·b / max(‖a‖·‖b‖, eps) for a, b (N,C) (PyTorch's `cosine_similarity`, eps 1e-8).
    public static func cosineSimilarityForward(_ out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                               rows n: Int, columns c: Int, eps: Float) {
        parallelFor(n, grain: max(1, 4096 / max(c, 1))) { range in
            for r in range {
                let (dot, na2, nb2) = dots(a + r * c, b + r * c, c)
                out[r] = Float(dot / max((na2 * nb2).squareRoot(), Double(eps)))
            }
        }
    }

    @inline(__always)
    static func dots(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ c: Int) -> (Double, Double, Double) {
        var d = 0.0, xx = 0.0, yy = 0.0
        for j in 0..<c {
            let xv = Double(x[j]), yv = Double(y[j])
            d += xv * yv; xx += xv * xv; yy += yv * yv
        }
        return (d, xx, yy)
    }

    /// da, db (N,C) += gradients of cosine similarity given dout (N).
    public static func cosineSimilarityBackward(da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
                                                dout: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                                rows n: Int, columns c: Int, eps: Float) {
        parallelFor(n, grain: max(1, 4096 / max(c, 1))) { range in
            for r in range {
                let x = a + r * c, y = b + r * c
                let (dot, na2, nb2) = dots(x, y, c)
                let norm = (na2 * nb2).squareRoot()
                let g = Double(dout[r])
                if norm <= Double(eps) {
                    // Clamped denominator: the eps is a constant, so d/da = b/eps.
                    for j in 0..<c {
                        da?[r * c + j] += Float(g * Double(y[j]) / Double(eps))
                        db?[r * c + j] += Float(g * Double(x[j]) / Double(eps))
                    }
                    continue
                }
                let cos = dot / norm
                for j in 0..<c {
                    da?[r * c + j] += Float(g * (Double(y[j]) / norm - cos * Double(x[j]) / na2))
                    db?[r * c + j] += Float(g * (Double(x[j]) / norm - cos * Double(y[j]) / nb2))
                }
            }
        }
    }

    // MARK: masked mean pooling

    /// out (B,C) = Σ_t mask[b,t]·x[b,t,:] / max(Σ_t mask[b,t], 1e-9) for x (B,T,C), mask (B,T)
    /// (sentence-transformers' mean pooling).
    public static func meanPoolForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                       batch: Int, steps t: Int, columns c: Int) {
        parallelFor(batch) { range in
            for b in range {
                let o = out + b * c
                o.update(repeating: 0, count: c)
                var count: Float = 0
                for s in 0..<t {
                    let m = mask[b * t + s]
                    if m == 0 { continue }
                    count += m
                    let row = x + (b * t + s) * c
                    for j in 0..<c { o[j] += m * row[j] }
                }
                let inv = 1 / max(count, 1e-9)
                for j in 0..<c { o[j] *= inv }
            }
        }
    }

    /// dx (B,T,C) += mask[b,t]·dout[b] / max(Σ mask[b], 1e-9)
    public static func meanPoolBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                        batch: Int, steps t: Int, columns c: Int) {
        parallelFor(batch) { range in
            for b in range {
                var count: Float = 0
                for s in 0..<t { count += mask[b * t + s] }
                let inv = 1 / max(count, 1e-9)
                for s in 0..<t {
                    let m = mask[b * t + s] * inv
                    if m == 0 { continue }
                    let d = dx + (b * t + s) * c, g = dout + b * c
                    for j in 0..<c { d[j] += m * g[j] }
                }
            }
        }
    }
}
