import Foundation
import XCTest
@testable import NN

/// Golden values for one post-LN BERT encoder layer against Hugging Face's `BertLayer`
/// (eager attention, exact GELU, dropout 0), computed in float64 by
/// `scripts/fixtures/make_engine_fixtures.py` from float32 inputs and parameters.
///
/// Tolerances: max |swift − ref| / max(max |ref|, 1) ≤ 1e-5 for the output and ≤ 1e-4 for every
/// gradient. The floor of 1 is there for `attention.self.key.bias`, whose exact gradient is 0
/// (softmax is invariant to a per-query shift of the scores), so float32 round-off is all that is
/// left; every other gradient in the fixture has max |ref| > 1, so the floor does not loosen them.
final class EncoderLayerGoldenTests: XCTestCase {
    private static let forwardTolerance: Float = 1e-5
    private static let gradientTolerance: Float = 1e-4

    private struct Fixture {
        let root: [String: Any]
        func tensor(_ key: String) throws -> Tensor { try EncoderLayerGoldenTests.decodeTensor(root[key], what: key) }
        func group(_ key: String) throws -> [String: Tensor] {
            guard let dict = root[key] as? [String: Any] else { throw FixtureError.malformed(key) }
            var out: [String: Tensor] = [:]
            for (name, value) in dict { out[name] = try EncoderLayerGoldenTests.decodeTensor(value, what: "\(key).\(name)") }
            return out
        }
        func int(_ path: String...) throws -> Int {
            var node: Any? = root
            for p in path { node = (node as? [String: Any])?[p] }
            guard let n = node as? NSNumber else { throw FixtureError.malformed(path.joined(separator: ".")) }
            return n.intValue
        }
        func double(_ path: String...) throws -> Double {
            var node: Any? = root
            for p in path { node = (node as? [String: Any])?[p] }
            guard let n = node as? NSNumber else { throw FixtureError.malformed(path.joined(separator: ".")) }
            return n.doubleValue
        }
    }

    private enum FixtureError: Error { case missing(String), malformed(String) }

    /// `{"shape": [...], "f32": base64 of little-endian float32}` → Tensor.
    private static func decodeTensor(_ node: Any?, what: String) throws -> Tensor {
        guard let dict = node as? [String: Any], let shape = dict["shape"] as? [Int],
              let b64 = dict["f32"] as? String, let data = Data(base64Encoded: b64) else {
            throw FixtureError.malformed(what)
        }
        let count = data.count / 4
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            for i in 0..<count {
                values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
        guard Tensor.elementCount(shape) == count else { throw FixtureError.malformed("\(what): shape \(shape) vs \(count) values") }
        return Tensor(values, shape: shape)
    }

    private func loadFixture() throws -> Fixture {
        guard let url = Bundle.module.url(forResource: "encoder_layer", withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError.missing("Fixtures/encoder_layer.json")
        }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let root = object as? [String: Any] else { throw FixtureError.malformed("root") }
        return Fixture(root: root)
    }

    /// max |a − b| / max(max |ref|, 1).
    private func relativeError(_ actual: Tensor, _ reference: Tensor) -> (error: Float, maxAbsDiff: Float) {
        let a = actual.scalars, r = reference.scalars
        var diff: Float = 0, scale: Float = 0
        for i in 0..<r.count {
            diff = max(diff, abs(a[i] - r[i]))
            scale = max(scale, abs(r[i]))
        }
        return (diff / max(scale, 1), diff)
    }

    @discardableResult
    private func check(_ name: String, _ actual: Tensor, _ reference: Tensor, tolerance: Float,
                       file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(actual.shape, reference.shape, "\(name): shape", file: file, line: line)
        guard actual.count == reference.count else { return .infinity }
        let (err, diff) = relativeError(actual, reference)
        XCTAssertLessThanOrEqual(err, tolerance,
                                 "\(name): max abs error \(diff), relative \(err) exceeds \(tolerance)", file: file, line: line)
        return err
    }

    /// Builds the layer with the fixture's parameters; returns it and the fixture.
    private func makeLayer(_ fx: Fixture) throws -> TransformerLayer {
        let config = TransformerLayerConfig(
            hiddenSize: try fx.int("config", "hidden_size"), heads: try fx.int("config", "num_attention_heads"),
            intermediateSize: try fx.int("config", "intermediate_size"), hiddenDropout: 0.1, attentionDropout: 0.1,
            layerNormEps: Float(try fx.double("config", "layer_norm_eps")))
        var rng = RandomGenerator(seed: 7)
        let layer = TransformerLayer("", config: config, rng: &rng)
        let params = try fx.group("parameters")
        let byName = layer.parametersByName
        XCTAssertEqual(Set(byName.keys), Set(params.keys), "parameter names differ from Hugging Face BertLayer")
        for (name, value) in params {
            guard let p = byName[name] else { throw FixtureError.missing("layer parameter \(name)") }
            XCTAssertEqual(p.shape, value.shape, "\(name): shape")
            p.load(value)
        }
        return layer
    }

    func testForwardMatchesHuggingFaceBertLayer() throws {
        let fx = try loadFixture()
        let layer = try makeLayer(fx)
        let x = try fx.tensor("input")
        let mask = try fx.tensor("attention_mask")
        let tape = Tape(recording: false)
        let out = layer(Variable(constant: x), masking: AttentionMasking(keyMask: mask), training: false, tape: tape)
        let err = check("output", out.value, try fx.tensor("output"), tolerance: Self.forwardTolerance)
        print("EncoderLayerGolden forward: output relative error \(err)")
    }

    func testGradientsMatchHuggingFaceBertLayer() throws {
        let fx = try loadFixture()
        let layer = try makeLayer(fx)
        let input = Parameter(name: "input", value: try fx.tensor("input"))
        let mask = try fx.tensor("attention_mask")
        let r = try fx.tensor("R")
        let tape = Tape()
        let out = layer(tape.parameter(input), masking: AttentionMasking(keyMask: mask), training: false, tape: tape)
        check("output (recording tape)", out.value, try fx.tensor("output"), tolerance: Self.forwardTolerance)
        let loss = tape.sum(tape.multiply(out, Variable(constant: r)))
        let refLoss = try fx.double("loss")
        XCTAssertEqual(Double(loss.value.scalar), refLoss, accuracy: 1e-5 * max(1, abs(refLoss)), "loss")
        try tape.backward(loss)

        let grads = try fx.group("gradients")
        XCTAssertEqual(grads.count, layer.parameters.count, "fixture gradient count")
        var errors: [String] = []
        for p in layer.parameters {
            guard let ref = grads[p.name] else { XCTFail("no reference gradient for \(p.name)"); continue }
            let err = check("gradient of \(p.name)", p.gradient, ref, tolerance: Self.gradientTolerance)
            errors.append("\(p.name) \(err)")
        }
        let inputErr = check("gradient of input", input.gradient, try fx.tensor("input_gradient"), tolerance: Self.gradientTolerance)
        print("EncoderLayerGolden backward relative errors: input \(inputErr); " + errors.joined(separator: "; "))
    }
}
