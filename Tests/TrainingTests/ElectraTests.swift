import XCTest
import Foundation
import Models
import PretrainingData
@testable import Training

/// ELECTRA's rules apart from the golden step: the generator's masking (85 % mask, 15 % kept, no
/// random tokens), what counts as replaced, one shared embedding module, and no gradient from
/// the discriminator into the generator through its samples.
final class ElectraTests: XCTestCase {
    func recipe() throws -> Recipe {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("recipes/electra.json").path
        return try Recipe.load(path)
    }

    func testMaskingKeepsFifteenPercentAndDrawsNoRandomTokens() throws {
        let r = try recipe()
        XCTAssertEqual(r.objectives, [.rtd])
        XCTAssertEqual(r.maskRatio, 0.85)
        XCTAssertEqual(r.randomRatio, 0)
        XCTAssertFalse(r.biasCorrection)
        let config = MaskingConfig(maskID: 4, vocabularySize: 1000, excludedFromRandom: [0, 1, 2, 3, 4], probability: r.maskProb,
                                   maskRatio: r.maskRatio, randomRatio: r.randomRatio)
        var masked = 0, kept = 0, other = 0
        for seed in 0..<200 {
            let n = 120
            let ids = (0..<n).map { $0 == 0 ? Int32(2) : $0 == n - 1 ? 3 : Int32(5 + (seed * 7 + $0 * 13) % 900) }
            let instance = PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: n),
                                               isSpecial: (0..<n).map { $0 == 0 || $0 == n - 1 }, wordStarts: [Bool](repeating: true, count: n))
            var rng = RandomGenerator(seed: UInt64(seed))
            let m = config.mask(instance, using: &rng)
            XCTAssertEqual(m.positions.count, Int((0.15 * 118).rounded()))
            XCTAssertFalse(m.positions.contains(0) || m.positions.contains(Int32(n - 1)), "never [CLS]/[SEP]")
            for (k, p) in m.positions.enumerated() {
                let input = m.inputIDs[Int(p)]
                if input == 4 { masked += 1 } else if input == m.labels[k] { kept += 1 } else { other += 1 }
            }
        }
        let total = Double(masked + kept + other)
        XCTAssertEqual(other, 0, "no random replacements")
        XCTAssertEqual(Double(kept) / total, 0.15, accuracy: 0.015)
    }

    func makeObjective(weight: Double = 50) throws -> ReplacedTokenDetection {
        let config = EncoderConfiguration(family: .electra, vocabSize: 40, hiddenSize: 16, embeddingSize: 8, layers: 2, heads: 2,
                                          intermediateSize: 32, hiddenDropout: 0, attentionDropout: 0, maxPositions: 16, pooler: false)
        return try ReplacedTokenDetection(config: config, discriminatorWeight: weight, seed: 3)
    }

    func batch() -> PretrainingBatch {
        let ids: [[Int32]] = [[2, 11, 12, 13, 14, 15, 3], [2, 21, 22, 23, 3]]
        let items = ids.map { row -> (instance: PretrainingInstance, masked: MaskedInstance) in
            let n = row.count
            var input = row
            input[2] = 4
            input[3] = 4
            return (PretrainingInstance(ids: row, tokenTypes: [Int32](repeating: 0, count: n), isSpecial: (0..<n).map { $0 == 0 || $0 == n - 1 },
                                        wordStarts: [Bool](repeating: true, count: n)),
                    MaskedInstance(inputIDs: input, positions: [2, 3], labels: [row[2], row[3]]))
        }
        return PretrainingBatch(items, length: 7, padID: 0)
    }

    func run(_ rtd: ReplacedTokenDetection, replacements: [Int32]?) throws -> (Variable, ObjectiveStatistics) {
        let b = batch()
        let objectives = try PretrainingObjectives(model: nil, objectives: [rtd])
        objectives.zeroGradients()
        let tape = Tape()
        let pass = ForwardPass(batch: b, tape: tape, training: true, random: RandomGenerator(seed: 5), model: nil, rowsRead: nil)
        var stats = ObjectiveStatistics()
        let loss = try rtd.loss(pass, normalizers: objectives.normalizers(for: [b])[0], statistics: &stats, replacements: replacements)
        try tape.backward(loss)
        return (loss, stats)
    }

    func testADrawEqualToTheOriginalCountsAsOriginal() throws {
        let rtd = try makeObjective()
        // Rows: positions (0,2), (0,3), (1,2), (1,3) hold 12, 13, 22, 23.
        let (_, same) = try run(rtd, replacements: [12, 13, 22, 23])
        XCTAssertEqual(same.mean("replaced_fraction"), 0)
        XCTAssertEqual(same.mean("rtd_baseline_accuracy"), 1)
        let (_, mixed) = try run(rtd, replacements: [12, 30, 31, 23])
        XCTAssertEqual(try XCTUnwrap(mixed.mean("replaced_fraction")), 2.0 / 12, accuracy: 1e-12, "2 replaced of 12 non-pad tokens")
        XCTAssertEqual(try XCTUnwrap(mixed.mean("rtd_baseline_accuracy")), 10.0 / 12, accuracy: 1e-12)
    }

    func testOneEmbeddingModuleServesBothNetworks() throws {
        let rtd = try makeObjective()
        XCTAssertTrue(rtd.generator.encoder.embeddings === rtd.discriminator.encoder.embeddings)
        XCTAssertTrue(rtd.generator.maskedLM?.decoderWeight === rtd.discriminator.encoder.embeddings.words.weight, "decoder tied to the shared table")
        XCTAssertNotNil(rtd.generator.encoder.projection, "the generator has its own E→H projection")
        XCTAssertNotNil(rtd.discriminator.encoder.projection)
        XCTAssertFalse(rtd.generator.encoder.projection === rtd.discriminator.encoder.projection)
        let names = rtd.parameters.map(\.name)
        XCTAssertEqual(names.filter { $0 == "electra.embeddings.word_embeddings.weight" }.count, 1, "the shared table is trained once")
        XCTAssertTrue(names.contains("generator.electra.embeddings_project.weight"))
        XCTAssertEqual(Set(names).count, names.count)
        // Both networks' gradients reach the shared table: it changes with the discriminator's weight.
        let words = rtd.discriminator.encoder.embeddings.words.weight
        _ = try run(rtd, replacements: [12, 30, 31, 23])
        let g50 = words.gradient.scalars
        let light = try makeObjective(weight: 1)
        _ = try run(light, replacements: [12, 30, 31, 23])
        XCTAssertNotEqual(g50, light.discriminator.encoder.embeddings.words.weight.gradient.scalars)
    }

    /// The discriminator's loss reaches the generator only through the shared embeddings, never
    /// through the samples: the generator's own gradients do not depend on the discriminator's weight.
    func testNoGradientReachesTheGeneratorThroughTheSamples() throws {
        let heavy = try makeObjective(weight: 50), light = try makeObjective(weight: 1)
        _ = try run(heavy, replacements: nil)
        _ = try run(light, replacements: nil)
        let shared = Set(heavy.discriminator.parameters.map(ObjectIdentifier.init))
        let own = heavy.generator.parameters.filter { !shared.contains(ObjectIdentifier($0)) }
        let ownLight = light.generator.parameters.filter { p in !light.discriminator.parameters.contains { $0 === p } }
        XCTAssertEqual(own.count, ownLight.count)
        var nonZero = 0
        for (p, q) in zip(own, ownLight) {
            XCTAssertEqual(p.name, q.name)
            XCTAssertEqual(p.gradient.scalars, q.gradient.scalars, p.name)
            if p.gradient.scalars.contains(where: { $0 != 0 }) { nonZero += 1 }
        }
        XCTAssertGreaterThan(nonZero, own.count / 2, "the generator does learn from its MLM loss")
    }

    /// `pretrain params` counts what the recipe builds: the discriminator plus the generator's own tensors.
    func testParameterCountOfBothNetworks() throws {
        var c = try EncoderConfiguration.preset("electra-tiny")
        c.vocabSize = 1000
        let rtd = try ReplacedTokenDetection(config: c, seed: 1)
        let discriminator = ParameterCount(config: c, heads: [.replacedToken]).total
        XCTAssertEqual(rtd.discriminator.parameterCount, discriminator)
        XCTAssertEqual(try PretrainingObjectives(model: nil, objectives: [rtd]).parameterCount,
                       discriminator + ParameterCount.electraGeneratorOwn(discriminator: c))
    }
}
