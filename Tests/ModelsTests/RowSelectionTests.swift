import XCTest
@testable import Models
import Autodiff
import NN
import Tensors

/// The encoder's last layer computed on the rows a head reads only (``RowSelection``) gives the
/// full computation's values at those rows, the same pooled vector and the same parameter
/// gradients for a loss that reads only them.
final class RowSelectionTests: XCTestCase {
    override func setUp() { Threading.configure(threads: 2) }

    func testSelectionMapsPositionsAndPadsWithTheFirstToken() throws {
        let s = try XCTUnwrap(RowSelection(positions: [13, 3, 3, 9], batch: 2, length: 8))
        // Sequence 0 holds [CLS]=0, 3; sequence 1 holds [CLS]=8, 13, 9: Q = 3, sequence 0 padded with 0.
        XCTAssertEqual(s.perSequence, 3)
        XCTAssertEqual(s.rows, [0, 3, 0, 8, 13, 9])
        XCTAssertEqual(s.selectedRows([13, 3, 3, 9, 0, 8]), [4, 1, 1, 5, 0, 3])
        XCTAssertNil(RowSelection(positions: [1, 2, 3, 4], batch: 1, length: 8), "more than half the rows: no saving")
        XCTAssertNil(RowSelection(positions: [16], batch: 2, length: 8), "out of range falls back to the full path")
    }

    func testSelectedLastLayerEqualsTheFullComputation() throws {
        let base = EncoderConfiguration(vocabSize: 41, hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 24, maxPositions: 24)
        var albert = base
        albert.family = .albert; albert.embeddingSize = 8; albert.sharing = .all; albert.hiddenGroups = 1
        for var config in [base, albert] {
            config.hiddenDropout = 0
            config.attentionDropout = 0
            let (b, t) = (3, 11)
            var rng = RandomGenerator(seed: 7)
            let ids = (0..<(b * t)).map { _ in Int32(rng.integer(below: 41)) }
            var mask = [Float](repeating: 1, count: b * t)
            for j in 8..<t { mask[2 * t + j] = 0 }  // padding in the last sequence
            let input = EncoderInput(ids: ids, attentionMask: mask, batch: b, length: t)
            let positions: [Int32] = [2, 5, 14, 12, 25, 2, 23]
            let weights = (0..<(positions.count * config.hiddenSize)).map { _ in Float(rng.normal()) }

            func run(selecting: Bool) throws -> (hidden: [Float], pooled: [Float], gradients: [[Float]]) {
                let model = try PretrainingModel(config: config, heads: [], seed: 3)
                let tape = Tape()
                let out = try model.encoder(input, training: true, tape: tape, readingOnly: selecting ? positions : nil)
                XCTAssertEqual(out.selection != nil, selecting)
                let read = try tape.gather(tape.reshape(out.hidden, [-1, config.hiddenSize]), indices: out.rows(at: positions))
                let loss = tape.add(tape.sum(tape.multiply(read, Variable(constant: Tensor(weights, shape: read.shape)))),
                                    tape.sum(out.pooled!))
                try tape.backward(loss)
                return (read.value.scalars, out.pooled!.value.scalars, model.parameters.map { $0.gradient.scalars })
            }
            let full = try run(selecting: false), selected = try run(selecting: true)
            // Float32 sums in another order (other matrix shapes): compare on the tensor's scale,
            // floored by the largest gradient's — the key biases' true gradient is exactly zero
            // (softmax ignores a shift shared by a row), so theirs is pure rounding noise.
            let floor = 1e-3 * (full.gradients.joined().map { abs($0) }.max() ?? 0)
            func close(_ a: [Float], _ b: [Float], _ what: String) {
                XCTAssertEqual(a.count, b.count, what)
                let scale = max(floor, a.map { abs($0) }.max() ?? 0, 1e-12)
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst / scale, 2e-5, "\(config.family) \(what)")
            }
            close(full.hidden, selected.hidden, "hidden rows")
            close(full.pooled, selected.pooled, "pooled")
            for (i, (f, s)) in zip(full.gradients, selected.gradients).enumerated() { close(f, s, "gradient of parameter \(i)") }
        }
    }
}
