import Foundation
import XCTest
import Tensors
@testable import PretrainingData

/// Statistical checks of the masking schemes. Every band is a number of binomial standard errors
/// (fixed seeds, so the checks are deterministic; 5σ bands leave room for other seeds too).
final class MaskingTests: XCTestCase {
    static let cls: Int32 = 2, sep: Int32 = 3, maskID: Int32 = 4, vocab = 30_000
    static let specials: [Int32] = [0, 1, 2, 3, 4]

    /// `[CLS] t… [SEP]` (or a pair with a middle [SEP]) with random ids ≥ 100; a token starts a word with the given probability.
    static func instance(length n: Int, pair: Bool = false, wordStartProbability: Float = 0.6,
                         _ rng: inout RandomGenerator) -> PretrainingInstance {
        var ids: [Int32] = [cls], special = [true], starts = [true]
        let middle = pair ? n / 2 : -1
        for i in 1..<(n - 1) {
            if i == middle {
                ids.append(sep); special.append(true); starts.append(true)
                continue
            }
            ids.append(Int32(100 + rng.integer(below: vocab - 100)))
            special.append(false)
            starts.append(special[i - 1] || rng.bernoulli(wordStartProbability))
        }
        ids.append(sep); special.append(true); starts.append(true)
        return PretrainingInstance(ids: ids, tokenTypes: [Int32](repeating: 0, count: n), isSpecial: special, wordStarts: starts)
    }

    static func config(_ scheme: MaskingScheme, maxPredictions: Int? = nil, probability: Double = 0.15,
                       maskRatio: Double = 0.8, randomRatio: Double = 0.1) -> MaskingConfig {
        MaskingConfig(scheme: scheme, maskID: maskID, vocabularySize: vocab, excludedFromRandom: specials,
                      probability: probability, maxPredictions: maxPredictions, maskRatio: maskRatio, randomRatio: randomRatio)
    }

    static let allSchemes: [MaskingScheme] = [.token, .wholeWord, .albertNgram, .spanBERT]

    /// Allowed deviation of a proportion estimated from `n` trials: `sigmas` standard errors.
    func band(_ p: Double, _ n: Int, sigmas: Double = 5) -> Double { sigmas * (p * (1 - p) / Double(n)).squareRoot() }

    func testTokenMaskingPredictsRoundedFifteenPercentCappedByMaxPredictions() {
        var rng = RandomGenerator(seed: 1)
        for n in 3...300 {
            let inst = Self.instance(length: n, &rng)
            let m = n - 2
            let expected = max(1, Int((0.15 * Double(m)).rounded()))
            XCTAssertEqual(Self.config(.token).mask(inst, using: &rng).positions.count, expected, "length \(n)")
            XCTAssertEqual(Self.config(.token, maxPredictions: 20).mask(inst, using: &rng).positions.count, min(20, expected))
        }
    }

    func testOddProbabilitiesDoNotTrap() {
        var rng = RandomGenerator(seed: 16)
        let inst = Self.instance(length: 40, &rng)
        for p in [Double.nan, .infinity, -1, 1e300, 2] {
            let out = Self.config(.token, probability: p).mask(inst, using: &rng)
            XCTAssertLessThanOrEqual(out.positions.count, 38)
        }
        XCTAssertEqual(Self.config(.token, maxPredictions: 0).mask(inst, using: &rng).positions, [])
    }

    func testReplacementProportionsAre80_10_10AndElectra85_0_15() {
        for (maskRatio, randomRatio) in [(0.8, 0.1), (0.85, 0.0)] {
            let config = Self.config(.token, maskRatio: maskRatio, randomRatio: randomRatio)
            var rng = RandomGenerator(seed: 2)
            var masked = 0, random = 0, kept = 0
            for _ in 0..<2000 {
                let out = config.mask(Self.instance(length: 128, &rng), using: &rng)
                for (p, label) in zip(out.positions, out.labels) {
                    let id = out.inputIDs[Int(p)]
                    if id == Self.maskID { masked += 1 } else if id == label { kept += 1 } else { random += 1 }
                }
            }
            let total = masked + random + kept
            XCTAssertEqual(Double(masked) / Double(total), maskRatio, accuracy: band(maskRatio, total))
            // A random draw equal to the original counts as kept: 1 in 30k, far inside the band.
            XCTAssertEqual(Double(random) / Double(total), randomRatio, accuracy: max(band(randomRatio, total), 1e-3))
            XCTAssertEqual(Double(kept) / Double(total), 1 - maskRatio - randomRatio,
                           accuracy: band(1 - maskRatio - randomRatio, total))
        }
    }

    func testSpecialTokensAreNeverMaskedPredictedOrDrawn() {
        for scheme in Self.allSchemes {
            // A high rate and all-random replacements stress both the choice and the draws.
            let config = Self.config(scheme, probability: 0.5, maskRatio: 0, randomRatio: 1)
            var rng = RandomGenerator(seed: 3)
            for k in 0..<500 {
                let inst = Self.instance(length: 20 + k % 100, pair: k % 2 == 0, &rng)
                let out = config.mask(inst, using: &rng)
                for p in out.positions { XCTAssertFalse(inst.isSpecial[Int(p)], "\(scheme)") }
                for i in inst.ids.indices where inst.isSpecial[i] { XCTAssertEqual(out.inputIDs[i], inst.ids[i]) }
                for p in out.positions { XCTAssertFalse(Self.specials.contains(out.inputIDs[Int(p)]), "random draw is a special") }
                XCTAssertEqual(out.positions, out.positions.sorted())
                XCTAssertEqual(Set(out.positions).count, out.positions.count)
                XCTAssertEqual(out.labels, out.positions.map { inst.ids[Int($0)] })
            }
        }
    }

    func testEverySchemePredictsAboutFifteenPercentAndNeverMoreThanTheBudget() {
        for scheme in Self.allSchemes {
            let config = Self.config(scheme)
            var rng = RandomGenerator(seed: 4)
            var predicted = 0, maskable = 0, budget = 0
            for _ in 0..<1000 {
                let inst = Self.instance(length: 64 + rng.integer(below: 200), &rng)
                let out = config.mask(inst, using: &rng)
                let m = inst.isSpecial.filter { !$0 }.count
                XCTAssertLessThanOrEqual(out.positions.count, config.predictionCount(maskable: m), "\(scheme)")
                predicted += out.positions.count
                maskable += m
                budget += config.predictionCount(maskable: m)
            }
            let rate = Double(predicted) / Double(maskable)
            XCTAssertEqual(Double(budget) / Double(maskable), 0.15, accuracy: 0.002, "rounding only")
            // Word-level schemes skip units that would overshoot, so they may fall slightly short.
            XCTAssertGreaterThan(rate, 0.14, "\(scheme)")
            XCTAssertLessThanOrEqual(predicted, budget, "\(scheme)")
            if scheme == .token { XCTAssertEqual(predicted, budget) }
        }
    }

    func testWholeWordMaskingNeverSplitsAWord() {
        for scheme in [MaskingScheme.wholeWord, .albertNgram] {
            let config = Self.config(scheme, probability: 0.3)
            var rng = RandomGenerator(seed: 5)
            for _ in 0..<1000 {
                let inst = Self.instance(length: 64, pair: true, wordStartProbability: 0.4, &rng)
                let out = config.mask(inst, using: &rng)
                var predicted = [Bool](repeating: false, count: inst.ids.count)
                for p in out.positions { predicted[Int(p)] = true }
                // Within a segment, a token continuing a word is predicted exactly when the previous is.
                for i in 1..<inst.ids.count where !inst.isSpecial[i] && !inst.isSpecial[i - 1] && !inst.wordStarts[i] {
                    XCTAssertEqual(predicted[i], predicted[i - 1], "\(scheme) split a word at \(i)")
                }
            }
        }
    }

    func testNgramLengthsFollowOneOverN() {
        // Single-token words, so n-gram lengths in words are unit lengths in tokens. Long
        // sequences keep n-grams off the segment ends; a 1% rate keeps ALBERT's overlap rejection
        // (which favours short n-grams as coverage grows: −0.007 on 3-grams at 5%) negligible.
        let config = Self.config(.albertNgram, probability: 0.01)
        var rng = RandomGenerator(seed: 6)
        var counts = [0, 0, 0, 0]
        for _ in 0..<600 {
            let inst = Self.instance(length: 3000, wordStartProbability: 1, &rng)
            // Count the n-grams placed while at least 3 tokens of budget were left: later ones
            // may have been shortened to fit.
            var left = config.predictionCount(maskable: inst.ids.count - 2)
            for u in config.maskRecordingUnits(inst, using: &rng).units {
                if left >= 3 { counts[u.count] += 1 }
                left -= u.count
            }
        }
        let total = counts.reduce(0, +)
        print("n-gram lengths 1/2/3: \(counts.dropFirst().map { String(format: "%.4f", Double($0) / Double(total)) }) of \(total); expected 0.5455 0.2727 0.1818")
        for (n, p) in [(1, 6.0 / 11), (2, 3.0 / 11), (3, 2.0 / 11)] {
            XCTAssertEqual(Double(counts[n]) / Double(total), p, accuracy: band(p, total), "n = \(n): \(counts)")
        }
    }

    func testSpanLengthSamplerIsTruncatedGeometric() {
        var rng = RandomGenerator(seed: 7)
        var counts = [Int](repeating: 0, count: 12)
        let draws = 100_000
        for _ in 0..<draws { counts[MaskingConfig.spanLength(p: 0.2, maxWords: 10, &rng)] += 1 }
        let z = 1 - pow(0.8, 10.0)
        var mean = 0.0
        for l in 1...10 {
            let p = 0.2 * pow(0.8, Double(l - 1)) / z
            XCTAssertEqual(Double(counts[l]) / Double(draws), p, accuracy: band(p, draws))
            mean += Double(l) * Double(counts[l]) / Double(draws)
        }
        XCTAssertEqual(counts[0] + counts[11], 0)
        XCTAssertEqual(mean, 3.797, accuracy: 0.03)
    }

    func testSpanLengthsInMaskedSequencesAverageAbout3Point8Words() {
        let config = Self.config(.spanBERT)
        var rng = RandomGenerator(seed: 8)
        var lengths: [Int] = []
        for _ in 0..<200 {
            let inst = Self.instance(length: 1000, wordStartProbability: 1, &rng)
            // Only spans placed while at least 10 tokens of budget were left: later ones may
            // have been trimmed to fit.
            var left = config.predictionCount(maskable: inst.ids.count - 2)
            for u in config.maskRecordingUnits(inst, using: &rng).units {
                if left >= 10 { lengths.append(u.count) }
                left -= u.count
            }
        }
        let mean = Double(lengths.reduce(0, +)) / Double(lengths.count)
        let sd = 2.4 / Double(lengths.count).squareRoot()
        print("span lengths: mean \(String(format: "%.3f", mean)) words over \(lengths.count) spans (truncated geometric: 3.797)")
        XCTAssertEqual(mean, 3.797, accuracy: 5 * sd, "mean span length \(mean)")
        XCTAssertLessThanOrEqual(lengths.max() ?? 0, 10)
        XCTAssertGreaterThanOrEqual(lengths.min() ?? 1, 1)
    }

    func testSpanMaskingMakesOneDecisionPerSpanAndPointsSBOJustOutside() {
        let config = Self.config(.spanBERT)
        var rng = RandomGenerator(seed: 9)
        var kinds = [0, 0, 0], spans = 0
        for k in 0..<2000 {
            let inst = Self.instance(length: 128, pair: k % 2 == 1, wordStartProbability: 0.7, &rng)
            let out = config.mask(inst, using: &rng)
            guard let targets = out.spanTargets else { return XCTFail("no span targets") }
            XCTAssertEqual(targets.count, out.positions.count)
            let predicted = Set(out.positions)
            var kindOfSpan: [Int32: Int] = [:]
            for (j, p) in out.positions.enumerated() {
                let t = targets[j]
                // Boundaries lie inside the sequence, just outside the span, and are never predicted.
                XCTAssertGreaterThanOrEqual(t.leftBoundary, 0)
                XCTAssertLessThan(Int(t.rightBoundary), inst.ids.count)
                XCTAssertEqual(t.leftBoundary + 1 + t.offset, p)
                XCTAssertFalse(predicted.contains(t.leftBoundary))
                XCTAssertFalse(predicted.contains(t.rightBoundary))
                for q in (t.leftBoundary + 1)..<t.rightBoundary { XCTAssertTrue(predicted.contains(q)) }
                if t.offset == 0 {
                    let words = ((t.leftBoundary + 1)..<t.rightBoundary).filter { inst.wordStarts[Int($0)] }.count
                    XCTAssertTrue(inst.wordStarts[Int(p)], "a span starts at a word start")
                    XCTAssertLessThanOrEqual(words, 10)
                }
                let id = out.inputIDs[Int(p)]
                let kind = id == Self.maskID ? 0 : (id == out.labels[j] ? 2 : 1)
                if let previous = kindOfSpan[t.leftBoundary] {
                    XCTAssertEqual(previous, kind, "a span mixes replacement kinds")
                } else {
                    kindOfSpan[t.leftBoundary] = kind
                    kinds[kind] += 1
                    spans += 1
                }
            }
        }
        // The per-span decision is itself 80/10/10.
        XCTAssertEqual(Double(kinds[0]) / Double(spans), 0.8, accuracy: band(0.8, spans))
        XCTAssertEqual(Double(kinds[1]) / Double(spans), 0.1, accuracy: band(0.1, spans))
    }

    func testSpansNeverUseTheSequenceEndsWithoutSpecials() {
        // No template specials at all: position 0 and n − 1 still cannot be masked by spans.
        let config = Self.config(.spanBERT, probability: 0.5)
        var rng = RandomGenerator(seed: 10)
        for _ in 0..<500 {
            let n = 5 + rng.integer(below: 40)
            let inst = PretrainingInstance(ids: (0..<n).map { Int32(100 + $0) }, tokenTypes: [Int32](repeating: 0, count: n),
                                           isSpecial: [Bool](repeating: false, count: n), wordStarts: [Bool](repeating: true, count: n))
            let out = config.mask(inst, using: &rng)
            XCTAssertFalse(out.positions.contains(0))
            XCTAssertFalse(out.positions.contains(Int32(n - 1)))
            for t in out.spanTargets ?? [] { XCTAssertTrue(t.leftBoundary >= 0 && Int(t.rightBoundary) < n) }
        }
    }

    func testStaticMaskingRepeatsWithPeriodDupeFactorAndDynamicDiffersPerEpoch() {
        var g = RandomGenerator(seed: 11)
        let inst = Self.instance(length: 128, &g)
        let config = Self.config(.wholeWord)
        func masked(epoch: Int, index: Int, dupe: Int?) -> MaskedInstance {
            var rng = MaskingSeed.rng(seed: 42, epoch: epoch, index: index, dupeFactor: dupe)
            return config.mask(inst, using: &rng)
        }
        for epoch in 0..<12 {
            XCTAssertEqual(masked(epoch: epoch, index: 7, dupe: 5), masked(epoch: epoch + 5, index: 7, dupe: 5))
            XCTAssertEqual(masked(epoch: epoch, index: 7, dupe: nil), masked(epoch: epoch, index: 7, dupe: nil), "reproducible")
            XCTAssertNotEqual(masked(epoch: epoch, index: 7, dupe: nil), masked(epoch: epoch + 1, index: 7, dupe: nil))
            XCTAssertNotEqual(masked(epoch: epoch, index: 7, dupe: nil), masked(epoch: epoch, index: 8, dupe: nil))
        }
        // The dupe copies within a period differ from each other.
        let copies = Set((0..<5).map { masked(epoch: $0, index: 7, dupe: 5).positions })
        XCTAssertEqual(copies.count, 5)
        XCTAssertEqual(MaskingSeed.dataEpoch(13, dupeFactor: 10), 3)
        XCTAssertEqual(MaskingSeed.dataEpoch(13, dupeFactor: nil), 13)
    }

    func testMaskingIsDeterministicGivenTheGenerator() {
        var g = RandomGenerator(seed: 12)
        let inst = Self.instance(length: 128, &g)
        for scheme in Self.allSchemes {
            var a = RandomGenerator(seed: 5, stream: [1, 2]), b = a
            XCTAssertEqual(Self.config(scheme).mask(inst, using: &a), Self.config(scheme).mask(inst, using: &b))
        }
    }

    func testDegenerateInstancesGiveNoPredictions() {
        var rng = RandomGenerator(seed: 13)
        let empty = PretrainingInstance(ids: [], tokenTypes: [], isSpecial: [], wordStarts: [])
        let specialsOnly = PretrainingInstance(ids: [2, 3], tokenTypes: [0, 0], isSpecial: [true, true], wordStarts: [true, true])
        for scheme in Self.allSchemes {
            for inst in [empty, specialsOnly] {
                let out = Self.config(scheme).mask(inst, using: &rng)
                XCTAssertEqual(out.positions, [])
                XCTAssertEqual(out.inputIDs, inst.ids)
            }
        }
        // One maskable token between specials: every scheme predicts it, its span boundaries are the specials.
        let one = PretrainingInstance(ids: [2, 500, 3], tokenTypes: [0, 0, 0], isSpecial: [true, false, true], wordStarts: [true, true, true])
        XCTAssertEqual(Self.config(.token).mask(one, using: &rng).positions, [1])
        XCTAssertEqual(Self.config(.spanBERT).mask(one, using: &rng).spanTargets, [SpanTarget(leftBoundary: 0, rightBoundary: 2, offset: 0)])
    }

    func testMaskingA128TokenSequenceIsCheap() {
        var g = RandomGenerator(seed: 14)
        let instances = (0..<64).map { _ in Self.instance(length: 128, &g) }
        for scheme in Self.allSchemes {
            let config = Self.config(scheme, maxPredictions: 20)
            var rng = RandomGenerator(seed: 15)
            var total = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<5000 { total += config.mask(instances[i % 64], using: &rng).positions.count }
            let micros = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / 5000
            print("masking \(scheme): \(String(format: "%.2f", micros)) µs per 128-token sequence (debug build)")
            XCTAssertGreaterThan(total, 0)
            // Generous for an unoptimised build on a shared machine; release is several times faster.
            XCTAssertLessThan(micros, 500)
        }
    }
}
