import XCTest
import Foundation
import Autodiff
@testable import Models
import NN
import PretrainingData
import Tensors
@testable import Training

/// Permutation LM: the targets and order, both streams' masks by hand, the property that defines
/// the query stream, and the two-stream forward and gradients against a Float64 reference.
final class PermutationLMTests: XCTestCase, Float64Layers {
    /// [CLS] 5 6 7 8 [SEP] with targets at 2 and 4, position 4 first in the order.
    func handInstance() -> (PretrainingInstance, MaskedInstance) {
        let ids: [Int32] = [1, 5, 6, 7, 8, 2]
        let instance = PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: 6),
                                           isSpecial: [true, false, false, false, false, true], wordStarts: [Bool](repeating: true, count: 6))
        return (instance, MaskedInstance(inputIDs: ids, positions: [2, 4], labels: [6, 8], order: [-1, -1, 1, -1, 0, -1]))
    }

    func testBothStreamsMasksOfAHandWorkedExample() {
        let (instance, masked) = handInstance()
        // A second, shorter sequence with one target: padding keys, and a padding query row.
        let short = PretrainingInstance(ids: [1, 9, 2], tokenTypes: [0, 0, 0], isSpecial: [true, false, true], wordStarts: [true, true, true])
        let shortMasked = MaskedInstance(inputIDs: [1, 9, 2], positions: [1], labels: [9], order: [-1, 0, -1])
        let batch = PretrainingBatch([(instance, masked), (short, shortMasked)], length: 6, padID: 0)
        guard let masks = batch.permutation else { return XCTFail("no permutation masks") }
        XCTAssertEqual(masks.queries, 2)
        func visible(_ mask: [Float], row: Int) -> [Int] { (0..<6).filter { mask[row * 6 + $0] == 0 } }
        // Content stream of sequence 0: the context sees the context; position 4 (first) also
        // itself; position 2 (second) everything.
        let contentRows = (0..<6).map { visible(masks.content, row: $0) }
        XCTAssertEqual(contentRows, [[0, 1, 3, 5], [0, 1, 3, 5], [0, 1, 2, 3, 4, 5], [0, 1, 3, 5], [0, 1, 3, 4, 5], [0, 1, 3, 5]])
        // Query stream: target 2 sees the context and 4, never itself; target 4 only the context.
        XCTAssertEqual(visible(masks.query, row: 0), [0, 1, 3, 4, 5])
        XCTAssertEqual(visible(masks.query, row: 1), [0, 1, 3, 5])
        // Sequence 1: its target at 1 sees the context (padding keys 3-5 are the key mask's to hide).
        XCTAssertEqual(visible(masks.query, row: 2), [0, 2, 3, 4, 5])
        XCTAssertEqual(Array(masks.content[36 + 6..<36 + 12]).map { $0 == 0 }, [true, true, true, true, true, true])
        XCTAssertEqual(masks.targetPositions, [2, 4, 1, 0])
        XCTAssertEqual(Array(masks.rows.prefix(3)), [0, 1, 2], "predictions in label order: (0,2), (0,4), (1,1)")
        XCTAssertEqual(masks.rows.count, batch.labels.count)
        XCTAssertEqual(Array(batch.labels.prefix(3)), [6, 8, 9])
        XCTAssertEqual(batch.input.ids.prefix(6), [1, 5, 6, 7, 8, 2], "inputs keep their tokens")
    }

    func testTargetsAreSpansOfOrdinaryTokensAtTheRateInARandomOrder() {
        let n = 128
        let instance = PretrainingInstance(ids: (0..<n).map { Int32(10 + $0) }, tokenTypes: [Int32](repeating: 0, count: n),
                                           isSpecial: (0..<n).map { $0 == 0 || $0 == 64 || $0 == n - 1 }, wordStarts: [Bool](repeating: true, count: n))
        let targets = PermutationTargets(probability: 1.0 / 6, maxSpanLength: 5, maxPredictions: 64)
        var rng = RandomGenerator(seed: 4)
        var total = 0, runs = 0
        for _ in 0..<300 {
            let m = targets.choose(instance, using: &rng)
            XCTAssertFalse(m.positions.contains { instance.isSpecial[Int($0)] })
            XCTAssertEqual(m.positions, m.positions.sorted())
            XCTAssertEqual(m.labels, m.positions.map { instance.ids[Int($0)] })
            XCTAssertEqual(m.inputIDs, instance.ids)
            let order = m.order ?? []
            XCTAssertEqual(m.positions.map { order[Int($0)] }.sorted(), Array(0..<Int32(m.positions.count)))
            XCTAssertEqual(order.filter { $0 < 0 }.count, n - m.positions.count)
            total += m.positions.count
            runs += zip(m.positions, m.positions.dropFirst()).filter { $1 != $0 + 1 }.count + (m.positions.isEmpty ? 0 : 1)
        }
        let rate = Double(total) / Double(300 * (n - 3))
        XCTAssertEqual(rate, 1.0 / 6, accuracy: 0.02, "share predicted")
        let meanRun = Double(total) / Double(runs)
        XCTAssertGreaterThan(meanRun, 2, "targets come in spans (1-5 tokens, mean 3, sometimes adjacent)")
        XCTAssertLessThan(meanRun, 4)
        // Deterministic, and capped.
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        XCTAssertEqual(targets.choose(instance, using: &a), targets.choose(instance, using: &b))
        var c = RandomGenerator(seed: 9)
        XCTAssertEqual(PermutationTargets(maxPredictions: 5).choose(instance, using: &c).positions.count, 5)
    }

    func model(layers: Int = 2, family: EncoderConfiguration.Family = .bert) throws -> PretrainingModel {
        var config = EncoderConfiguration(vocabSize: 30, hiddenSize: 8, layers: layers, heads: 2, intermediateSize: 12, layerNormEps: 1e-5)
        config.family = family
        config.maxPositions = 16
        config.hiddenDropout = 0
        config.attentionDropout = 0
        let model = try PretrainingModel(config: config, heads: [.maskedLM], seed: 6)
        // Larger weights than the 0.02 initialisation so every path matters numerically.
        var rng = RandomGenerator(seed: 12)
        for p in model.parameters where p.value.rank == 2 { rng.fillNormal(p.value, std: 0.4) }
        return model
    }

    /// The query stream's logits (targets × V) for one sequence.
    func queryLogits(_ model: PretrainingModel, ids: [Int32], masked: MaskedInstance) throws -> [[Float]] {
        let n = ids.count
        let instance = PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: n), isSpecial: [Bool](repeating: false, count: n),
                                           wordStarts: [Bool](repeating: true, count: n))
        var m = masked
        m.inputIDs = ids
        let batch = PretrainingBatch([(instance, m)], length: n, padID: 0)
        let masks = try XCTUnwrap(batch.permutation)
        let tape = Tape(recording: false)
        let g = try model.encoder.twoStream(batch.input, targetPositions: masks.targetPositions, queries: masks.queries, maskTokenID: 3,
                                            contentMask: Tensor(masks.content, shape: [1, n, n]), queryMask: Tensor(masks.query, shape: [1, masks.queries, n]),
                                            training: false, tape: tape)
        let logits = try XCTUnwrap(model.maskedLM)(g, positions: Array(masks.rows.prefix(masked.positions.count)), tape: tape).value
        let v = logits.lastDimension
        return (0..<masked.positions.count).map { r in (0..<v).map { logits.data[r * v + $0] } }
    }

    func testATargetSeesOnlyWhatComesBeforeItInTheOrder() throws {
        for family in [EncoderConfiguration.Family.bert, .albert] {
            let model = try model(layers: 3, family: family)
            // Targets 2, 3, 5, 7 in the order 5, 2, 7, 3; the others are context.
            let ids: [Int32] = [4, 10, 11, 12, 13, 14, 15, 16, 17, 5]
            var order = [Int32](repeating: -1, count: 10)
            (order[5], order[2], order[7], order[3]) = (0, 1, 2, 3)
            let masked = MaskedInstance(inputIDs: ids, positions: [2, 3, 5, 7], labels: [11, 12, 14, 16], order: order)
            let base = try queryLogits(model, ids: ids, masked: masked)
            func changed(at position: Int) throws -> [[Float]] {
                var other = ids
                other[position] = 25
                return try queryLogits(model, ids: other, masked: masked)
            }
            // Target 7 (third in the order, row 3): blind to its own token and to 3 (after it) ...
            XCTAssertEqual(try changed(at: 7)[3], base[3], "\(family): own token")
            XCTAssertEqual(try changed(at: 3)[3], base[3], "\(family): a later target")
            // ... and sees 2 and 5 (before it) and the context.
            for position in [2, 5, 0, 8] {
                let difference = zip(try changed(at: position)[3], base[3]).map { abs($0 - $1) }.max() ?? 0
                XCTAssertGreaterThan(difference, 1e-4, "\(family): token at \(position) comes before target 7")
            }
            // Target 5 (first in the order) sees the context only: no other target moves it.
            for position in [2, 3, 5, 7] { XCTAssertEqual(try changed(at: position)[2], base[2], "\(family): target 5 and \(position)") }
        }
    }

    // MARK: - Float64 reference

    /// The two-stream loss of `model`'s architecture with its parameters read from `flat` (at `offsets`).
    func referenceLoss(_ model: PretrainingModel, flat: [Double], offsets: [ObjectIdentifier: Int], ids: [Int32],
                       masks: PermutationMasks, labels: [Int32], maskID: Int32) -> Double {
        func value(_ p: Parameter) -> [Double] { let o = offsets[ObjectIdentifier(p)]!; return Array(flat[o..<o + p.value.count]) }
        func row(_ p: Parameter, _ r: Int) -> [Double] { let h = p.value.lastDimension; return Array(value(p)[r * h..<(r + 1) * h]) }
        let e = model.encoder, n = ids.count, q = masks.queries
        func embed(_ id: Int32, _ position: Int) -> [Double] {
            let word = row(e.embeddings.words.weight, Int(id)), place = row(e.embeddings.positions.weight, position)
            let type = row(e.embeddings.tokenTypes!.weight, 0)
            var sum = [Double](repeating: 0, count: word.count)
            for c in sum.indices { sum[c] = word[c] + place[c] + type[c] }
            return layerNorm(sum, value(e.embeddings.norm!.weight), value(e.embeddings.norm!.bias))
        }
        var h = (0..<n).map { embed(ids[$0], $0) }
        var g = (0..<q).map { embed(maskID, Int(masks.targetPositions[$0])) }
        func lin(_ x: [Double], _ l: Linear) -> [Double] { linear(x, value(l.weight), l.bias.map(value)) }
        for (index, layer) in e.layers.enumerated() {
            let a = layer.attention, f = layer.feedForward
            let keys = h.map { lin($0, a.queryKeyValue[1]) }, values = h.map { lin($0, a.queryKeyValue[2]) }
            let heads = a.heads, d = 8 / heads
            func attend(_ x: [Double], visible: (Int) -> Bool) -> [Double] {
                let query = lin(x, a.queryKeyValue[0])
                var context = [Double](repeating: 0, count: 8)
                for head in 0..<heads {
                    let cols = head * d..<(head + 1) * d
                    let scores = (0..<n).map { j in visible(j) ? cols.reduce(0) { $0 + query[$1] * keys[j][$1] } / Double(d).squareRoot() : -Double.infinity }
                    let m = scores.max()!
                    let weights = scores.map { exp($0 - m) }, total = weights.reduce(0, +)
                    for j in 0..<n { for c in cols { context[c] += weights[j] / total * values[j][c] } }
                }
                let attended = layerNorm(zip(lin(context, a.output), x).map(+), value(a.norm.weight), value(a.norm.bias))
                let ffn = lin(lin(attended, f.intermediate).map(gelu), f.output)
                return layerNorm(zip(ffn, attended).map(+), value(f.norm.weight), value(f.norm.bias))
            }
            let newG = (0..<q).map { r in attend(g[r]) { masks.query[r * n + $0] == 0 } }
            if index < e.layers.count - 1 { h = (0..<n).map { i in attend(h[i]) { masks.content[i * n + $0] == 0 } } }
            g = newG
        }
        let head = model.maskedLM!
        var loss = 0.0, count = 0
        for (k, label) in labels.enumerated() where label != PretrainingBatch.ignoredLabel {
            let x = layerNorm(lin(g[Int(masks.rows[k])], head.dense).map(gelu), value(head.norm.weight), value(head.norm.bias))
            let logits = linear(x, value(e.embeddings.words.weight), value(head.bias))
            let m = logits.max()!
            loss += log(logits.reduce(0) { $0 + exp($1 - m) }) + m - logits[Int(label)]
            count += 1
        }
        return loss / Double(count)
    }

    func testTwoStreamLossAndGradientsMatchAFloat64Reference() throws {
        let model = try model(layers: 2)
        let objective = try PermutationLanguageModeling(model: model, maskTokenID: 3)
        let ids: [Int32] = [4, 10, 11, 12, 13, 5]
        let instance = PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: 6), isSpecial: [true, false, false, false, false, true],
                                           wordStarts: [Bool](repeating: true, count: 6))
        let masked = MaskedInstance(inputIDs: ids, positions: [1, 2, 4], labels: [10, 11, 13], order: [-1, 2, 0, -1, 1, -1])
        let batch = PretrainingBatch([(instance, masked)], length: 6, padID: 0)
        let masks = try XCTUnwrap(batch.permutation)
        let tape = Tape()
        let pass = ForwardPass(batch: batch, tape: tape, training: false, random: RandomGenerator(seed: 1), model: model, rowsRead: nil)
        var stats = ObjectiveStatistics()
        let loss = try XCTUnwrap(try objective.loss(pass, normalizers: [3], statistics: &stats))
        try tape.backward(loss)

        let parameters = model.parameters
        var offsets: [ObjectIdentifier: Int] = [:], flat: [Double] = []
        for p in parameters { offsets[ObjectIdentifier(p)] = flat.count; flat += p.value.scalars.map(Double.init) }
        let reference = { (x: [Double]) in self.referenceLoss(model, flat: x, offsets: offsets, ids: ids, masks: masks, labels: batch.labels, maskID: 3) }
        XCTAssertEqual(Double(loss.value.scalar), reference(flat), accuracy: 1e-5 * max(1, reference(flat)))

        var worst = (error: 0.0, name: "")
        for p in parameters {
            let o = offsets[ObjectIdentifier(p)]!
            let analytic = p.gradient.scalars.map(Double.init)
            var x = flat, diff = 0.0, scale = 1e-2
            for j in 0..<p.value.count {
                let saved = x[o + j]
                x[o + j] = saved + 1e-5; let plus = reference(x)
                x[o + j] = saved - 1e-5; let minus = reference(x)
                x[o + j] = saved
                let numeric = (plus - minus) / 2e-5
                diff = max(diff, abs(numeric - analytic[j]))
                scale = max(scale, abs(numeric))
            }
            if diff / scale > worst.error { worst = (diff / scale, p.name) }
        }
        XCTAssertLessThan(worst.error, 2e-3, "worst relative gradient error at \(worst.name)")
    }
}
