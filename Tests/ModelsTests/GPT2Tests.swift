import XCTest
import Foundation
@testable import Models
import SafeTensors

/// GPT-2 both ways against a tiny random `GPT2LMHeadModel` made and saved by transformers
/// (scripts/fixtures/make_gpt2_fixtures.py).
final class GPT2Tests: XCTestCase {
    struct Expected: Decodable {
        struct Output: Decodable { let shape: [Int]; let values: [Double] }
        let ids: [[Int32]]
        let attention_mask: [[Float]]
        let outputs: [String: Output]
    }

    static let folder = HuggingFaceParityTests.fixture("gpt2")

    /// Hidden states after `ln_f` and logits at every position of a right-padded batch.
    func outputs(_ model: PretrainingModel, _ expected: Expected) throws -> [String: Tensor] {
        let (b, t) = (expected.ids.count, expected.ids[0].count)
        let input = EncoderInput(ids: expected.ids.flatMap { $0 }, attentionMask: expected.attention_mask.flatMap { $0 }, batch: b, length: t)
        let tape = Tape(recording: false)
        let hidden = try model.encoder(input, training: false, tape: tape).hidden
        let logits = try XCTUnwrap(model.causalLM)(hidden, positions: (0..<Int32(b * t)).map { $0 }, tape: tape)
        return ["hidden": hidden.value, "logits": logits.value]
    }

    func check(_ model: PretrainingModel, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.folder.appendingPathComponent("expected.json")))
        let ours = try outputs(model, expected)
        for (key, ref) in expected.outputs {
            let value = try XCTUnwrap(ours[key], key)
            XCTAssertEqual(value.count, ref.values.count, key, file: file, line: line)
            let err = HuggingFaceParityTests.relativeError(value.scalars, ref.values)
            XCTAssertLessThanOrEqual(err, 1e-4, "\(key): relative error \(err)", file: file, line: line)
        }
    }

    func testTransformersGPT2LoadsStrictlyAndGivesItsLogits() throws {
        let model = try PretrainingModel.load(folder: Self.folder)
        XCTAssertEqual(model.architecture, "GPT2LMHeadModel")
        XCTAssertEqual(model.heads, [.causalLM])
        XCTAssertTrue(model.config.causal)
        XCTAssertNil(model.encoder.embeddings.norm, "GPT-2 has no embedding LayerNorm")
        XCTAssertEqual(model.encoder.finalNorm?.weight.name, "transformer.ln_f.weight")
        XCTAssertEqual(model.encoder.layers[0].attention.queryKeyValue.map(\.weight.name), ["transformer.h.0.attn.c_attn.weight"])
        try check(model)
    }

    /// Files from before transformers 4 have no `transformer.` prefix and hold causal-mask buffers.
    func testOldFilesWithoutPrefixAndWithMaskBuffersLoadTheSameWeights() throws {
        let old = try PretrainingModel.load(folder: HuggingFaceParityTests.fixture("gpt2-legacy"))
        let new = try PretrainingModel.load(folder: Self.folder)
        for (a, b) in zip(old.parameters, new.parameters) { XCTAssertEqual(a.value.scalars, b.value.scalars, a.name) }
        try check(old)
    }

    /// Saving what was loaded writes transformers' own file back: the same tensor names, shapes
    /// (`Conv1D` weights (in, out)) and values, the tied `lm_head.weight` left out, and the same
    /// config.json bytes — so a folder written here loads in transformers as one written there.
    func testSavingGivesBackTheFileTransformersWrote() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        try PretrainingModel.load(folder: Self.folder).save(folder: out, extras: try ConfigFile.load(from: Self.folder.appendingPathComponent("config.json")).extras)
        let theirs = try SafeTensorsFile(contentsOf: Self.folder.appendingPathComponent("model.safetensors"))
        let ours = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(ours.names), Set(theirs.names))
        XCTAssertFalse(ours.names.contains("lm_head.weight"))
        for name in theirs.names {
            XCTAssertEqual(try ours.info(name).shape, try theirs.info(name).shape, name)
            XCTAssertEqual(try ours.floats(name), try theirs.floats(name), name)
        }
        XCTAssertEqual(try ours.info("transformer.h.0.attn.c_attn.weight").shape, [32, 96], "Conv1D: (in, out)")
        XCTAssertEqual(String(decoding: try Data(contentsOf: out.appendingPathComponent("config.json")), as: UTF8.self),
                       String(decoding: try Data(contentsOf: Self.folder.appendingPathComponent("config.json")), as: UTF8.self))
    }

    /// A random model here is GPT-2's initialisation: N(0, 0.02) weights, each residual output
    /// projection (`c_proj`) N(0, 0.02/√(2·layers)), zero biases, unit LayerNorms.
    func testInitialisationScalesTheResidualProjections() throws {
        var c = try EncoderConfiguration.preset("gpt2-mini")
        c.vocabSize = 2000
        let model = try PretrainingModel(config: c, heads: [.causalLM], seed: 3)
        func std(_ p: Parameter) -> Double {
            let x = p.value.scalars.map(Double.init)
            let mean = x.reduce(0, +) / Double(x.count)
            return (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)).squareRoot()
        }
        for p in model.parameters {
            if p.name.hasSuffix("c_proj.weight") {
                XCTAssertEqual(std(p), 0.02 / 8.0.squareRoot(), accuracy: 0.0005, p.name)
            } else if p.name.hasSuffix(".weight") && p.value.rank == 2 {
                XCTAssertEqual(std(p), 0.02, accuracy: 0.0005, p.name)
            } else if p.name.contains("ln_") && p.name.hasSuffix(".weight") {
                XCTAssertEqual(Set(p.value.scalars), [1], p.name)
            } else {
                XCTAssertEqual(Set(p.value.scalars), [0], p.name)
            }
        }
    }

    func testConfigDefaultsAndRefusedVariants() throws {
        XCTAssertEqual(try ConfigFile.parse(Data(#"{"model_type": "gpt2"}"#.utf8)).encoder, try EncoderConfiguration.preset("gpt2"),
                       "GPT2Config() is the 124M model")
        for (key, value) in [("scale_attn_weights", "false"), ("scale_attn_by_inverse_layer_idx", "true"), ("add_cross_attention", "true")] {
            XCTAssertThrowsError(try ConfigFile.parse(Data(#"{"model_type": "gpt2", "\#(key)": \#(value)}"#.utf8))) {
                XCTAssertTrue("\($0)".contains(key), "\($0)")
            }
        }
        var c = try EncoderConfiguration.preset("gpt2-tiny")
        c.causal = false
        XCTAssertThrowsError(try PretrainingModel(config: c, heads: [.causalLM])) { XCTAssertTrue("\($0)".contains("causal"), "\($0)") }
        XCTAssertThrowsError(try PretrainingModel(config: try EncoderConfiguration.preset("gpt2-tiny"), heads: [.maskedLM])) {
            XCTAssertTrue("\($0)".contains("no masked-LM head"), "\($0)")
        }
    }
}
