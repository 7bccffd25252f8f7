import XCTest
import Foundation
@testable import Tensors

final class VectorMathTests: XCTestCase {
    /// Evaluates a SIMD function on `xs`, one vector at a time.
    func apply(_ f: (VectorMath.Vector) -> VectorMath.Vector, _ xs: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in VectorMath.map(o.baseAddress!, x.baseAddress!, count: xs.count, f) }
        }
        return out
    }

    func testExpRelativeErrorBelowThreeUlpOverTheWholeRange() {
        let xs = stride(from: -87.0 as Float, through: 88.3, by: 0.0137).map { $0 }
        let ours = apply(VectorMath.exp, xs)
        var worst = 0.0
        for (x, y) in zip(xs, ours) {
            let ref = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - ref) / ref)
        }
        XCTAssertLessThan(worst, 3 * Double(Float.ulpOfOne), "worst relative error \(worst)")
    }

    func testExpEdgeCases() {
        let out = apply(VectorMath.exp, [-.infinity, -100, 0, 89, .infinity, -87.5, 1, -1, 88.7])
        XCTAssertEqual(out[0], 0)
        XCTAssertEqual(out[1], 0)
        XCTAssertEqual(out[2], 1)
        XCTAssertEqual(out[3], .infinity)
        XCTAssertEqual(out[4], .infinity)
        XCTAssertEqual(out[5], 0)
        XCTAssertEqual(out[6], Float(M_E), accuracy: 1e-6)
        XCTAssertTrue(out[8].isFinite && out[8] > 2e38, "saturates below Float.greatestFiniteMagnitude")
    }

    func testErfAbsoluteErrorBelow1e6() {
        let xs = stride(from: -6.0 as Float, through: 6.0, by: 0.001).map { $0 }
        let ours = apply(VectorMath.erf, xs)
        var worst = 0.0
        for (x, y) in zip(xs, ours) { worst = max(worst, abs(Double(y) - Foundation.erf(Double(x)))) }
        XCTAssertLessThan(worst, 1e-6, "worst absolute error \(worst)")
    }

    func testTanhAbsoluteErrorBelow5e7() {
        let xs = stride(from: -12.0 as Float, through: 12.0, by: 0.0007).map { $0 } + [0, 1e-8, -1e-8, 0.0625, -0.0625]
        let ours = apply(VectorMath.tanh, xs)
        var worst = 0.0
        for (x, y) in zip(xs, ours) { worst = max(worst, abs(Double(y) - Foundation.tanh(Double(x)))) }
        XCTAssertLessThan(worst, 5e-7, "worst absolute error \(worst)")
    }

    func testPartialVectorsOfEveryLength() {
        for n in 0..<20 {
            let xs = (0..<n).map { Float($0) * 0.1 - 0.5 }
            let ours = apply(VectorMath.exp, xs)
            for (x, y) in zip(xs, ours) { XCTAssertEqual(Double(y), Foundation.exp(Double(x)), accuracy: 1e-6) }
        }
    }
}

final class RandomGeneratorTests: XCTestCase {
    func testSameSeedSameSequenceAndStateRoundTrip() throws {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        XCTAssertEqual((0..<100).map { _ in a.next() }, (0..<100).map { _ in b.next() })
        let saved = try JSONEncoder().encode(a)
        var restored = try JSONDecoder().decode(RandomGenerator.self, from: saved)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in restored.next() })
        var c = RandomGenerator(seed: 43)
        XCTAssertNotEqual(a.next(), c.next())
    }

    func testCorruptStateIsRejected() {
        XCTAssertThrowsError(try JSONDecoder().decode(RandomGenerator.self, from: Data("[0,0,0,0]".utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(RandomGenerator.self, from: Data("[1,2]".utf8)))
    }

    func testStreamsDifferByKey() {
        var s1 = RandomGenerator(seed: 1, stream: [0, 5]), s2 = RandomGenerator(seed: 1, stream: [0, 6])
        var s3 = RandomGenerator(seed: 1, stream: [0, 5])
        let a = s1.next()
        XCTAssertNotEqual(a, s2.next())
        XCTAssertEqual(a, s3.next())
    }

    func testDistributionMoments() {
        var g = RandomGenerator(seed: 3)
        let n = 200_000
        let normals = (0..<n).map { _ in Double(g.normal()) }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.01)
        let uniforms = (0..<n).map { _ in g.uniform() }
        XCTAssertTrue(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(Double(uniforms.reduce(0, +)) / Double(n), 0.5, accuracy: 0.005)
        let hits = (0..<n).filter { _ in g.bernoulli(0.15) }.count
        XCTAssertEqual(Double(hits) / Double(n), 0.15, accuracy: 0.005)
    }

    func testCategoricalFrequenciesFollowWeights() {
        var g = RandomGenerator(seed: 4)
        let weights: [Float] = [0.1, 0, 0.6, 0.3]
        var counts = [0, 0, 0, 0]
        for _ in 0..<100_000 { counts[g.categorical(weights)] += 1 }
        XCTAssertEqual(counts[1], 0, "zero weight is never drawn")
        for (c, w) in zip(counts, weights) { XCTAssertEqual(Double(c) / 100_000, Double(w), accuracy: 0.01) }
    }
}

final class TensorTests: XCTestCase {
    func testViewsShareStorageAndCopiesDoNot() {
        let t = Tensor((0..<12).map(Float.init), shape: [3, 4])
        let rows = t.rows(1..<3)
        XCTAssertEqual(rows.shape, [2, 4])
        XCTAssertEqual(rows.scalars.first, 4)
        rows[0, 0] = 100
        XCTAssertEqual(t[1, 0], 100, "a row view writes through")
        let flat = t.reshaped([-1])
        XCTAssertEqual(flat.shape, [12])
        let copy = t.copy()
        copy[0, 0] = -1
        XCTAssertEqual(t[0, 0], 0)
        XCTAssertEqual(t.reshaped([2, -1, 2]).shape, [2, 3, 2])
    }

    func testStorageIsAligned() {
        for n in [1, 3, 17, 1000] {
            XCTAssertEqual(Int(bitPattern: Tensor(zeros: [n]).data) % 64, 0)
        }
    }
}
