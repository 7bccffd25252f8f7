import XCTest
import Foundation
import Models
import PretrainingData
import SafeTensors
@testable import Training

/// Two CLM training steps of a whole GPT2LMHeadModel against transformers + torch.optim.AdamW
/// (scripts/fixtures/make_gpt2_fixtures.py): losses, every first-step gradient, every parameter
/// after the second step — by state-dict name, `Conv1D` weights compared in the file's (in, out) layout.
final class CLMStepGoldenTests: XCTestCase {
    struct Expected: Decodable {
        let input_ids: [[Int32]], attention_mask: [[Int]], losses: [Double], parameters: [String]
        let lr, beta1, beta2, eps, weight_decay: Float
    }

    func testTwoStepsMatchTransformersAndTorchAdamW() throws {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("clm-step")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let model = try PretrainingModel.load(folder: folder)
        let objectives = try PretrainingObjectives(model: model, objectives: [try CausalLanguageModeling(model: model)])
        XCTAssertEqual(Set(objectives.parameters.map(\.name)), Set(expected.parameters))

        let eot = Int32(model.config.padTokenId)
        let items = expected.input_ids.enumerated().map { row, ids -> (instance: PretrainingInstance, masked: MaskedInstance) in
            let n = expected.attention_mask[row].reduce(0, +)
            let tokens = Array(ids[..<n])
            return (PretrainingInstance(ids: tokens, tokenTypes: [Int32](repeating: 0, count: n), isSpecial: [Bool](repeating: false, count: n),
                                        wordStarts: [Bool](repeating: true, count: n)),
                    MaskedInstance(inputIDs: tokens, positions: [], labels: []))
        }
        let batch = PretrainingBatch(items, length: expected.input_ids[0].count, padID: eot)
        XCTAssertEqual(batch.input.ids, expected.input_ids.flatMap { $0 }, "padded with end-of-text, as the fixture")
        let normalizers = objectives.normalizers(for: [batch])
        let predictions = expected.attention_mask.reduce(0) { $0 + $1.reduce(0, +) - 1 }
        XCTAssertEqual(normalizers, [[predictions]], "every real token but each row's first is a target")
        let optimizer = AdamW(parameters: objectives.parameters, beta1: expected.beta1, beta2: expected.beta2, eps: expected.eps,
                              weightDecay: expected.weight_decay)
        let gradients = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("gradients.safetensors"))
        let layout = CheckpointLayout.of(.gpt2)
        func fileLayout(_ t: Tensor, _ name: String) -> [Float] { layout.storesTransposed(name) ? t.transposed2D().scalars : t.scalars }
        /// The key third of `c_attn.bias` shifts every score of a query equally: softmax cancels it,
        /// its true gradient is 0 and both sides hold rounding noise (see MLMStepGoldenTests).
        func withoutKeyBias(_ values: [Float], _ name: String) -> [Float] {
            guard name.hasSuffix("c_attn.bias") else { return values }
            let h = values.count / 3
            return Array(values[..<h] + values[(2 * h)...])
        }

        for step in 0..<2 {
            let tape = Tape()
            var random = RandomGenerator(seed: 0)
            let (loss, stats) = try objectives.loss(batch, normalizers: normalizers, training: true, tape: tape, random: &random)
            XCTAssertEqual(Double(loss.value.scalar), expected.losses[step], accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(stats.mean("clm_loss")), expected.losses[step], accuracy: 1e-5)
            try tape.backward(loss)
            if step == 0 {
                for p in objectives.parameters {
                    let reference = try gradients.floats(p.name)
                    XCTAssertLessThan(relativeError(withoutKeyBias(fileLayout(p.gradient, p.name), p.name), withoutKeyBias(reference, p.name)),
                                      1e-4, p.name)
                }
            }
            optimizer.step(lr: expected.lr)
            objectives.zeroGradients()
        }
        let after = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("after.safetensors"))
        for p in objectives.parameters {
            XCTAssertLessThan(relativeError(withoutKeyBias(fileLayout(p.value, p.name), p.name), withoutKeyBias(try after.floats(p.name), p.name)),
                              2e-4, p.name)
        }
    }

    /// The CLM targets: the next token wherever it is real; padding and each row's last position are ignored.
    func testNextTokenTargetsSkipPaddingAndTheLastPosition() {
        let input = EncoderInput(ids: [5, 6, 7, 8, 9, 4, 0, 0], attentionMask: [1, 1, 1, 1, 1, 1, 0, 0], batch: 2, length: 4)
        let (targets, count) = CausalLanguageModeling.nextTokenTargets(input)
        let ignored = PretrainingBatch.ignoredLabel
        XCTAssertEqual(targets, [6, 7, 8, ignored, 4, ignored, ignored, ignored])
        XCTAssertEqual(count, 4)
        XCTAssertEqual(CausalLanguageModeling.nextTokenTargets(EncoderInput(ids: [1, 2, 3], batch: 1, length: 3)).targets, [2, 3, ignored])
    }
}
