import XCTest
import Foundation
import Models
@testable import Training

/// The SBO and NSP/SOP heads against a Float64 reference of their maths: forward values, and
/// gradients against central finite differences of that reference.
final class HeadGradientTests: XCTestCase, Float64Layers {
    func crossEntropy(_ logits: [Double], _ label: Int) -> Double {
        let m = logits.max()!
        return log(logits.reduce(0) { $0 + exp($1 - m) }) + m - logits[label]
    }

    func values(_ p: Parameter) -> [Double] { p.value.scalars.map(Double.init) }

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        var diff = 0.0, scale = 1e-3
        for (x, y) in zip(a, b) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
        return diff / scale
    }

    /// Central differences of `loss` with respect to each entry of `x`.
    func numericGradient(_ x: [Double], step: Double = 1e-5, _ loss: ([Double]) -> Double) -> [Double] {
        var x = x
        return x.indices.map { j in
            let saved = x[j]
            x[j] = saved + step; let plus = loss(x)
            x[j] = saved - step; let minus = loss(x)
            x[j] = saved
            return (plus - minus) / (2 * step)
        }
    }

    func testSpanBoundaryHeadMatchesAFloat64Reference() throws {
        let config = EncoderConfiguration(vocabSize: 13, hiddenSize: 6, layers: 1, heads: 2, intermediateSize: 8, layerNormEps: 1e-5)
        var rng = RandomGenerator(seed: 3)
        let words = Embedding("words", count: 13, dimension: 6, std: 0.5, rng: &rng)
        let head = SpanBoundaryHead(config: config, tiedTo: words, maxOffsets: 4, rng: &rng)
        // Larger weights than the 0.02 initialisation so every path matters numerically.
        for p in head.parameters + [words.weight] { rng.fillNormal(p.value, std: 0.3) }
        let (b, t, h) = (2, 5, 6)
        let hiddenParameter = Parameter(name: "hidden", value: Tensor(uninitialized: [b, t, h]))
        rng.fillNormal(hiddenParameter.value)
        let left: [Int32] = [0, 0, 5, 6], right: [Int32] = [3, 3, 8, 9], offsets: [Int32] = [0, 5, 1, 0], labels: [Int32] = [4, 7, 0, 12]

        let tape = Tape()
        let logits = try head(tape.parameter(hiddenParameter), left: left, right: right, offsets: offsets, tape: tape)
        let loss = tape.crossEntropy(logits, targets: labels)
        try tape.backward(loss)

        let eps = 1e-5
        func reference(hidden: [Double], w1: [Double], positions: [Double], embedding: [Double]) -> Double {
            var total = 0.0
            for m in labels.indices {
                let row = { (r: Int32) in Array(hidden[Int(r) * h..<(Int(r) + 1) * h]) }
                let o = min(Int(offsets[m]), 3)
                let h0 = row(left[m]) + row(right[m]) + Array(positions[o * 200..<(o + 1) * 200])
                let n1 = layerNorm(linear(h0, w1, values(head.dense1.bias!)).map(gelu), values(head.norm1.weight), values(head.norm1.bias), eps: eps)
                let n2 = layerNorm(linear(n1, values(head.dense2.weight), values(head.dense2.bias!)).map(gelu),
                                   values(head.norm2.weight), values(head.norm2.bias), eps: eps)
                total += crossEntropy(linear(n2, embedding, values(head.bias)), Int(labels[m]))
            }
            return total / Double(labels.count)
        }
        let (x, w1, pe, e) = (values(hiddenParameter), values(head.dense1.weight), values(head.positions.weight), values(words.weight))
        XCTAssertEqual(Double(loss.value.scalar), reference(hidden: x, w1: w1, positions: pe, embedding: e), accuracy: 1e-5)
        let checks: [(String, [Double], [Double])] = [
            ("hidden", hiddenParameter.gradient.scalars.map(Double.init), numericGradient(x) { reference(hidden: $0, w1: w1, positions: pe, embedding: e) }),
            ("dense1", head.dense1.weight.gradient.scalars.map(Double.init), numericGradient(w1) { reference(hidden: x, w1: $0, positions: pe, embedding: e) }),
            ("positions", head.positions.weight.gradient.scalars.map(Double.init), numericGradient(pe) { reference(hidden: x, w1: w1, positions: $0, embedding: e) }),
            ("tied decoder", words.weight.gradient.scalars.map(Double.init), numericGradient(e) { reference(hidden: x, w1: w1, positions: pe, embedding: $0) }),
        ]
        for (name, analytic, numeric) in checks {
            XCTAssertLessThan(relativeError(analytic, numeric), 2e-4, name)
        }
        // Offsets past the table share its last row; offset 5 was clipped to 3.
        XCTAssertNotEqual(head.positions.weight.gradient.scalars[3 * 200], 0)
    }

    func testSentencePairHeadMatchesAFloat64Reference() throws {
        let config = EncoderConfiguration(vocabSize: 10, hiddenSize: 5, layers: 1, heads: 1, intermediateSize: 8)
        var rng = RandomGenerator(seed: 4)
        let head = SentencePairHead(config: config, rng: &rng)
        rng.fillNormal(head.classifier.weight.value, std: 0.5)
        let pooled = Parameter(name: "pooled", value: Tensor(uninitialized: [3, 5]))
        rng.fillNormal(pooled.value)
        let labels: [Int32] = [1, 0, 1]
        let tape = Tape()
        let loss = tape.crossEntropy(head(tape.parameter(pooled), tape: tape), targets: labels)
        try tape.backward(loss)
        func reference(_ x: [Double], _ w: [Double]) -> Double {
            var total = 0.0
        for r in 0..<3 { total += crossEntropy(linear(Array(x[r * 5..<(r + 1) * 5]), w, values(head.classifier.bias!)), Int(labels[r])) }
        return total / 3
        }
        let (x, w) = (values(pooled), values(head.classifier.weight))
        XCTAssertEqual(Double(loss.value.scalar), reference(x, w), accuracy: 1e-6)
        XCTAssertLessThan(relativeError(pooled.gradient.scalars.map(Double.init), numericGradient(x) { reference($0, w) }), 1e-4)
        XCTAssertLessThan(relativeError(head.classifier.weight.gradient.scalars.map(Double.init), numericGradient(w) { reference(x, $0) }), 1e-4)
    }
}
