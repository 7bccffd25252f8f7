import XCTest
import Foundation
import Models
import Optimizers
import PretrainingData
import SafeTensors
@testable import Training

/// DistilBERT's distillation step against transformers + torch (scripts/fixtures/make_distillation_fixtures.py):
/// the student made from a BertForMaskedLM teacher's layers [0, 2] equals extract_distilbert.py's,
/// the three losses equal distiller.py's, every student gradient and the parameters after AdamW
/// match; the teacher's parameters and optimizer state never change.
final class DistillationGoldenTests: XCTestCase {
    struct Expected: Decodable {
        let input_ids: [[Int32]], original_ids: [[Int32]], attention_mask: [[Int]], masked: [[Int]]
        let loss, loss_ce, loss_mlm, loss_cos, loss_ce_masked, teacher_agreement: Double
        let temperature: Float
        let student_layers: [Int]
        let lr, eps, weight_decay: Float
    }

    static var folder: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("distillation-step") }

    func load() throws -> (Expected, PretrainingModel, PretrainingModel, PretrainingBatch) {
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.folder.appendingPathComponent("expected.json")))
        let teacher = try PretrainingModel.load(folder: Self.folder.appendingPathComponent("teacher"), heads: [.maskedLM])
        let student = try teacher.student(layers: e.student_layers)
        var items: [(instance: PretrainingInstance, masked: MaskedInstance)] = []
        for (row, ids) in e.original_ids.enumerated() {
            let n = e.attention_mask[row].reduce(0, +)
            let picks = e.masked.filter { $0[0] == row }
            let instance = PretrainingInstance(ids: Array(ids[..<n]), tokenTypes: [Int32](repeating: 0, count: n),
                                               isSpecial: [Bool](repeating: false, count: n), wordStarts: [Bool](repeating: true, count: n))
            items.append((instance, MaskedInstance(inputIDs: Array(e.input_ids[row][..<n]), positions: picks.map { Int32($0[1]) },
                                                   labels: picks.map { ids[$0[1]] })))
        }
        return (e, teacher, student, PretrainingBatch(items, length: e.input_ids[0].count, padID: 0))
    }

    func testStudentIsTheReferenceExtraction() throws {
        let (_, teacher, student, _) = try load()
        XCTAssertEqual(student.config.family, .distilbert)
        XCTAssertEqual(student.config.layers, 2)
        XCTAssertEqual(student.config.typeVocabSize, 0)
        XCTAssertEqual(student.architecture, "DistilBertForMaskedLM")
        let reference = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent("student.safetensors"))
        XCTAssertEqual(Set(student.parameters.map(\.name)), Set(reference.names))
        for p in student.parameters { XCTAssertEqual(p.value.scalars, try reference.floats(p.name), p.name) }
        XCTAssertThrowsError(try teacher.student(layers: [0, 4])) { XCTAssertTrue("\($0)".contains("0…3"), "\($0)") }
        XCTAssertEqual(PretrainingModel.defaultStudentLayers(teacherLayers: 12), [0, 2, 4, 7, 9, 11])
        XCTAssertEqual(PretrainingModel.defaultStudentLayers(teacherLayers: 6), [0, 2, 4])
    }

    func testOneStepMatchesDistillerAndAdamW() throws {
        let (e, teacher, student, batch) = try load()
        let kd = try KnowledgeDistillation(teacher: teacher, student: student, temperature: e.temperature)
        let objectives = try PretrainingObjectives(model: student, objectives: [kd])
        let teacherIDs = Set(teacher.parameters.map(ObjectIdentifier.init))
        XCTAssertTrue(objectives.parameters.allSatisfy { !teacherIDs.contains(ObjectIdentifier($0)) }, "no teacher tensor is trained")
        let teacherBefore = teacher.parameters.map(\.value.scalars)
        let normalizers = objectives.normalizers(for: [batch])
        XCTAssertEqual(normalizers, [[15, 5]], "15 non-pad tokens, 5 masked positions")

        let tape = Tape()
        let (loss, stats) = try objectives.loss(batch, normalizers: normalizers, training: true, tape: tape, random: &Self.unusedDraws)
        XCTAssertEqual(Double(loss.value.scalar), e.loss, accuracy: 1e-4 * e.loss)
        XCTAssertEqual(try XCTUnwrap(stats.mean("distill_ce_loss")), e.loss_ce, accuracy: 1e-5 * max(1, e.loss_ce))
        XCTAssertEqual(try XCTUnwrap(stats.mean("mlm_loss")), e.loss_mlm, accuracy: 1e-5 * e.loss_mlm)
        XCTAssertEqual(try XCTUnwrap(stats.mean("cos_loss")), e.loss_cos, accuracy: 1e-5)
        XCTAssertEqual(try XCTUnwrap(stats.mean("teacher_agreement")), e.teacher_agreement, accuracy: 1e-12)
        try tape.backward(loss)
        let gradients = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent("gradients.safetensors"))
        XCTAssertEqual(Set(gradients.names), Set(objectives.parameters.map(\.name)))
        for p in objectives.parameters {
            if p.name.hasSuffix("attention.k_lin.bias") {
                // Softmax is shift-invariant along the keys: the true gradient is 0 and both sides hold rounding noise.
                XCTAssertLessThan(p.gradient.scalars.map(abs).max() ?? 0, 1e-5, p.name)
                continue
            }
            XCTAssertLessThan(relativeError(p.gradient.scalars, try gradients.floats(p.name)), 1e-4, p.name)
        }
        let optimizer = AdamW(parameters: objectives.parameters, eps: e.eps, weightDecay: e.weight_decay)
        optimizer.step(lr: e.lr)
        let after = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent("after.safetensors"))
        for p in objectives.parameters {
            if p.name.hasSuffix("attention.k_lin.bias") { continue }  // true gradient 0: both sides hold rounding noise (see MLMStepGoldenTests)
            XCTAssertLessThan(relativeError(p.value.scalars, try after.floats(p.name)), 2e-4, p.name)
        }
        XCTAssertEqual(teacher.parameters.map(\.value.scalars), teacherBefore, "the teacher never changes")
        XCTAssertTrue(teacher.parameters.allSatisfy { $0.gradient.scalars.allSatisfy { $0 == 0 } }, "nor gets a gradient")
    }

    /// distiller.py's --restrict_ce_to_mask: the soft targets on the masked positions only.
    func testSoftTargetsOnTheMaskedPositions() throws {
        let (e, teacher, student, batch) = try load()
        let kd = try KnowledgeDistillation(teacher: teacher, student: student, temperature: e.temperature, softRows: .masked)
        let objectives = try PretrainingObjectives(model: student, objectives: [kd])
        let (_, stats) = try objectives.loss(batch, normalizers: objectives.normalizers(for: [batch]), training: false, tape: Tape(),
                                             random: &Self.unusedDraws)
        XCTAssertEqual(try XCTUnwrap(stats.mean("distill_ce_loss")), e.loss_ce_masked, accuracy: 1e-5 * max(1, e.loss_ce_masked))
    }

    nonisolated(unsafe) static var unusedDraws = RandomGenerator(seed: 0)
}
