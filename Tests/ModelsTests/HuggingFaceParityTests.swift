import XCTest
import Foundation
@testable import Models
import SafeTensors

/// Tiny random models created and saved by transformers (scripts/fixtures/make_model_fixtures.py)
/// load here strictly and give the same outputs.
final class HuggingFaceParityTests: XCTestCase {
    struct Expected: Decodable {
        struct Output: Decodable { let shape: [Int]; let values: [Double] }
        let ids: [[Int32]]
        let attention_mask: [[Float]]
        let token_type_ids: [[Int32]]?
        let architecture: String
        let outputs: [String: Output]
    }

    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    /// max|ours − ref| / max(max|ref|, 1e-3)
    static func relativeError(_ ours: [Float], _ ref: [Double]) -> Double {
        var diff = 0.0, scale = 1e-3
        for (a, b) in zip(ours, ref) { diff = max(diff, abs(Double(a) - b)); scale = max(scale, abs(b)) }
        return ours.count == ref.count ? diff / scale : .infinity
    }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = Self.fixture(name)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let model = try PretrainingModel.load(folder: folder)
        XCTAssertEqual(model.architecture, expected.architecture, file: file, line: line)
        let (b, t) = (expected.ids.count, expected.ids[0].count)
        let input = EncoderInput(ids: expected.ids.flatMap { $0 }, tokenTypes: expected.token_type_ids?.flatMap { $0 },
                                 attentionMask: expected.attention_mask.flatMap { $0 }, batch: b, length: t)
        let tape = Tape(recording: false)
        let out = try model.encoder(input, training: false, tape: tape)
        var ours: [String: Tensor] = ["hidden": out.hidden.value]
        if let head = model.maskedLM {
            ours["mlm_logits"] = try head(out.hidden, positions: (0..<Int32(b * t)).map { $0 }, tape: tape).value
        }
        if let head = model.sentencePair, let pooled = out.pooled {
            ours[model.config.family == .albert ? "sop_logits" : "nsp_logits"] = head(pooled, tape: tape).value
        }
        if let head = model.replacedToken { ours["rtd_logits"] = head(out.hidden, tape: tape).value }
        if let head = model.causalLM { ours["logits"] = try head(out.hidden, positions: (0..<Int32(b * t)).map { $0 }, tape: tape).value }
        XCTAssertEqual(Set(ours.keys), Set(expected.outputs.keys), "\(name): outputs compared", file: file, line: line)
        for (key, ref) in expected.outputs {
            guard let value = ours[key] else { continue }
            XCTAssertEqual(value.count, ref.values.count, "\(name).\(key) size", file: file, line: line)
            let err = Self.relativeError(value.scalars, ref.values)
            XCTAssertLessThanOrEqual(err, 1e-4, "\(name).\(key): relative error \(err)", file: file, line: line)
        }
    }

    func testBERTForPreTraining() throws { try check("bert") }
    func testRoBERTaPositionIdsFromPaddingIndex() throws { try check("roberta") }
    func testALBERTFactorisedEmbeddingsAndGroupedSharing() throws { try check("albert") }
    func testELECTRADiscriminator() throws { try check("electra-discriminator") }
    func testELECTRAGenerator() throws { try check("electra-generator") }
    func testDistilBERT() throws { try check("distilbert") }

    /// Folders written by `pretrain init` load in transformers with no missing or unexpected keys
    /// and give the same outputs there (scripts/fixtures/check_saved_models.py recorded them).
    func testModelsSavedHereGiveTheSameOutputsInTransformers() throws {
        for name in ["bert", "roberta", "albert", "electra", "distilbert", "gpt2"] {
            let folder = Self.fixture("saved-by-us/\(name)")
            struct Info: Decodable { let loading_info: [String: [String]] }
            let info = try JSONDecoder().decode(Info.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
            XCTAssertEqual(info.loading_info["missing_keys"], [], name)
            XCTAssertEqual(info.loading_info["unexpected_keys"], [], name)
            try check("saved-by-us/\(name)")
        }
    }

    func testALBERTFixtureReallySharesLayers() throws {
        let model = try PretrainingModel.load(folder: Self.fixture("albert"))
        XCTAssertEqual(model.encoder.layers.count, 8, "4 layers × 2 inner layers")
        XCTAssertTrue(model.encoder.layers[0] === model.encoder.layers[2], "layers 0 and 1 both run group 0")
        XCTAssertFalse(model.encoder.layers[0] === model.encoder.layers[4])
    }

    /// all-MiniLM-L6-v2 (installed by scripts/setup.sh) gives sentence-transformers' embeddings.
    func testMiniLMSentenceEmbeddingsMatchSentenceTransformers() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../data/minilm").standardized
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) else {
            XCTFail("data/minilm is missing: run `bash scripts/setup.sh` (make test does) to fetch all-MiniLM-L6-v2")
            return
        }
        struct Reference: Decodable { let sentences: [String]; let input_ids: [[Int32]]; let embeddings: [[Double]] }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.fixture("minilm_embeddings.json")))
        let model = try PretrainingModel.load(folder: folder)
        XCTAssertEqual(model.architecture, "BertModel")
        let pooling = try SentencePooling.load(folder: folder)
        XCTAssertEqual(pooling, SentencePooling(mode: .mean, normalize: true, maxSequenceLength: 256))
        // One padded batch, as sentence-transformers encodes.
        let length = reference.input_ids.map(\.count).max()!
        var ids: [Int32] = [], mask: [Float] = []
        for row in reference.input_ids {
            ids += row + [Int32](repeating: 0, count: length - row.count)
            mask += [Float](repeating: 1, count: row.count) + [Float](repeating: 0, count: length - row.count)
        }
        let input = EncoderInput(ids: ids, attentionMask: mask, batch: reference.input_ids.count, length: length)
        let hidden = try model.encoder(input, training: false, tape: Tape(recording: false)).hidden.value
        let vectors = pooling.pool(hidden: hidden, mask: Tensor(mask, shape: [input.batch, length]))
        for (i, ref) in reference.embeddings.enumerated() {
            let ours = Array(vectors[i * 384..<(i + 1) * 384])
            let worst = zip(ours, ref).map { abs(Double($0) - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-5, "sentence \(i) '\(reference.sentences[i])': max abs difference \(worst)")
        }
        XCTAssertEqual(Array(vectors.prefix(4)).map { ($0 * 1e6).rounded() / 1e6 }, [0.043934, 0.058934, 0.048178, 0.077548],
                       "DATA.md's reference values for the first sentence")
    }
}
