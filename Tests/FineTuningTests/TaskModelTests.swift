import XCTest
import Foundation
import Models
@testable import FineTuning

/// transformers' task models (scripts/fixtures/make_finetuning_fixtures.py) load as ``TaskModel``s
/// and give the same logits; saving and loading again keeps them.
final class TaskModelTests: XCTestCase {
    struct Expected: Decodable {
        let ids: [[Int32]], attention_mask: [[Float]], token_type_ids: [[Int32]]
        let architecture: String, shape: [Int], logits: [Double]
    }

    func check(_ name: String, head: TaskModel.Head) throws {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let input = EncoderInput(ids: expected.ids.flatMap { $0 }, tokenTypes: expected.token_type_ids.flatMap { $0 },
                                 attentionMask: expected.attention_mask.flatMap { $0 }, batch: expected.ids.count, length: expected.ids[0].count)
        let choices = head == .multipleChoice ? 2 : 1
        func logits(_ model: TaskModel) throws -> Tensor {
            try model(input, choices: choices, training: false, tape: Tape(recording: false)).value
        }
        let model = try TaskModel.load(folder: folder, head: head, seed: 0)
        XCTAssertEqual(head.architecture(model.config.family), expected.architecture)
        let ours = try logits(model)
        XCTAssertEqual(ours.shape, expected.shape, name)
        var worst = 0.0
        for (a, b) in zip(ours.scalars, expected.logits) { worst = max(worst, abs(Double(a) - b) / max(1e-3, abs(b))) }
        XCTAssertLessThan(worst, 1e-4, name)

        let saved = FileManager.default.temporaryDirectory.appendingPathComponent("task-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: saved) }
        try model.save(folder: saved, labels: [])
        XCTAssertEqual(try logits(try TaskModel.load(folder: saved, head: head, seed: 9)).scalars, ours.scalars, "\(name) round trip")
    }

    func testSequenceClassification() throws { try check("sequence-classification", head: .sequenceClassification(labels: 3)) }
    func testTokenClassification() throws { try check("token-classification", head: .tokenClassification(labels: 5)) }
    func testQuestionAnswering() throws { try check("question-answering", head: .questionAnswering) }
    func testMultipleChoice() throws { try check("multiple-choice", head: .multipleChoice) }

    func testAFreshHeadIsInitialisedAndAMissingEncoderWeightIsAnError() throws {
        // A base model (no classifier in the file) gets a new, seeded head.
        let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("question-answering")
        let a = try TaskModel.load(folder: base, head: .sequenceClassification(labels: 4), seed: 1)
        let b = try TaskModel.load(folder: base, head: .sequenceClassification(labels: 4), seed: 1)
        XCTAssertEqual(a.output!.weight.value.shape, [4, 32])
        XCTAssertEqual(a.output!.weight.value.scalars, b.output!.weight.value.scalars)
        XCTAssertGreaterThan(a.output!.weight.value.scalars.map(abs).max()!, 0)
        XCTAssertThrowsError(try TaskModel.load(folder: base.appendingPathComponent("nope"), head: .questionAnswering, seed: 0))
    }
}
