import XCTest
import Autodiff
@testable import Collectives
import Models
import PretrainingData
import Tensors
@testable import Training

/// The arithmetic of data parallelism, in one process: ranks' shares, global normalisers and
/// summed gradients. The same code under `mpirun` (2 ranks vs 1 process, losses at every step,
/// resume) is checked by scripts/mpi-check.sh in `make test`.
final class DataParallelTests: XCTestCase {
    func parallel(rank: Int, of size: Int, _ parameters: [Parameter] = []) -> DataParallel {
        DataParallel(parameters: parameters, group: ProcessGroup(rank: rank, size: size, localSize: size, usesMPI: false))
    }

    func testSharesCoverEachBatchInRankOrder() {
        for ranks in 1...5 {
            for batch in ranks...13 {
                let shares = (0..<ranks).map { parallel(rank: $0, of: ranks).share(of: batch) }
                XCTAssertEqual(shares.flatMap { Array($0) }, Array(0..<batch), "\(ranks) ranks, batch \(batch)")
                let sizes = shares.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
                XCTAssertGreaterThan(sizes.min()!, 0)
            }
        }
        XCTAssertThrowsError(try parallel(rank: 0, of: 4).checkSplits(batchSize: 3, what: "batch_size")) { error in
            XCTAssertEqual(error as? DataParallelError, .batchTooSmall(what: "batch_size", batch: 3, ranks: 4))
        }
    }

    func testRankSeedsDifferAndRankZeroKeepsTheSeed() {
        XCTAssertEqual(parallel(rank: 0, of: 2).rankSeed(42), 42)
        XCTAssertEqual(DataParallel(parameters: [], group: .single()).rankSeed(42), 42)
        XCTAssertNotEqual(parallel(rank: 1, of: 2).rankSeed(42), 42)
        XCTAssertNotEqual(parallel(rank: 1, of: 3).rankSeed(42), parallel(rank: 2, of: 3).rankSeed(42))
    }

    func testFlatGradientsAreViewsOfOneBufferAndSurviveLoading() throws {
        let a = Parameter(name: "a", value: Tensor([1, 2, 3], shape: [3]))
        let b = Parameter(name: "b", value: Tensor(repeating: 0.5, shape: [2, 5]))
        let frozen = Parameter(name: "frozen", value: Tensor([1], shape: [1]), requiresGradient: false)
        // A gradient already accumulated is kept; a shared parameter (listed twice) gets one view.
        let tape = Tape()
        try tape.backward(tape.sum(tape.multiply(tape.parameter(a), tape.parameter(a))))
        let flat = FlatGradients([a, b, a, frozen])
        XCTAssertEqual(flat.parameters.map(\.name), ["a", "b"])
        XCTAssertEqual(flat.offsets, [0, 16], "views start on 64-byte boundaries")
        XCTAssertTrue(a.gradient.storage === flat.storage && b.gradient.storage === flat.storage)
        XCTAssertEqual(a.gradient.scalars, [2, 4, 6])
        // Backward writes into the buffer; loading a checkpoint zeroes it in place.
        let again = Tape()
        try again.backward(again.sum(again.parameter(b)))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: flat.pointer + 16, count: 10)), [Float](repeating: 1, count: 10))
        b.load(Tensor(repeating: 2, shape: [2, 5]))
        XCTAssertTrue(b.gradient.storage === flat.storage)
        XCTAssertEqual(b.gradient.scalars, [Float](repeating: 0, count: 10))
    }

    func testBucketsAreWholeParametersCoveringTheBuffer() {
        let sizes = [3, 40, 5, 5, 100, 2, 7]
        let parameters = sizes.enumerated().map { Parameter(name: "p\($0)", value: Tensor(zeros: [$1])) }
        let parallel = DataParallel(parameters: parameters, group: .single(), bucketBytes: 48 * 4)
        let buckets = parallel.buckets
        XCTAssertEqual(buckets.first?.lowerBound, 0)
        XCTAssertEqual(buckets.last?.upperBound, parallel.gradients.count)
        for (a, b) in zip(buckets, buckets.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        let starts = Set(parallel.gradients.offsets)
        for bucket in buckets { XCTAssertTrue(starts.contains(bucket.lowerBound), "buckets start at a parameter") }
        for bucket in buckets.dropLast() { XCTAssertGreaterThanOrEqual(bucket.count * 4, 48 * 4) }
        // 3+40 (padded 16+48) closes the first; 5, 5 and 100 the second; 2 and 7 are the last.
        XCTAssertEqual(buckets.count, 3)
    }

    func testStreamRowsReadOnlyTheShareAndMoveLikeTheWholeBatch() throws {
        let stream = SyntheticStream(vocab: 60, length: 12, perEpoch: 7, seed: 3)
        var whole = DataPosition(epoch: 1, index: 5), part = whole
        let all = try stream.batch(size: 5, length: 12, padID: 0, from: &whole)
        let mine = try stream.batch(size: 5, length: 12, padID: 0, from: &part, rows: 2..<4)
        XCTAssertEqual(part, whole, "every rank moves past the whole batch (across the epoch end)")
        XCTAssertEqual(mine.input.batch, 2)
        XCTAssertEqual(mine.input.ids, Array(all.input.ids[24..<48]))
    }

    /// Two ranks' gradients, each from its share of every micro-batch with the whole batch's
    /// normalisers, add up to the one-process gradient (to float rounding).
    func testRankGradientsSumToTheWholeBatchGradient() throws {
        let (batchSize, length, accumulated) = (4, 12, 2)
        let stream = SyntheticStream(vocab: 60, length: length, perEpoch: 11, seed: 7)
        for nsp in [false, true] {
            var config = TrainerTests.config
            (config.hiddenDropout, config.attentionDropout) = (0, 0)
            let model = try PretrainingModel(config: config, heads: nsp ? [.maskedLM, .sentencePair] : [.maskedLM], seed: 5)
            var parts: [PretrainingObjective] = [try MaskedLanguageModeling(model: model), SpanBoundaryObjective(model: model, seed: 5)]
            if nsp { parts.append(try SentencePairPrediction(task: .nsp, model: model)) }
            let objectives = try PretrainingObjectives(model: model, objectives: parts)
            let flat = FlatGradients(objectives.parameters)
            func batches(rows: Range<Int>?) throws -> [PretrainingBatch] {
                var position = DataPosition()
                return try (0..<accumulated).map { _ in
                    try stream.batch(size: batchSize, length: length, padID: 0, from: &position, rows: rows)
                }
            }
            func gradients(_ batches: [PretrainingBatch], normalizers: [[Int]]?) throws -> (flat: [Float], stats: ObjectiveStatistics) {
                objectives.zeroGradients()
                var draws = RandomGenerator(seed: 1), profile: StepProfile?
                let stats = try objectives.accumulateGradients(batches, normalizers: normalizers, dropoutSeed: { 0 }, draws: &draws, profile: &profile)
                return (Array(UnsafeBufferPointer(start: flat.pointer, count: flat.count)), stats)
            }
            let whole = try batches(rows: nil)
            let normalizers = objectives.normalizers(for: whole)
            let one = try gradients(whole, normalizers: nil)
            var summed = [Float](repeating: 0, count: one.flat.count), stats = ObjectiveStatistics()
            for rank in 0..<2 {
                let share = try batches(rows: parallel(rank: rank, of: 2).share(of: batchSize))
                let part = try gradients(share, normalizers: normalizers)
                for i in summed.indices { summed[i] += part.flat[i] }
                stats.merge(part.stats)
            }
            let scale = one.flat.map(abs).max()!
            XCTAssertGreaterThan(scale, 0)
            let worst = zip(one.flat, summed).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst / scale, 1e-5, "nsp \(nsp)")
            XCTAssertEqual(stats.loss, one.stats.loss, accuracy: 1e-5 * abs(one.stats.loss))
            XCTAssertEqual(stats.tokens, one.stats.tokens)
            for (key, mean) in one.stats.means { XCTAssertEqual(stats.mean(key)!, mean, accuracy: 1e-5 * max(1, abs(mean)), key) }
        }
    }
}

/// Translation LM's language and position ids reach the encoder's input through the batch.
final class TranslationBatchTests: XCTestCase {
    func testBatchCarriesLanguagesAndPositions() {
        let bert = SequenceTemplate.bert(cls: 1, sep: 2, mask: 3, pad: 0, vocabularySize: 100)
        let pair = TranslationPair(first: [10, 11], second: [20], firstLanguage: 0, secondLanguage: 1)
        let a = TranslationInstances.instance(pair, template: bert, length: 8, swap: false)
        let b = TranslationInstances.instance(pair, template: bert, length: 8, swap: true)
        let batch = PretrainingBatch([(a, MaskedInstance(inputIDs: a.ids, positions: [], labels: [])),
                                      (b, MaskedInstance(inputIDs: b.ids, positions: [], labels: []))], length: 7, padID: 0)
        XCTAssertEqual(batch.input.languages, [0, 0, 0, 0, 1, 1, 0,
                                               1, 1, 1, 0, 0, 0, 0])
        XCTAssertEqual(batch.input.positionIDs, [0, 1, 2, 3, 0, 1, 0,
                                                 0, 1, 2, 0, 1, 2, 0])
        // One-language formats leave both to the model.
        let plain = PretrainingInstance(ids: [1, 10, 2], tokenTypes: [0, 0, 0], isSpecial: [true, false, true], wordStarts: [true, true, true])
        let single = PretrainingBatch([(plain, MaskedInstance(inputIDs: plain.ids, positions: [], labels: []))], length: 4, padID: 0)
        XCTAssertNil(single.input.languages)
        XCTAssertNil(single.input.positionIDs)
    }
}
