import XCTest
import Foundation
import Models
import PretrainingData
import SafeTensors
@testable import Training

/// Two joint ELECTRA steps against transformers' ElectraForMaskedLM + ElectraForPreTraining sharing
/// their embeddings, with the same fed-in replacements, and torch.optim.AdamW
/// (scripts/fixtures/make_electra_fixtures.py): both losses, every first-step gradient (the shared
/// tables get both networks' gradients), every parameter after the second step.
final class ElectraStepGoldenTests: XCTestCase {
    struct Expected: Decodable {
        struct Step: Decodable { let loss, mlm, rtd: Double }
        let input_ids: [[Int32]], original_ids: [[Int32]], attention_mask: [[Int]], token_type_ids: [[Int32]], masked: [[Int]]
        let replacements: [Int32], discriminator_labels: [[Int]], steps: [Step]
        let lr, weight_decay, eps: Float
        let disc_weight: Double
    }

    static var folder: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("electra-step") }

    /// The fixture's batch, as the trainer collates it.
    static func batch(_ e: Expected) -> PretrainingBatch {
        var items: [(instance: PretrainingInstance, masked: MaskedInstance)] = []
        for (row, ids) in e.original_ids.enumerated() {
            let n = e.attention_mask[row].reduce(0, +)
            let picks = e.masked.filter { $0[0] == row }
            let instance = PretrainingInstance(ids: Array(ids[..<n]), tokenTypes: Array(e.token_type_ids[row][..<n]),
                                               isSpecial: [Bool](repeating: false, count: n), wordStarts: [Bool](repeating: true, count: n))
            let masked = MaskedInstance(inputIDs: Array(e.input_ids[row][..<n]), positions: picks.map { Int32($0[1]) },
                                        labels: picks.map { ids[$0[1]] })
            items.append((instance, masked))
        }
        return PretrainingBatch(items, length: e.input_ids[0].count, padID: 0)
    }

    func testTwoJointStepsMatchTransformersAndTorchAdamW() throws {
        let folder = Self.folder
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let rtd = try ReplacedTokenDetection.load(discriminator: folder.appendingPathComponent("discriminator"),
                                                  generator: folder.appendingPathComponent("generator"), discriminatorWeight: e.disc_weight)
        XCTAssertTrue(rtd.generator.encoder.embeddings === rtd.discriminator.encoder.embeddings)
        let objectives = try PretrainingObjectives(model: nil, objectives: [rtd])
        let batch = Self.batch(e)
        let normalizers = objectives.normalizers(for: [batch])
        XCTAssertEqual(normalizers, [[5, 13]], "5 masked positions, 13 non-pad tokens")
        let optimizer = AdamW(parameters: objectives.parameters, eps: e.eps, weightDecay: e.weight_decay)
        let gradients = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("gradients.safetensors"))
        XCTAssertEqual(Set(gradients.names), Set(objectives.parameters.map(\.name)))

        for step in 0..<2 {
            let tape = Tape()
            let pass = ForwardPass(batch: batch, tape: tape, training: false, random: RandomGenerator(seed: 0), model: nil, rowsRead: nil)
            var stats = ObjectiveStatistics()
            let loss = try rtd.loss(pass, normalizers: normalizers[0], statistics: &stats, replacements: e.replacements)
            XCTAssertEqual(Double(loss.value.scalar), e.steps[step].loss, accuracy: 2e-4)
            XCTAssertEqual(try XCTUnwrap(stats.mean("generator_mlm_loss")), e.steps[step].mlm, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(stats.mean("rtd_loss")), e.steps[step].rtd, accuracy: 1e-5)
            // Two of five draws equal their original token: three replaced tokens of thirteen.
            XCTAssertEqual(try XCTUnwrap(stats.mean("replaced_fraction")), 3.0 / 13, accuracy: 1e-12)
            XCTAssertEqual(e.discriminator_labels.joined().reduce(0, +), 3)
            try tape.backward(loss)
            if step == 0 {
                for p in objectives.parameters {
                    XCTAssertLessThan(relativeError(p.gradient.scalars, try gradients.floats(p.name)), 1e-4, p.name)
                }
            }
            optimizer.step(lr: e.lr)
            objectives.zeroGradients()
        }
        let after = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("after.safetensors"))
        for p in objectives.parameters {
            if p.name.hasSuffix("attention.self.key.bias") { continue }  // true gradient 0: both sides hold rounding noise (see MLMStepGoldenTests)
            XCTAssertLessThan(relativeError(p.value.scalars, try after.floats(p.name)), 2e-4, p.name)
        }
    }
}
