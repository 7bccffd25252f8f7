import XCTest
import Foundation
@testable import Tensors
import BLAS

final class KernelTests: XCTestCase {
    func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        let t = Tensor(uninitialized: shape)
        g.fillNormal(t)
        return t
    }

    func testStridedGemmOnSubmatrices() {
        // C (2,3) = A[:, 1:3] (2,2) · B (2,3), with A stored as (2,4): lda = 4.
        let a: [Float] = [9, 1, 2, 9,
                          9, 3, 4, 9]
        let b: [Float] = [1, 0, 2,
                          0, 1, 3]
        var c = [Float](repeating: -1, count: 6)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 3, k: 2, alpha: 1, a: ap.baseAddress! + 1, lda: 4,
                      b: bp.baseAddress!, ldb: 3, beta: 0, c: cp.baseAddress!, ldc: 3)
        } } }
        XCTAssertEqual(c, [1, 2, 8, 3, 4, 18])
    }

    /// One-row products go to GEMV: the same product (vs Float64) in all four transpose cases,
    /// strided A and B, alpha and beta applied.
    func testOneRowProductsEqualTheProductInEveryLayout() {
        let (n, k) = (37, 53)
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let (lda, ldb) = (ta ? 3 : k + 2, tb ? k + 1 : n + 4)
            let a = randomTensor([ta ? k * lda : lda], seed: 3), b = randomTensor([tb ? n * ldb : k * ldb], seed: 4)
            let c = randomTensor([n], seed: 5), before = c.scalars
            BLAS.gemm(transposeA: ta, transposeB: tb, m: 1, n: n, k: k, alpha: 0.5, a: a.data, lda: lda, b: b.data, ldb: ldb,
                      beta: 2, c: c.data, ldc: n)
            for j in 0..<n {
                var sum = 0.0
                for i in 0..<k {
                    let x = Double(a.data[ta ? i * lda : i]), y = Double(b.data[tb ? j * ldb + i : i * ldb + j])
                    sum += x * y
                }
                XCTAssertEqual(Double(c.data[j]), 0.5 * sum + 2 * Double(before[j]), accuracy: 1e-4, "ta \(ta) tb \(tb) column \(j)")
            }
        }
    }

    func testGemmWithEmptyInnerDimensionScalesOutput() {
        var c: [Float] = [1, 2, 3, 4]
        let dummy: [Float] = [0]
        dummy.withUnsafeBufferPointer { d in c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, alpha: 1, a: d.baseAddress!, lda: 1,
                      b: d.baseAddress!, ldb: 2, beta: 0, c: cp.baseAddress!, ldc: 2)
        } }
        XCTAssertEqual(c, [0, 0, 0, 0])
    }

    /// Products whose output is small and whose reduction is long (a narrow layer's weight
    /// gradient) are split into blocks of K: still the exact product (vs Float64), accumulated into
    /// what the buffers held, and the same bits for 1, 2 and 3 threads — in all four transpose cases.
    func testLongReductionSplitIsExactAndIndependentOfThreadCount() {
        let (m, n, k) = (2051, 2049, 5)  // da reduces over n, db over m: both > 2·1024, outputs small
        XCTAssertGreaterThan(n / MatmulKernel.splitDepth, 1)
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = randomTensor(ta ? [k, m] : [m, k], seed: 1), b = randomTensor(tb ? [n, k] : [k, n], seed: 2)
            let dc = randomTensor([m, n], seed: 3)
            let da0 = randomTensor(a.shape, seed: 4), db0 = randomTensor(b.shape, seed: 5)
            func run(threads: Int) -> [[Float]] {
                Threading.configure(threads: threads)
                defer { Threading.configure(threads: Threading.coreCount) }
                let da = Tensor(da0.scalars, shape: da0.shape), db = Tensor(db0.scalars, shape: db0.shape)
                MatmulKernel.backward(da: da.data, db: db.data, dc: dc.data, a: a.data, b: b.data,
                                      m: m, n: n, k: k, transposeA: ta, transposeB: tb)
                return [da.scalars, db.scalars]
            }
            let one = run(threads: 1)
            XCTAssertEqual(one, run(threads: 2), "transposeA \(ta) transposeB \(tb)")
            XCTAssertEqual(one, run(threads: 3), "transposeA \(ta) transposeB \(tb)")
            // Float64 reference: op(a) (M,K), op(b) (K,N).
            let (av, bv, g, da0v, db0v) = (a.scalars, b.scalars, dc.scalars, da0.scalars, db0.scalars)
            func opA(_ i: Int, _ p: Int) -> Double { Double(ta ? av[p * m + i] : av[i * k + p]) }
            func opB(_ p: Int, _ j: Int) -> Double { Double(tb ? bv[j * k + p] : bv[p * n + j]) }
            for i in 0..<m where i % 97 == 0 {
                for p in 0..<k {
                    var sum = 0.0
                    for j in 0..<n { sum += Double(g[i * n + j]) * opB(p, j) }
                    let index = ta ? p * m + i : i * k + p
                    XCTAssertEqual(Double(one[0][index]), Double(da0v[index]) + sum, accuracy: 1e-3)
                }
            }
            for p in 0..<k {
                for j in 0..<n where j % 97 == 0 {
                    var sum = 0.0
                    for i in 0..<m { sum += opA(i, p) * Double(g[i * n + j]) }
                    let index = tb ? j * k + p : p * n + j
                    XCTAssertEqual(Double(one[1][index]), Double(db0v[index]) + sum, accuracy: 1e-3)
                }
            }
        }
    }

    /// A forward product (beta 0) with a small output and a long reduction — split the same way —
    /// overwrites whatever c held, equals Float64 and is identical for 1 and 2 threads; with more
    /// than eight blocks' depth the split stops at eight.
    func testLongReductionForwardProductOverwritesAndIsExact() {
        for k in [3000, 9 * 1024 + 5] {
            let (m, n) = (7, 33)
            let a = randomTensor([k, m], seed: 6), b = randomTensor([k, n], seed: 7)  // c = aᵀ · b
            func run(threads: Int) -> [Float] {
                Threading.configure(threads: threads)
                defer { Threading.configure(threads: Threading.coreCount) }
                let c = Tensor(repeating: .nan, shape: [m, n])
                MatmulKernel.forward(c.data, a.data, b.data, m: m, n: n, k: k, transposeA: true)
                return c.scalars
            }
            let one = run(threads: 1)
            XCTAssertEqual(one, run(threads: 2), "k \(k)")
            let (av, bv) = (a.scalars, b.scalars)
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(av[p * m + i]) * Double(bv[p * n + j]) }
                    XCTAssertEqual(Double(one[i * n + j]), sum, accuracy: 1e-3, "k \(k) (\(i), \(j))")
                }
            }
        }
    }

    /// The same inputs give bit-identical outputs whatever the thread count, for every kernel
    /// with a reduction (fixed blocks, fixed order).
    func testReductionsAreBitIdenticalAcrossThreadCounts() {
        let (n, c) = (1000, 77)
        let x = randomTensor([n, c], seed: 1), g = randomTensor([n, c], seed: 2)
        let w = randomTensor([c], seed: 3), b = randomTensor([c], seed: 4)
        func run(threads: Int) -> [[Float]] {
            Threading.configure(threads: threads)
            defer { Threading.configure(threads: Threading.coreCount) }
            let out = Tensor(zeros: [n, c]), mean = Tensor(zeros: [n]), rstd = Tensor(zeros: [n])
            LayerNormKernel.forward(out.data, mean: mean.data, rstd: rstd.data, x.data, weight: w.data, bias: b.data, rows: n, columns: c, eps: 1e-12)
            let dx = Tensor(zeros: [n, c]), dw = Tensor(zeros: [c]), db = Tensor(zeros: [c])
            LayerNormKernel.backward(dinp: dx.data, dweight: dw.data, dbias: db.data, dout: g.data, inp: x.data, weight: w.data,
                                     mean: mean.data, rstd: rstd.data, rows: n, columns: c)
            let colSum = Tensor(zeros: [c])
            Reduce.sumRows(g.data, rows: n, columns: c, into: colSum.data)
            let total = Reduce.sumOfSquares(g.data, count: n * c)
            let table = Tensor(zeros: [7, c])
            let ids = (0..<n).map { Int32($0 % 7) }
            ids.withUnsafeBufferPointer { GatherKernel.backward(dtable: table.data, dout: g.data, indices: $0.baseAddress!, count: n, columns: c) }
            return [out.scalars, dx.scalars, dw.scalars, db.scalars, colSum.scalars, [Float(total)], table.scalars]
        }
        let one = run(threads: 1), two = run(threads: 2), three = run(threads: 3)
        XCTAssertEqual(one, two)
        XCTAssertEqual(one, three)
    }

    func testSoftmaxRowsSumToOneAndSurviveLargeLogits() {
        let x = Tensor([1000, 1001, 1002, -1000, 0, 5, 5, 5, 5, 5], shape: [2, 5])
        let out = Tensor(zeros: [2, 5])
        SoftmaxKernel.forward(out.data, x.data, rows: 2, columns: 5)
        for r in 0..<2 {
            let s = (0..<5).reduce(Float(0)) { $0 + out[r, $1] }
            XCTAssertEqual(s, 1, accuracy: 1e-6)
        }
        XCTAssertEqual(out[0, 3], 0)
        XCTAssertEqual(out[1, 0], 0.2, accuracy: 1e-6)
        XCTAssertFalse(out.scalars.contains { $0.isNaN })
    }

    func testFullyMaskedAttentionRowIsZeroNotNaN() {
        let shape = AttentionShape(batch: 1, queries: 2, keys: 2, heads: 1, headDim: 2)
        let q = randomTensor([1, 2, 2], seed: 5), k = randomTensor([1, 2, 2], seed: 6), v = randomTensor([1, 2, 2], seed: 7)
        let keyMask = Tensor([0, 0], shape: [1, 2])
        let out = Tensor(zeros: [1, 2, 2]), probs = Tensor(zeros: [1, 1, 2, 2])
        AttentionKernel.forward(out.data, probabilities: probs.data, q: q.data, k: k.data, v: v.data, shape: shape,
                                masks: AttentionMasks(keyMask: UnsafePointer(keyMask.data)), dropout: 0, key: 0)
        XCTAssertEqual(out.scalars, [0, 0, 0, 0])
        XCTAssertEqual(probs.scalars, [0, 0, 0, 0])
    }

    func testDropoutMaskIsIndependentOfThreadCount() {
        let x = Tensor(repeating: 1, shape: [100_000])
        func run(_ threads: Int) -> [Float] {
            Threading.configure(threads: threads)
            defer { Threading.configure(threads: Threading.coreCount) }
            let out = Tensor(zeros: [100_000])
            Elementwise.dropoutForward(out.data, x.data, count: x.count, probability: 0.1, key: 1234)
            return out.scalars
        }
        XCTAssertEqual(run(1), run(2))
    }

    /// Each 64-bit draw decides four elements by its 16-bit quarters, low to high, drop when below
    /// p·65536; the eight-lane loop, the four-lane loop and the tail agree with that definition.
    func testDropoutScalesFollowTheirDefinition() {
        for count in [1, 3, 4, 8, 13, 1003] {
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { scales.deallocate() }
            Elementwise.dropoutScales(scales, count: count, probability: 0.3, key: 77, stream: 5)
            var rng = RandomGenerator(seed: 77, stream: [5])
            var expected: [Float] = []
            while expected.count < count {
                let bits = rng.next()
                for quarter in 0..<4 where expected.count < count {
                    expected.append((bits >> (16 * UInt64(quarter))) & 0xffff < 19661 ? 0 : 1 / (1 - 0.3))
                }
            }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: scales, count: count)), expected, "count \(count)")
            let dropped = expected.filter { $0 == 0 }.count
            if count == 1003 { XCTAssertEqual(Double(dropped) / 1003, 0.3, accuracy: 0.05) }
        }
    }
}

final class SamplingKernelTests: XCTestCase {
    /// The fused decoder's draws follow softmax(logits/T): empirical frequencies over 40k rows of
    /// the same logits against the exact probabilities, at T = 1 (the exponentials the loss
    /// computes) and T = 0.5 (a pass of its own); ignored rows draw −1; the loss is unchanged.
    func testFusedDrawsFollowTheTemperedSoftmax() {
        let v = 13, m = 40_000
        let logits: [Float] = (0..<v).map { Float(sin(Double($0) * 1.7)) * 2 }
        for temperature: Float in [1, 0.5] {
            var rows = [Float](repeating: 0, count: m * v)
            for r in 0..<m { for j in 0..<v { rows[r * v + j] = logits[j] } }
            var rng = RandomGenerator(seed: 7)
            let uniforms = (0..<m).map { _ in Float(rng.uniformDouble()) }
            var targets = [Int32](repeating: 3, count: m)
            targets[5] = LossKernels.ignoreIndex
            var predictions = [Int32](repeating: 0, count: m), samples = [Int32](repeating: 0, count: m)
            var plain = rows, plainPredictions = predictions
            let loss = rows.withUnsafeMutableBufferPointer { x in
                uniforms.withUnsafeBufferPointer { u in
                    samples.withUnsafeMutableBufferPointer { s in
                        LossKernels.biasCrossEntropyInPlace(x.baseAddress!, bias: nil, targets: targets, rows: m, classes: v,
                                                            predictions: &predictions, gradientScale: nil, biasGradient: nil,
                                                            sampling: (u.baseAddress!, temperature, s.baseAddress!))
                    }
                }
            }
            let reference = LossKernels.biasCrossEntropyInPlace(&plain, bias: nil, targets: targets, rows: m, classes: v,
                                                                predictions: &plainPredictions, gradientScale: nil, biasGradient: nil)
            XCTAssertEqual(loss, reference, "sampling leaves the loss as it is")
            XCTAssertEqual(samples[5], -1)
            let z = logits.map { exp(Double($0 / temperature)) }.reduce(0, +)
            var counts = [Int](repeating: 0, count: v)
            for (r, s) in samples.enumerated() where r != 5 { counts[Int(s)] += 1 }
            for j in 0..<v {
                let p = exp(Double(logits[j] / temperature)) / z
                let sd = (p * (1 - p) / Double(m - 1)).squareRoot()
                XCTAssertEqual(Double(counts[j]) / Double(m - 1), p, accuracy: 5 * sd + 1e-4, "T \(temperature), class \(j)")
            }
        }
    }

    /// The first index whose running sum passes the goal, also across the eight-wide blocks and
    /// when rounding leaves the goal at the total (the last positive weight).
    func testCumulativeIndexFindsTheCrossing() {
        let w: [Float] = [0.5, 0, 0, 0.25, 1, 1, 1, 1, 1, 1, 2, 0, 0]
        XCTAssertEqual(LossKernels.cumulativeIndex(w, w.count, exceeding: 0), 0)
        XCTAssertEqual(LossKernels.cumulativeIndex(w, w.count, exceeding: 0.6), 3)
        XCTAssertEqual(LossKernels.cumulativeIndex(w, w.count, exceeding: 6.7), 9)
        XCTAssertEqual(LossKernels.cumulativeIndex(w, w.count, exceeding: 7.0), 10)
        XCTAssertEqual(LossKernels.cumulativeIndex(w, w.count, exceeding: 9.75), 10)
    }
}
