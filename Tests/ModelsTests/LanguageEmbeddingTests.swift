import Foundation
import XCTest
@testable import Models

/// XLM's language embeddings (`n_langs`): a row per language added with the token, position and
/// segment rows before the LayerNorm, ids carried on the input.
final class LanguageEmbeddingTests: XCTestCase {
    func config(languages: Int) -> EncoderConfiguration {
        var c = EncoderConfiguration(vocabSize: 30, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32,
                                     hiddenDropout: 0, attentionDropout: 0, maxPositions: 12)
        c.languages = languages
        return c
    }

    func testALanguageRowIsAddedLikeAnyOtherRow() throws {
        let model = try PretrainingModel(config: config(languages: 2), heads: [.maskedLM], seed: 3)
        let embeddings = model.encoder.embeddings
        let table = try XCTUnwrap(embeddings.languages).weight.value
        XCTAssertEqual(table.shape, [2, 16])
        let e = 16
        (table.data).update(repeating: 0, count: e)           // language 0: nothing added
        let row1 = Array(UnsafeBufferPointer(start: table.data + e, count: e))
        let ids: [Int32] = [2, 7, 9, 3, 2, 5, 3, 0]
        let spanish = EncoderInput(ids: ids, languages: [Int32](repeating: 1, count: 8), batch: 2, length: 4)
        let withLanguage = try embeddings(spanish, training: false, tape: Tape(recording: false)).value.scalars
        // The same sum with language 1's row moved into every position row instead.
        let positions = embeddings.positions.weight.value
        for p in 0..<positions.shape[0] { for j in 0..<e { positions.data[p * e + j] += row1[j] } }
        let moved = try embeddings(EncoderInput(ids: ids, batch: 2, length: 4), training: false, tape: Tape(recording: false)).value.scalars
        XCTAssertEqual(withLanguage.count, moved.count)
        for (a, b) in zip(withLanguage, moved) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertGreaterThan(row1.map(abs).max()!, 0)
    }

    func testLanguagesSaveLoadAndCount() throws {
        let model = try PretrainingModel(config: config(languages: 3), heads: [.maskedLM], seed: 4)
        XCTAssertEqual(ParameterCount(config: model.config, heads: [.maskedLM]).total, model.parameterCount)
        XCTAssertTrue(model.parameters.contains { $0.name == "bert.embeddings.language_embeddings.weight" })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("langs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.save(folder: folder)
        XCTAssertTrue(try String(contentsOf: folder.appendingPathComponent("config.json"), encoding: .utf8).contains("\"n_langs\": 3"))
        let loaded = try PretrainingModel.load(folder: folder)
        XCTAssertEqual(loaded.config.languages, 3)
        XCTAssertEqual(try XCTUnwrap(loaded.encoder.embeddings.languages).weight.value.scalars,
                       try XCTUnwrap(model.encoder.embeddings.languages).weight.value.scalars)
        // Without n_langs nothing changes: no table, the same initial weights as before.
        let plain = try PretrainingModel(config: config(languages: 0), heads: [.maskedLM], seed: 4)
        XCTAssertNil(plain.encoder.embeddings.languages)
        XCTAssertEqual(plain.encoder.embeddings.words.weight.value.scalars, model.encoder.embeddings.words.weight.value.scalars)
    }

    func testBadLanguageIdsAreNamed() throws {
        let model = try PretrainingModel(config: config(languages: 2), heads: [], seed: 1)
        let tape = Tape(recording: false)
        XCTAssertThrowsError(try model.encoder(EncoderInput(ids: [2, 3], languages: [0, 2], batch: 1, length: 2), training: false, tape: tape)) { error in
            XCTAssertTrue("\(error)".contains("outside the model's 2 languages"), "\(error)")
        }
        XCTAssertThrowsError(try model.encoder(EncoderInput(ids: [2, 3], languages: [0], batch: 1, length: 2), training: false, tape: tape)) { error in
            XCTAssertEqual(error as? ModelError, .inputShape("1 language ids for 2 ids"))
        }
        var bad = config(languages: -1)
        bad.languages = -1
        XCTAssertThrowsError(try bad.validate())
    }
}
