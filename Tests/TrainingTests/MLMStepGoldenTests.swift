import XCTest
import Foundation
import Models
import PretrainingData
import SafeTensors
@testable import Training

/// Two MLM+NSP training steps of a whole BertForPreTraining against transformers + torch.optim.AdamW
/// (scripts/fixtures/make_training_fixtures.py): losses, every first-step gradient, every parameter
/// after the second step.
final class MLMStepGoldenTests: XCTestCase {
    struct Expected: Decodable {
        struct Step: Decodable { let loss, mlm, nsp: Double }
        let input_ids: [[Int32]], attention_mask: [[Int]], token_type_ids: [[Int32]], masked: [[Int]]
        let mlm_labels: [Int32], nsp_labels: [Int32], steps: [Step]
        let lr, weight_decay, eps: Float
    }

    func testTwoStepsMatchTransformersAndTorchAdamW() throws {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("mlm-step")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let model = try PretrainingModel.load(folder: folder)
        let objectives = try PretrainingObjectives(model: model, objectives: [try MaskedLanguageModeling(model: model),
                                                                             try SentencePairPrediction(task: .nsp, model: model)])

        var items: [(instance: PretrainingInstance, masked: MaskedInstance)] = []
        for (row, ids) in expected.input_ids.enumerated() {
            let n = expected.attention_mask[row].reduce(0, +)
            let picks = expected.masked.enumerated().filter { $0.element[0] == row }
            let instance = PretrainingInstance(ids: Array(ids[..<n]), tokenTypes: Array(expected.token_type_ids[row][..<n]),
                                               isSpecial: [Bool](repeating: false, count: n), wordStarts: [Bool](repeating: true, count: n),
                                               sentenceLabel: expected.nsp_labels[row])
            let masked = MaskedInstance(inputIDs: Array(ids[..<n]), positions: picks.map { Int32($0.element[1]) },
                                        labels: picks.map { expected.mlm_labels[$0.offset] })
            items.append((instance, masked))
        }
        let batch = PretrainingBatch(items, length: expected.input_ids[0].count, padID: 0)
        let normalizers = objectives.normalizers(for: [batch])
        let optimizer = AdamW(parameters: objectives.parameters, eps: expected.eps, weightDecay: expected.weight_decay)
        let gradients = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("gradients.safetensors"))

        for step in 0..<2 {
            let tape = Tape()
            var random = RandomGenerator(seed: 0)
            let (loss, stats) = try objectives.loss(batch, normalizers: normalizers, training: false, tape: tape, random: &random)
            XCTAssertEqual(Double(loss.value.scalar), expected.steps[step].loss, accuracy: 1e-5)
            XCTAssertEqual(stats.loss, expected.steps[step].loss, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(stats.mean("mlm_loss")), expected.steps[step].mlm, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(stats.mean("nsp_loss")), expected.steps[step].nsp, accuracy: 1e-5)
            try tape.backward(loss)
            if step == 0 {
                XCTAssertEqual(Set(gradients.names), Set(objectives.parameters.map(\.name)))
                for p in objectives.parameters {
                    let reference = try gradients.floats(p.name)
                    XCTAssertLessThan(relativeError(p.gradient.scalars, reference), 1e-4, p.name)
                }
            }
            optimizer.step(lr: expected.lr)
            objectives.zeroGradients()
        }
        let after = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("after.safetensors"))
        for p in objectives.parameters {
            if p.name.hasSuffix("attention.self.key.bias") {
                // The key bias shifts every score of a query equally, so softmax cancels it: its true
                // gradient is 0 and both sides hold only rounding noise, which Adam scales up to ±lr.
                XCTAssertLessThan(try gradients.floats(p.name).map(abs).max()!, 1e-6, p.name)
                continue
            }
            // Adam divides by √v: small gradients' rounding differences become relative ones.
            XCTAssertLessThan(relativeError(p.value.scalars, try after.floats(p.name)), 2e-4, p.name)
        }
    }
}

/// max |a − b| over the largest |b| (floored at 10⁻⁶): the golden tests' tolerance measure.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var diff = 0.0, scale = 1e-6
    for (x, y) in zip(a, b) { diff = max(diff, Double(abs(x - y))); scale = max(scale, Double(abs(y))) }
    return diff / scale
}
