import XCTest
import Foundation
@testable import Models

/// Incremental decoding with the key/value cache against transformers' `generate`
/// (scripts/fixtures/make_gpt2_fixtures.py), and the sampling rules.
final class GenerationTests: XCTestCase {
    struct Reference: Decodable {
        struct Generation: Decodable { let prompt: String; let prompt_ids: [Int32]; let ids: [Int32]; let step_logits: [[Double]]? }
        let max_new_tokens: Int
        let end_of_text: Int32
        let generations: [Generation]
    }

    let model = try! PretrainingModel.load(folder: GPT2Tests.folder)
    let reference = try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: GPT2Tests.folder.appendingPathComponent("generation.json")))

    /// Greedy continuations of prompts of different lengths, batched, equal transformers' token for
    /// token, and the first prompt's logits at every step equal the ones `generate` chose from.
    func testGreedyBatchedEqualsTransformersGenerate() throws {
        var stepLogits: [[Float]] = []
        let out = try model.generate(reference.generations.map(\.prompt_ids), options: GenerationOptions(maxNewTokens: reference.max_new_tokens)) {
            _, logits in stepLogits.append(Array(logits.scalars.prefix(logits.lastDimension)))
        }
        XCTAssertGreaterThan(Set(reference.generations.map(\.prompt_ids.count)).count, 1, "prompts of different lengths share the batch")
        for (ours, theirs) in zip(out, reference.generations) { XCTAssertEqual(ours, theirs.ids, theirs.prompt) }
        let steps = try XCTUnwrap(reference.generations[0].step_logits)
        XCTAssertEqual(stepLogits.count, steps.count)
        for (i, (ours, theirs)) in zip(stepLogits, steps).enumerated() {
            XCTAssertLessThan(HuggingFaceParityTests.relativeError(ours, theirs), 1e-4, "step \(i)")
        }
    }

    /// Each cached step equals running the whole sequence so far through the model again.
    func testCachedStepsEqualRecomputingThePrefix() throws {
        let prompt = reference.generations[1].prompt_ids
        var cached: [[Float]] = []
        let new = try model.generate([prompt], options: GenerationOptions(maxNewTokens: 6, stopToken: -1)) { _, logits in cached.append(logits.scalars) }
        XCTAssertEqual(new.count, 1)
        XCTAssertEqual(new[0].count, 6)
        for step in 0..<6 {
            let sequence = prompt + new[0].prefix(step)
            let tape = Tape(recording: false)
            let hidden = try model.encoder(EncoderInput(ids: sequence, batch: 1, length: sequence.count), training: false, tape: tape).hidden
            let full = try XCTUnwrap(model.causalLM)(hidden, positions: [Int32(sequence.count - 1)], tape: tape).value.scalars
            XCTAssertLessThan(relativeError(cached[step], full), 1e-5, "step \(step)")
        }
    }

    func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        HuggingFaceParityTests.relativeError(a, b.map(Double.init))
    }

    /// A seed gives the same text whatever the batching; another seed gives another.
    func testSamplingIsReproducibleForASeedAndIndependentOfBatching() throws {
        let prompts = reference.generations.map(\.prompt_ids)
        let sampling = GenerationOptions(maxNewTokens: 12, decoding: .sampling(temperature: 1.5, topK: 50, topP: 0.95), seed: 7, stopToken: -1)
        let all = try model.generate(prompts, options: sampling)
        XCTAssertEqual(try model.generate(prompts, options: sampling), all)
        XCTAssertEqual(try model.generate([prompts[2]], options: sampling, promptIndexOffset: 2), [all[2]])
        var other = sampling
        other.seed = 8
        XCTAssertNotEqual(try model.generate(prompts, options: other), all)
        XCTAssertNotEqual(all[0], reference.generations[0].ids, "sampling at temperature 1.5 leaves the greedy path")
    }

    func testStopsAtEndOfTextAndAtTheLastPosition() throws {
        let eot = reference.end_of_text
        // Stopping on the second greedy token: that token ends the output.
        let greedy = reference.generations[0].ids
        XCTAssertEqual(try model.generate([reference.generations[0].prompt_ids], options: GenerationOptions(maxNewTokens: 10, stopToken: greedy[1])),
                       [Array(greedy.prefix(2))])
        XCTAssertEqual(model.config.padTokenId, Int(eot))
        let long = [Int32](repeating: 5, count: model.config.maxPositions - 3)
        XCTAssertEqual(try model.generate([long], options: GenerationOptions(maxNewTokens: 10, stopToken: -1))[0].count, 3,
                       "no position past the model's last")
        XCTAssertThrowsError(try model.generate([[]], options: GenerationOptions()))
        XCTAssertThrowsError(try model.generate([long + long], options: GenerationOptions())) { XCTAssertTrue("\($0)".contains("too long") || "\($0)".contains("\(model.config.maxPositions)"), "\($0)") }
        XCTAssertThrowsError(try model.generate([[1]], options: GenerationOptions(decoding: .sampling(temperature: 0, topK: 0, topP: 1))))
        let bert = try PretrainingModel.load(folder: HuggingFaceParityTests.fixture("bert"))
        XCTAssertThrowsError(try bert.generate([[1]], options: GenerationOptions())) { XCTAssertTrue("\($0)".contains("causal LM head"), "\($0)") }
    }

    /// The warpers: top-k 1 and a tiny top-p are greedy; at temperature 1 the draws follow the softmax.
    func testSamplingFollowsTheSoftmaxAndTheWarpers() {
        let logits: [Float] = [0, 1, 2, 0.5]
        var random = RandomGenerator(seed: 1)
        logits.withUnsafeBufferPointer { l in
            for decoding in [Decoding.sampling(temperature: 1, topK: 1, topP: 1), .sampling(temperature: 1, topK: 0, topP: 0.01)] {
                XCTAssertEqual(Set((0..<200).map { _ in PretrainingModel.choose(l.baseAddress!, count: 4, decoding, &random) }), [2])
            }
            let n = 40_000
            var counts = [Int](repeating: 0, count: 4)
            for _ in 0..<n { counts[Int(PretrainingModel.choose(l.baseAddress!, count: 4, .sampling(temperature: 1, topK: 0, topP: 1), &random))] += 1 }
            let z = logits.map { exp(Double($0)) }.reduce(0, +)
            for (j, c) in counts.enumerated() {
                let p = exp(Double(logits[j])) / z
                XCTAssertEqual(Double(c) / Double(n), p, accuracy: 5 * (p * (1 - p) / Double(n)).squareRoot(), "token \(j)")
            }
            // top-k 2: only the two largest; top-p 0.7 keeps 2 (p 0.57) and 1 (0.21): 0.78 ≥ 0.7.
            let kept = Set((0..<500).map { _ in PretrainingModel.choose(l.baseAddress!, count: 4, .sampling(temperature: 1, topK: 0, topP: 0.7), &random) })
            XCTAssertEqual(kept, [1, 2])
            XCTAssertEqual(Set((0..<500).map { _ in PretrainingModel.choose(l.baseAddress!, count: 4, .sampling(temperature: 1, topK: 2, topP: 1), &random) }), [1, 2])
        }
    }

    /// The score of a text is transformers' summed next-token loss (from the fixture's logits);
    /// windows score each token from the tokens before it in its own window.
    func testScoreIsTheNegativeLogLikelihoodOfTheNextTokens() throws {
        let expected = try JSONDecoder().decode(GPT2Tests.Expected.self, from: Data(contentsOf: GPT2Tests.folder.appendingPathComponent("expected.json")))
        let real = Int(expected.attention_mask[0].reduce(0, +))
        let ids = Array(expected.ids[0].prefix(real)), logits = try XCTUnwrap(expected.outputs["logits"])
        let v = model.config.vocabSize
        var nll = 0.0
        for t in 0..<(ids.count - 1) {
            let row = logits.values[(t * v)..<((t + 1) * v)]
            let mx = row.max()!
            nll += mx + log(row.reduce(0) { $0 + exp($1 - mx) }) - row[t * v + Int(ids[t + 1])]
        }
        let whole = try model.score(ids)
        XCTAssertEqual(whole.tokens, ids.count - 1)
        XCTAssertEqual(whole.negativeLogLikelihood, nll, accuracy: 1e-4 * nll)
        XCTAssertEqual(whole.perplexity, exp(nll / Double(ids.count - 1)), accuracy: 1e-3)
        let windows = try model.score(ids, window: 5, batchSize: 2)
        let byHand = try stride(from: 0, to: ids.count, by: 5).map { try model.score(Array(ids[$0..<min(ids.count, $0 + 5)])) }
        XCTAssertEqual(windows.tokens, byHand.reduce(0) { $0 + $1.tokens })
        XCTAssertEqual(windows.negativeLogLikelihood, byHand.reduce(0) { $0 + $1.negativeLogLikelihood }, accuracy: 1e-3)
    }
}
