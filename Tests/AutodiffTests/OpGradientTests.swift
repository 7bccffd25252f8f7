import XCTest
@testable import Autodiff
import Tensors
import Foundation

/// Every op: forward vs a Float64 reference, backward vs central finite differences in Float64.
/// Shapes are random and deliberately odd (not multiples of the SIMD width 8).
final class OpGradientTests: XCTestCase {
    override func setUp() { Threading.configure(threads: 2) }

    // MARK: Float64 references

    static func matmul64(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]) }
            out[i * n + j] = s
        } }
        return out
    }

    static func softmax64(_ row: [Double]) -> [Double] {
        let m = row.max() ?? 0
        if m == -.infinity { return row.map { _ in 0 } }
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func rows(_ x: [Double], _ c: Int) -> [[Double]] { stride(from: 0, to: x.count, by: c).map { Array(x[$0..<$0 + c]) } }

    static func logSoftmax64(_ row: [Double]) -> [Double] {
        let m = row.max()!
        let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
        return row.map { $0 - lse }
    }

    // MARK: linear algebra

    func testLinear() throws {
        var r = Random(1)
        let (n, cin, cout) = (r.int(3...9), r.int(5...19), r.int(3...17))
        try GradientCheck().run("linear", inputs: [r.tensor([n, cin]), r.tensor([cout, cin]), r.tensor([cout])], reference: { x in
            var out = Self.matmul64(x[0], x[1], m: n, n: cout, k: cin, ta: false, tb: true)
            for i in 0..<n { for j in 0..<cout { out[i * cout + j] += x[2][j] } }
            return out
        }) { tape, v in tape.linear(v[0], weight: v[1], bias: v[2]) }
    }

    func testLinearWithSeveralWeightsIsTheirConcatenation() throws {
        var r = Random(31)
        let (n, cin) = (r.int(3...9), r.int(5...13))
        let outs = [r.int(2...7), r.int(3...9), r.int(1...5)]
        let inputs = [r.tensor([n, cin])] + outs.map { r.tensor([$0, cin]) } + outs.map { r.tensor([$0]) }
        try GradientCheck().run("linear concatenated", inputs: inputs, reference: { x in
            let parts = outs.indices.map { p -> [Double] in
                var o = Self.matmul64(x[0], x[1 + p], m: n, n: outs[p], k: cin, ta: false, tb: true)
                for i in 0..<n { for j in 0..<outs[p] { o[i * outs[p] + j] += x[4 + p][j] } }
                return o
            }
            return (0..<n).flatMap { i in outs.indices.flatMap { p in Array(parts[p][i * outs[p]..<(i + 1) * outs[p]]) } }
        }) { tape, v in tape.linear(v[0], weights: Array(v[1...3]), biases: Array(v[4...6])) }
    }

    func testMatmulAllTransposeCases() throws {
        var r = Random(2)
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let (m, n, k) = (r.int(2...11), r.int(2...13), r.int(2...9))
            let a = r.tensor(ta ? [k, m] : [m, k]), b = r.tensor(tb ? [n, k] : [k, n])
            try GradientCheck().run("matmul ta=\(ta) tb=\(tb)", inputs: [a, b], reference: { x in
                Self.matmul64(x[0], x[1], m: m, n: n, k: k, ta: ta, tb: tb)
            }) { tape, v in tape.matmul(v[0], v[1], transposeA: ta, transposeB: tb) }
        }
    }

    func testBatchedMatmulAndSharedRightOperand() throws {
        var r = Random(3)
        let (batch, m, n, k) = (3, r.int(2...7), r.int(2...9), r.int(2...5))
        for shared in [false, true] {
            let a = r.tensor([batch, m, k]), b = r.tensor(shared ? [n, k] : [batch, n, k])
            try GradientCheck().run("batched matmul shared=\(shared)", inputs: [a, b], reference: { x in
                (0..<batch).flatMap { i in
                    Self.matmul64(Array(x[0][i * m * k..<(i + 1) * m * k]),
                                  shared ? x[1] : Array(x[1][i * n * k..<(i + 1) * n * k]), m: m, n: n, k: k, ta: false, tb: true)
                }
            }) { tape, v in tape.matmul(v[0], v[1], transposeB: true) }
        }
    }

    // MARK: element-wise

    func testAddMultiplyScale() throws {
        var r = Random(4)
        let shape = [r.int(2...5), r.int(3...13)]
        try GradientCheck().run("add", inputs: [r.tensor(shape), r.tensor(shape)], reference: { x in zip(x[0], x[1]).map(+) }) {
            tape, v in tape.add(v[0], v[1])
        }
        try GradientCheck().run("multiply", inputs: [r.tensor(shape), r.tensor(shape)], reference: { x in zip(x[0], x[1]).map(*) }) {
            tape, v in tape.multiply(v[0], v[1])
        }
        try GradientCheck().run("scale", inputs: [r.tensor(shape)], reference: { x in x[0].map { $0 * -1.75 } }) {
            tape, v in tape.scale(v[0], by: -1.75)
        }
    }

    func testAddBias() throws {
        var r = Random(5)
        let (n, c) = (r.int(2...70), r.int(3...21))  // > 64 rows exercises the blocked column reduction
        try GradientCheck().run("addBias", inputs: [r.tensor([n, c]), r.tensor([c])], reference: { x in
            x[0].enumerated().map { $0.element + x[1][$0.offset % c] }
        }) { tape, v in tape.addBias(v[0], v[1]) }
    }

    func testGELU() throws {
        var r = Random(6)
        let x = r.tensor([r.int(2...5), r.int(9...23)], std: 2.5)
        try GradientCheck(forwardTolerance: 2e-6, gradientTolerance: 2e-5).run("gelu", inputs: [x], reference: { x in
            x[0].map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
        }) { tape, v in tape.gelu(v[0]) }
    }

    func testGELUTanhApproximation() throws {
        var r = Random(23)
        let x = r.tensor([r.int(2...5), r.int(9...23)], std: 2.5)
        try GradientCheck(forwardTolerance: 2e-6, gradientTolerance: 2e-5).run("geluTanh", inputs: [x], reference: { x in
            x[0].map { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }
        }) { tape, v in tape.geluTanh(v[0]) }
    }

    func testTanh() throws {
        var r = Random(7)
        try GradientCheck().run("tanh", inputs: [r.tensor([r.int(2...5), r.int(3...11)], std: 1.5)], reference: { x in
            x[0].map { Foundation.tanh($0) }
        }) { tape, v in tape.tanh(v[0]) }
    }

    func testSoftmax() throws {
        var r = Random(8)
        let c = r.int(3...29)
        try GradientCheck().run("softmax", inputs: [r.tensor([r.int(2...6), c], std: 3)], reference: { x in
            Self.rows(x[0], c).flatMap(Self.softmax64)
        }) { tape, v in tape.softmax(v[0]) }
    }

    func testLayerNorm() throws {
        var r = Random(9)
        let (n, c) = (r.int(2...70), r.int(5...27))
        let eps = 1e-5
        try GradientCheck(gradientTolerance: 3e-4).run("layerNorm", inputs: [r.tensor([n, c], std: 2), r.tensor([c]), r.tensor([c])], reference: { x in
            Self.rows(x[0], c).flatMap { row -> [Double] in
                let mean = row.reduce(0, +) / Double(c)
                let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
                let rstd = 1 / (variance + eps).squareRoot()
                return row.enumerated().map { ($0.element - mean) * rstd * x[1][$0.offset] + x[2][$0.offset] }
            }
        }) { tape, v in tape.layerNorm(v[0], weight: v[1], bias: v[2], eps: Float(eps)) }
    }

    func testDropoutMatchesItsMaskAndKeepsTheRightFraction() throws {
        var r = Random(10)
        let p: Float = 0.3
        let x = r.tensor([50, 97])
        let tape = Tape(seed: 99)
        let param = Parameter(name: "x", value: x)
        let out = tape.dropout(tape.parameter(param), probability: p)
        // The mask, read off the output: each element is 0 or x/(1−p).
        var kept = 0
        for (o, xi) in zip(out.value.scalars, x.scalars) {
            if o != 0 {
                kept += 1
                XCTAssertEqual(o, xi / (1 - p), accuracy: 1e-5 * abs(xi) + 1e-7)
            }
        }
        let fraction = Double(kept) / Double(x.count)
        XCTAssertEqual(fraction, 0.7, accuracy: 0.02, "kept fraction")
        // Backward with the same (regenerated) mask: d/dx Σ out = mask/(1−p).
        try tape.backward(tape.sum(out))
        for (g, (o, xi)) in zip(param.gradient.scalars, zip(out.value.scalars, x.scalars)) {
            XCTAssertEqual(g, o == 0 ? 0 : 1 / (1 - p), accuracy: 1e-6, "dropout gradient for x=\(xi)")
        }
    }

    // MARK: gathering

    func testGatherWithRepeatedIndices() throws {
        var r = Random(11)
        let (rows, c) = (r.int(5...9), r.int(3...19))
        let indices: [Int32] = [0, 3, 3, 1, Int32(rows - 1), 3, 0]
        try GradientCheck().run("gather", inputs: [r.tensor([rows, c])], reference: { x in
            indices.flatMap { Array(x[0][Int($0) * c..<(Int($0) + 1) * c]) }
        }) { tape, v in try tape.gather(v[0], indices: indices) }
    }

    func testGatherRejectsOutOfRangeIndex() {
        let tape = Tape()
        let table = tape.parameter(Parameter(name: "t", value: Tensor(zeros: [4, 3])))
        XCTAssertThrowsError(try tape.gather(table, indices: [1, 4])) { error in
            XCTAssertTrue("\(error)".contains("index 4"), "\(error)")
        }
    }

    func testConcatenate() throws {
        var r = Random(12)
        let n = r.int(2...6)
        let widths = [r.int(1...5), r.int(3...9), r.int(2...4)]
        try GradientCheck().run("concatenate", inputs: widths.map { r.tensor([n, $0]) }, reference: { x in
            (0..<n).flatMap { i in widths.indices.flatMap { p in Array(x[p][i * widths[p]..<(i + 1) * widths[p]]) } }
        }) { tape, v in tape.concatenate(v) }
    }

    func testSumMeanReshape() throws {
        var r = Random(13)
        let x = r.tensor([r.int(2...5), r.int(3...7)])
        try GradientCheck().run("sum", inputs: [x], reference: { x in [x[0].reduce(0, +)] }) { tape, v in tape.sum(v[0]) }
        try GradientCheck().run("mean", inputs: [x], reference: { x in [x[0].reduce(0, +) / Double(x[0].count)] }) { tape, v in tape.mean(v[0]) }
        try GradientCheck().run("reshape", inputs: [x], reference: { x in x[0].map { $0 * $0 } }) { tape, v in
            let flat = tape.reshape(v[0], [-1])
            return tape.multiply(flat, flat)
        }
    }

    // MARK: attention

    /// Float64 multi-head attention with the same mask semantics as the kernel.
    static func attention64(_ q: [Double], _ k: [Double], _ v: [Double], b: Int, t: Int, s: Int, heads: Int, dim: Int,
                            keyMask: [Float]?, causal: Bool, additive: [Float]?, dropKeep: ((Int, Int) -> Double)? = nil) -> [Double] {
        let c = heads * dim
        var out = [Double](repeating: 0, count: b * t * c)
        for bi in 0..<b { for h in 0..<heads { for i in 0..<t {
            var scores = [Double](repeating: 0, count: s)
            for j in 0..<s {
                var dot = 0.0
                for d in 0..<dim { dot += q[(bi * t + i) * c + h * dim + d] * k[(bi * s + j) * c + h * dim + d] }
                scores[j] = dot / Double(dim).squareRoot()
                if let additive { scores[j] += Double(additive[(additive.count == t * s ? 0 : bi * t * s) + i * s + j]) }
                if causal && j > i { scores[j] = -.infinity }
                if let keyMask, keyMask[bi * s + j] == 0 { scores[j] = -.infinity }
            }
            let p = softmax64(scores)
            for j in 0..<s {
                let w = p[j] * (dropKeep?(bi * heads + h, i * s + j) ?? 1)
                for d in 0..<dim { out[(bi * t + i) * c + h * dim + d] += w * v[(bi * s + j) * c + h * dim + d] }
            }
        } } }
        return out
    }

    func testAttentionWithPaddingMask() throws {
        var r = Random(14)
        let (b, t, heads, dim) = (2, 7, 3, 5)
        let c = heads * dim
        let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        try GradientCheck(gradientTolerance: 2e-4).run("attention padding", inputs: [r.tensor([b, t, c]), r.tensor([b, t, c]), r.tensor([b, t, c])], reference: { x in
            Self.attention64(x[0], x[1], x[2], b: b, t: t, s: t, heads: heads, dim: dim, keyMask: mask, causal: false, additive: nil)
        }) { tape, v in
            tape.attention(query: v[0], key: v[1], value: v[2], heads: heads, keyMask: Tensor(mask, shape: [b, t]))
        }
    }

    func testPackedAttentionReadsQKVBlocksInPlace() throws {
        var r = Random(32)
        let (b, t, heads, dim) = (2, 5, 2, 3)
        let c = heads * dim
        let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        try GradientCheck(gradientTolerance: 2e-4).run("attention packed", inputs: [r.tensor([b, t, 3 * c])], reference: { x in
            let rows = Self.rows(x[0], 3 * c)
            let q = rows.flatMap { Array($0[0..<c]) }, k = rows.flatMap { Array($0[c..<2 * c]) }, v = rows.flatMap { Array($0[2 * c..<3 * c]) }
            return Self.attention64(q, k, v, b: b, t: t, s: t, heads: heads, dim: dim, keyMask: mask, causal: true, additive: nil)
        }) { tape, v in tape.attention(packed: v[0], heads: heads, keyMask: Tensor(mask, shape: [b, t]), causal: true) }
    }

    func testAttentionOfSeparateQueriesOverPackedKeysAndValues() throws {
        var r = Random(33)
        let (b, t, s, heads, dim) = (2, 3, 6, 2, 3)
        let c = heads * dim
        let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        try GradientCheck(gradientTolerance: 2e-4).run("attention packed kv", inputs: [r.tensor([b, t, c]), r.tensor([b, s, 2 * c])], reference: { x in
            let rows = Self.rows(x[1], 2 * c)
            let k = rows.flatMap { Array($0[0..<c]) }, v = rows.flatMap { Array($0[c..<2 * c]) }
            return Self.attention64(x[0], k, v, b: b, t: t, s: s, heads: heads, dim: dim, keyMask: mask, causal: false, additive: nil)
        }) { tape, v in tape.attention(query: v[0], packedKeyValue: v[1], heads: heads, keyMask: Tensor(mask, shape: [b, s])) }
    }

    func testCausalAttention() throws {
        var r = Random(15)
        let (b, t, heads, dim) = (2, 6, 2, 3)
        let c = heads * dim
        try GradientCheck(gradientTolerance: 2e-4).run("attention causal", inputs: [r.tensor([b, t, c]), r.tensor([b, t, c]), r.tensor([b, t, c])], reference: { x in
            Self.attention64(x[0], x[1], x[2], b: b, t: t, s: t, heads: heads, dim: dim, keyMask: nil, causal: true, additive: nil)
        }) { tape, v in tape.attention(query: v[0], key: v[1], value: v[2], heads: heads, causal: true) }
    }

    func testAttentionWithAdditiveMaskAndCrossLengths() throws {
        var r = Random(16)
        let (b, t, s, heads, dim) = (2, 3, 5, 2, 4)
        let c = heads * dim
        // A permutation-LM style mask: −∞ hides; the last query row sees nothing and must be all zero.
        var additive = (0..<(b * t * s)).map { _ in Float(r.rng.normal()) }
        for j in 0..<s { additive[(1 * t + 2) * s + j] = -.infinity }
        additive[3] = -.infinity
        try GradientCheck(gradientTolerance: 2e-4).run("attention additive", inputs: [r.tensor([b, t, c]), r.tensor([b, s, c]), r.tensor([b, s, c])], reference: { x in
            Self.attention64(x[0], x[1], x[2], b: b, t: t, s: s, heads: heads, dim: dim, keyMask: nil, causal: false, additive: additive)
        }) { tape, v in
            tape.attention(query: v[0], key: v[1], value: v[2], heads: heads, additiveMask: Tensor(additive, shape: [b, t, s]))
        }
    }

    func testAttentionProbabilityDropout() throws {
        var r = Random(17)
        let (b, t, heads, dim) = (2, 5, 2, 3)
        let c = heads * dim, p: Float = 0.25
        let seed: UInt64 = 5
        // The tape's first dropout key, and the per-(batch, head) streams the kernel draws from.
        var tapeRandom = RandomGenerator(seed: seed)
        let key = tapeRandom.next()
        var masks: [[Double]] = []
        for bh in 0..<(b * heads) {
            let scales = Tensor(zeros: [t * t])
            Elementwise.dropoutScales(scales.data, count: t * t, probability: p, key: key, stream: UInt64(bh))
            XCTAssertTrue(scales.scalars.allSatisfy { $0 == 0 || abs($0 - 1 / (1 - p)) < 1e-6 })
            masks.append(scales.scalars.map(Double.init))
        }
        XCTAssertTrue(masks.joined().contains(0) && masks.joined().contains { $0 > 1 }, "some probabilities dropped, some kept")
        try GradientCheck(gradientTolerance: 2e-4, seed: seed).run("attention dropout", inputs: [r.tensor([b, t, c]), r.tensor([b, t, c]), r.tensor([b, t, c])], reference: { x in
            Self.attention64(x[0], x[1], x[2], b: b, t: t, s: t, heads: heads, dim: dim, keyMask: nil, causal: false, additive: nil,
                             dropKeep: { masks[$0][$1] })
        }) { tape, v in tape.attention(query: v[0], key: v[1], value: v[2], heads: heads, dropout: p) }
    }

    // MARK: losses

    func testCrossEntropyOverGatheredRowsWithIgnoredTargets() throws {
        var r = Random(18)
        let (m, classes) = (6, r.int(5...37))
        let targets: [Int32] = [1, LossKernels.ignoreIndex, 0, Int32(classes - 1), 2, LossKernels.ignoreIndex]
        for normalizer: Float? in [nil, 10] {
            try GradientCheck().run("crossEntropy normalizer=\(String(describing: normalizer))", inputs: [r.tensor([m, classes], std: 3)], reference: { x in
                var total = 0.0
                for (i, row) in Self.rows(x[0], classes).enumerated() where targets[i] != LossKernels.ignoreIndex {
                    total -= Self.logSoftmax64(row)[Int(targets[i])]
                }
                return [total / Double(normalizer ?? 4)]
            }) { tape, v in tape.crossEntropy(v[0], targets: targets, normalizer: normalizer) }
        }
    }

    func testLinearCrossEntropyIsCrossEntropyOfTheLinearLayer() throws {
        var r = Random(34)
        let (m, cin, classes) = (7, r.int(3...9), r.int(33...77))
        let targets: [Int32] = [1, LossKernels.ignoreIndex, 0, Int32(classes - 1), 2, 5, LossKernels.ignoreIndex]
        for normalizer: Float? in [nil, 9] {
            try GradientCheck().run("linearCrossEntropy normalizer=\(String(describing: normalizer))",
                                    inputs: [r.tensor([m, cin], std: 2), r.tensor([classes, cin]), r.tensor([classes])], reference: { x in
                var logits = Self.matmul64(x[0], x[1], m: m, n: classes, k: cin, ta: false, tb: true)
                for i in 0..<m { for j in 0..<classes { logits[i * classes + j] += x[2][j] } }
                var total = 0.0
                for (i, row) in Self.rows(logits, classes).enumerated() where targets[i] != LossKernels.ignoreIndex {
                    total -= Self.logSoftmax64(row)[Int(targets[i])]
                }
                return [total / Double(normalizer ?? 5)]
            }) { tape, v in tape.linearCrossEntropy(v[0], weight: v[1], bias: v[2], targets: targets, normalizer: normalizer).loss }
        }
        // Predictions are each row's argmax (−1 for ignored rows), as the unfused logits give.
        let (x, w, bias) = (r.tensor([m, cin]), r.tensor([classes, cin]), r.tensor([classes]))
        let tape = Tape(recording: false)
        let logits = tape.linear(Variable(constant: x), weight: Variable(constant: w), bias: Variable(constant: bias)).value
        let (_, predictions) = tape.linearCrossEntropy(Variable(constant: x), weight: Variable(constant: w), bias: Variable(constant: bias), targets: targets)
        for i in 0..<m {
            let row = Array(logits.scalars[i * classes..<(i + 1) * classes])
            XCTAssertEqual(predictions[i], targets[i] == LossKernels.ignoreIndex ? -1 : Int32(row.firstIndex(of: row.max()!)!))
        }
    }

    func testBinaryCrossEntropyWithLogits() throws {
        var r = Random(19)
        let n = r.int(5...19)
        let targets = Tensor((0..<n).map { Float($0 % 2) }, shape: [n])
        let weights = Tensor((0..<n).map { $0 % 5 == 4 ? 0 : 1 }, shape: [n])
        try GradientCheck().run("bce", inputs: [r.tensor([n], std: 4)], reference: { x in
            var s = 0.0, w = 0.0
            for i in 0..<n {
                let z = x[0][i], t = Double(targets.data[i]), wi = Double(weights.data[i])
                let sig = 1 / (1 + Foundation.exp(-z))
                s -= wi * (t * Foundation.log(sig) + (1 - t) * Foundation.log(1 - sig))
                w += wi
            }
            return [s / w]
        }) { tape, v in tape.binaryCrossEntropyWithLogits(v[0], targets: targets, weights: weights) }
    }

    func testKLDivergenceWithTemperature() throws {
        var r = Random(20)
        let (m, classes, tau) = (r.int(2...5), r.int(5...23), 2.0)
        try GradientCheck().run("klDivergence", inputs: [r.tensor([m, classes], std: 2), r.tensor([m, classes], std: 2)], reference: { x in
            var total = 0.0
            for (s, t) in zip(Self.rows(x[0], classes), Self.rows(x[1], classes)) {
                let ls = Self.logSoftmax64(s.map { $0 / tau }), lt = Self.logSoftmax64(t.map { $0 / tau })
                for j in 0..<classes { total += Foundation.exp(lt[j]) * (lt[j] - ls[j]) }
            }
            return [total * tau * tau / Double(m)]
        }) { tape, v in tape.klDivergence(student: v[0], teacher: v[1], temperature: Float(tau)) }
    }

    /// A frozen teacher (a constant, as in distillation) takes the SIMD student-only backward:
    /// 37 classes cover whole eight-lane vectors and a tail.
    func testKLDivergenceAgainstAFrozenTeacher() throws {
        var r = Random(22)
        let (m, classes, tau) = (r.int(2...5), 37, 1.5)
        try GradientCheck().run("klDivergence", inputs: [r.tensor([m, classes], std: 2), r.tensor([m, classes], std: 2)], differentiable: [0], reference: { x in
            var total = 0.0
            for (s, t) in zip(Self.rows(x[0], classes), Self.rows(x[1], classes)) {
                let ls = Self.logSoftmax64(s.map { $0 / tau }), lt = Self.logSoftmax64(t.map { $0 / tau })
                for j in 0..<classes { total += Foundation.exp(lt[j]) * (lt[j] - ls[j]) }
            }
            return [total * tau * tau / Double(m)]
        }) { tape, v in tape.klDivergence(student: v[0], teacher: Variable(constant: v[1].value), temperature: Float(tau)) }
    }

    func testCosineSimilarity() throws {
        var r = Random(21)
        let (n, c) = (r.int(2...7), r.int(3...17))
        try GradientCheck().run("cosineSimilarity", inputs: [r.tensor([n, c]), r.tensor([n, c])], reference: { x in
            zip(Self.rows(x[0], c), Self.rows(x[1], c)).map { a, b in
                let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
                return dot / (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
            }
        }) { tape, v in tape.cosineSimilarity(v[0], v[1]) }
    }

    func testMaskedMeanPooling() throws {
        var r = Random(22)
        let (b, t, c) = (3, 5, r.int(3...11))
        let mask: [Float] = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]  // the last row is all padding
        try GradientCheck().run("meanPool", inputs: [r.tensor([b, t, c])], reference: { x in
            (0..<b).flatMap { bi -> [Double] in
                let count = max((0..<t).reduce(0.0) { $0 + Double(mask[bi * t + $1]) }, 1e-9)
                return (0..<c).map { j in (0..<t).reduce(0.0) { $0 + Double(mask[bi * t + $1]) * x[0][(bi * t + $1) * c + j] } / count }
            }
        }) { tape, v in tape.meanPool(v[0], mask: Tensor(mask, shape: [b, t])) }
    }
}
