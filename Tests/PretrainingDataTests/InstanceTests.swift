import Foundation
import XCTest
import Tensors
import PretrainingData

/// Instance builders: formats, sentence tasks, lengths and determinism.
final class InstanceTests: XCTestCase {
    static let template = SequenceTemplate.bert(cls: 2, sep: 3, mask: 4, pad: 0, vocabularySize: 30_000)

    /// `documents` documents of 1…`maxSentences` sentences of 1…`maxSentenceLength` tokens.
    static func corpus(documents: Int, maxSentences: Int = 20, maxSentenceLength: Int = 30, seed: UInt64 = 1) -> InMemoryCorpus {
        var rng = RandomGenerator(seed: seed)
        var corpus = InMemoryCorpus()
        for _ in 0..<documents {
            let sentences = (0..<(1 + rng.integer(below: maxSentences))).map { _ in
                (0..<(1 + rng.integer(below: maxSentenceLength))).map { _ in
                    (id: Int32(100 + rng.integer(below: 29_000)), wordStart: rng.bernoulli(0.7))
                }
            }
            corpus.appendDocument(sentences)
        }
        return corpus
    }

    /// Document of each token.
    static func documentOfToken(_ corpus: InMemoryCorpus) -> [Int] {
        var result = [Int](repeating: 0, count: corpus.tokenCount)
        for d in 0..<corpus.documentCount {
            for s in corpus.sentences(ofDocument: d) { for t in corpus.tokens(ofSentence: s) { result[t] = d } }
        }
        return result
    }

    static func builder(_ format: InputFormat, _ task: SentenceTask, maxLength: Int = 64, short: Double = 0.1) throws -> InstanceBuilder {
        try InstanceBuilder(config: InstanceConfig(maxLength: maxLength, shortSequenceProbability: short, format: format, sentenceTask: task),
                            template: template)
    }

    static let validCombinations: [(InputFormat, SentenceTask)] = [
        (.segmentPair, .nsp), (.segmentPair, .sop), (.segmentPair, .none), (.sentencePair, .nsp), (.sentencePair, .sop),
        (.sentencePair, .none), (.fullSentences, .none), (.docSentences, .none), (.singleSegment, .none),
    ]

    func band(_ p: Double, _ n: Int, sigmas: Double = 5) -> Double { sigmas * (p * (1 - p) / Double(n)).squareRoot() }

    func testPlansAreDeterministicPerSeedAndEpochAndDifferAcrossEpochs() throws {
        let corpus = Self.corpus(documents: 50)
        for (format, task) in Self.validCombinations {
            let b = try Self.builder(format, task)
            let p = b.plan(corpus, seed: 3, epoch: 0)
            XCTAssertFalse(p.isEmpty)
            XCTAssertEqual(p, b.plan(corpus, seed: 3, epoch: 0), "\(format) \(task)")
            XCTAssertNotEqual(p, b.plan(corpus, seed: 3, epoch: 1), "\(format) \(task)")
            XCTAssertNotEqual(p, b.plan(corpus, seed: 4, epoch: 0), "\(format) \(task)")
        }
    }

    func testInstancesNeverExceedMaxLengthAndFollowTheTemplate() throws {
        // Long sentences (up to 200 tokens) against maxLength 32: splitting and truncation at work.
        let corpus = Self.corpus(documents: 40, maxSentenceLength: 200)
        for (format, task) in Self.validCombinations {
            for maxLength in [8, 32] {
                let b = try Self.builder(format, task, maxLength: maxLength)
                for plan in b.plan(corpus, seed: 5, epoch: 0) {
                    let inst = b.materialize(plan, from: corpus)
                    XCTAssertLessThanOrEqual(inst.ids.count, maxLength, "\(format) \(task)")
                    XCTAssertEqual(inst.tokenTypes.count, inst.ids.count)
                    XCTAssertEqual(inst.isSpecial.count, inst.ids.count)
                    XCTAssertEqual(inst.wordStarts.count, inst.ids.count)
                    XCTAssertEqual(inst.ids.first, 2)
                    XCTAssertEqual(inst.ids.last, 3)
                    XCTAssertEqual(inst.sentenceLabel == nil, task == .none, "\(format) \(task)")
                    for i in inst.ids.indices { XCTAssertEqual(inst.isSpecial[i], inst.ids[i] < 100) }
                    if let second = plan.second {
                        // [CLS] A [SEP] B [SEP]: types 0 through the first [SEP], 1 after.
                        let a = inst.ids.count - second.count - 3
                        XCTAssertGreaterThan(a, 0)
                        XCTAssertEqual(inst.ids[a + 1], 3)
                        XCTAssertEqual(inst.tokenTypes, [Int32](repeating: 0, count: a + 2) + [Int32](repeating: 1, count: second.count + 1))
                    } else {
                        XCTAssertEqual(inst.tokenTypes, [Int32](repeating: 0, count: inst.ids.count))
                    }
                }
            }
        }
    }

    func testNSPAndSOPLabelsAreBalanced() throws {
        let corpus = Self.corpus(documents: 300)
        for (format, task) in [(InputFormat.segmentPair, SentenceTask.nsp), (.segmentPair, .sop), (.sentencePair, .nsp), (.sentencePair, .sop)] {
            let plans = try Self.builder(format, task, maxLength: 64).plan(corpus, seed: 6, epoch: 0)
            let ones = plans.filter { $0.sentenceLabel == 1 }.count
            // BERT makes every one-sentence chunk random (label 1): allow that small excess.
            XCTAssertEqual(Double(ones) / Double(plans.count), 0.5, accuracy: band(0.5, plans.count) + (task == .nsp ? 0.03 : 0),
                           "\(format) \(task): \(ones) of \(plans.count)")
        }
    }

    func testNSPRandomSecondSegmentComesFromAnotherDocumentAndActualNextFollows() throws {
        let corpus = Self.corpus(documents: 100)
        let doc = Self.documentOfToken(corpus)
        for format in [InputFormat.segmentPair, .sentencePair] {
            for plan in try Self.builder(format, .nsp).plan(corpus, seed: 7, epoch: 0) {
                guard let b = plan.second else { return XCTFail("pair expected") }
                let a = plan.first
                XCTAssertEqual(doc[a.lowerBound], doc[a.upperBound - 1])
                XCTAssertEqual(doc[b.lowerBound], doc[b.upperBound - 1])
                if plan.sentenceLabel == 1 {
                    XCTAssertNotEqual(doc[a.lowerBound], doc[b.lowerBound], "\(format)")
                } else {
                    XCTAssertEqual(doc[a.lowerBound], doc[b.lowerBound], "\(format)")
                    XCTAssertLessThanOrEqual(a.upperBound, b.lowerBound)
                }
            }
        }
    }

    func testSOPSegmentsAreConsecutiveInOneDocumentAndSwappedWhenLabelledOne() throws {
        // Documents of at most 300 tokens: with maxLength 512 nothing is truncated.
        let corpus = Self.corpus(documents: 100, maxSentences: 10)
        let doc = Self.documentOfToken(corpus)
        var sentenceStarts = Set<Int>(), sentenceEnds = Set<Int>()
        for s in 0..<corpus.sentenceCount { sentenceStarts.insert(corpus.tokens(ofSentence: s).lowerBound); sentenceEnds.insert(corpus.tokens(ofSentence: s).upperBound) }
        for format in [InputFormat.segmentPair, .sentencePair] {
            // maxLength 512: no truncation, so consecutive means B starts where A ends.
            for plan in try Self.builder(format, .sop, maxLength: 512).plan(corpus, seed: 8, epoch: 0) {
                guard let second = plan.second else { return XCTFail("pair expected") }
                let (earlier, later) = plan.sentenceLabel == 1 ? (second, plan.first) : (plan.first, second)
                XCTAssertEqual(doc[earlier.lowerBound], doc[later.upperBound - 1], "one document")
                XCTAssertEqual(earlier.upperBound, later.lowerBound, "\(format): consecutive")
                XCTAssertTrue(sentenceStarts.contains(earlier.lowerBound) && sentenceEnds.contains(later.upperBound))
            }
        }
    }

    func testShortSequenceProbabilityGivesAboutTenPercentShorterTargets() throws {
        // Forty long documents: every block but each document's last is full unless its target was short.
        var corpus = InMemoryCorpus()
        var rng = RandomGenerator(seed: 9)
        for _ in 0..<40 {
            corpus.appendDocument(ids: (0..<400).map { _ in (0..<25).map { _ in Int32(100 + rng.integer(below: 1000)) } })
        }
        let doc = Self.documentOfToken(corpus)
        let b = try Self.builder(.singleSegment, .none, maxLength: 130)
        var lastOfDocument = Set<Int>()
        for d in 0..<corpus.documentCount { lastOfDocument.insert(corpus.tokens(ofSentence: corpus.sentences(ofDocument: d).upperBound - 1).upperBound) }
        let plans = b.plan(corpus, seed: 10, epoch: 0).filter { !lastOfDocument.contains($0.first.upperBound) }
        let short = plans.filter { $0.first.count < b.capacity }.count
        // A short target equals the capacity with probability 1/(capacity − 1).
        let p = 0.1 * (1 - 1 / Double(b.capacity - 1))
        XCTAssertEqual(Double(short) / Double(plans.count), p, accuracy: band(p, plans.count), "\(short) of \(plans.count)")
        XCTAssertTrue(plans.allSatisfy { doc[$0.first.lowerBound] == doc[$0.first.upperBound - 1] })
        // Without short sequences every inner block is full.
        let full = try Self.builder(.singleSegment, .none, maxLength: 130, short: 0).plan(corpus, seed: 10, epoch: 0)
        XCTAssertTrue(full.filter { !lastOfDocument.contains($0.first.upperBound) }.allSatisfy { $0.first.count == b.capacity })
    }

    func testPackedFormatsCoverEveryTokenOnceAndOnlyFullSentencesCrossDocuments() throws {
        let corpus = Self.corpus(documents: 60, maxSentenceLength: 80)
        let doc = Self.documentOfToken(corpus)
        for format in [InputFormat.fullSentences, .docSentences, .singleSegment] {
            let b = try Self.builder(format, .none, maxLength: 48)
            var covered = [Int](repeating: 0, count: corpus.tokenCount)
            var crossings = 0
            for plan in b.plan(corpus, seed: 11, epoch: 2) {
                for t in plan.first { covered[t] += 1 }
                let inst = b.materialize(plan, from: corpus)
                let documents = Set(plan.first.map { doc[$0] })
                // One separator per document start inside the segment, besides [CLS] and the final [SEP].
                let separators = inst.ids.dropFirst().dropLast().filter { $0 == 3 }.count
                XCTAssertEqual(separators, documents.count - 1, "\(format)")
                XCTAssertEqual(inst.ids.count, plan.first.count + separators + 2)
                if format != .fullSentences { XCTAssertEqual(documents.count, 1, "\(format) crossed a document") }
                if documents.count > 1 { crossings += 1 }
            }
            XCTAssertEqual(covered, [Int](repeating: 1, count: corpus.tokenCount), "\(format)")
            if format == .fullSentences { XCTAssertGreaterThan(crossings, 10) }
        }
    }

    /// GPT-2's blocks: the corpus as one stream with end-of-text between documents, cut into
    /// blocks of exactly max_length (a separator that would end a block is left out).
    func testBlocksCutTheDocumentStreamIntoFullLengthBlocks() throws {
        let gpt = SequenceTemplate(single: .init(prefix: [], suffix: []), pair: .init(prefix: [], suffix: []), separator: [0],
                                   maskID: nil, padID: nil, vocabularySize: 30_000)
        var small = InMemoryCorpus()
        small.appendDocument(ids: [[100, 101], [102]])
        small.appendDocument(ids: [[200, 201, 202]])
        small.appendDocument(ids: [[300]])
        let b = try InstanceBuilder(config: InstanceConfig(maxLength: 5, shortSequenceProbability: 0.5, format: .blocks, sentenceTask: .none),
                                    template: gpt)
        let blocks = b.plan(small, seed: 0, epoch: 0).sorted { $0.first.lowerBound < $1.first.lowerBound }.map { b.materialize($0, from: small) }
        XCTAssertEqual(blocks.map(\.ids), [[100, 101, 102, 0, 200], [201, 202, 0, 300]])
        XCTAssertEqual(blocks[0].isSpecial, [false, false, false, true, false])

        let corpus = Self.corpus(documents: 60, maxSentenceLength: 80)
        let doc = Self.documentOfToken(corpus)
        let builder = try InstanceBuilder(config: InstanceConfig(maxLength: 48, format: .blocks, sentenceTask: .none), template: gpt)
        var covered = [Int](repeating: 0, count: corpus.tokenCount)
        var lengths: [Int: Int] = [:]
        for plan in builder.plan(corpus, seed: 3, epoch: 0) {
            for t in plan.first { covered[t] += 1 }
            let ids = builder.materialize(plan, from: corpus).ids
            let documents = Set(plan.first.map { doc[$0] })
            XCTAssertEqual(ids.filter { $0 == 0 }.count, documents.count - 1, "one end-of-text per document boundary inside")
            lengths[ids.count, default: 0] += 1
        }
        XCTAssertEqual(covered, [Int](repeating: 1, count: corpus.tokenCount))
        XCTAssertGreaterThan(lengths[48] ?? 0, 100)
        XCTAssertEqual(lengths.filter { $0.key < 47 }.values.reduce(0, +), lengths.keys.contains { $0 < 47 } ? 1 : 0,
                       "full blocks, one short of a separator that did not fit, and the corpus's last: \(lengths)")
    }

    func testFullSentencesSeparatorIsSpecialAndSitsAtTheDocumentBoundary() throws {
        var corpus = InMemoryCorpus()
        corpus.appendDocument(ids: [[100, 101], [102]])
        corpus.appendDocument(ids: [[200, 201, 202]])
        let b = try Self.builder(.fullSentences, .none, maxLength: 16, short: 0)
        let plans = b.plan(corpus, seed: 0, epoch: 0)
        XCTAssertEqual(plans.count, 1)
        let inst = b.materialize(plans[0], from: corpus)
        XCTAssertEqual(inst.ids, [2, 100, 101, 102, 3, 200, 201, 202, 3])
        XCTAssertEqual(inst.isSpecial, [true, false, false, false, true, false, false, false, true])
        // DOC-SENTENCES keeps them apart.
        let docs = try Self.builder(.docSentences, .none, maxLength: 16, short: 0)
        XCTAssertEqual(Set(docs.plan(corpus, seed: 0, epoch: 0).map { docs.materialize($0, from: corpus).ids }),
                       [[2, 100, 101, 102, 3], [2, 200, 201, 202, 3]])
    }

    /// The trainer's loop: plan with the data epoch, materialize, mask with (seed, epoch, index).
    func testStaticDataRepeatsWholeMaskedInstancesWithPeriodDupeFactor() throws {
        let corpus = Self.corpus(documents: 30)
        let builder = try Self.builder(.segmentPair, .nsp)
        let masking = try MaskingConfig(template: Self.template, scheme: .wholeWord, maxPredictions: 20)
        func epochData(_ epoch: Int, dupeFactor: Int?) -> [MaskedInstance] {
            let plans = builder.plan(corpus, seed: 9, epoch: MaskingSeed.dataEpoch(epoch, dupeFactor: dupeFactor))
            return plans.prefix(50).enumerated().map { i, plan in
                var rng = MaskingSeed.rng(seed: 9, epoch: epoch, index: i, dupeFactor: dupeFactor)
                return masking.mask(builder.materialize(plan, from: corpus), using: &rng)
            }
        }
        XCTAssertEqual(epochData(1, dupeFactor: 3), epochData(4, dupeFactor: 3))
        XCTAssertNotEqual(epochData(1, dupeFactor: 3), epochData(2, dupeFactor: 3))
        XCTAssertNotEqual(epochData(1, dupeFactor: nil), epochData(4, dupeFactor: nil))
    }

    func testInvalidConfigurationsThrow() {
        XCTAssertThrowsError(try Self.builder(.fullSentences, .nsp)) {
            XCTAssertEqual($0 as? InstanceConfigError, .sentenceTaskNeedsPair(format: .fullSentences, task: .nsp))
        }
        XCTAssertThrowsError(try Self.builder(.segmentPair, .nsp, maxLength: 4))
        XCTAssertThrowsError(try Self.builder(.singleSegment, .none, short: 1.5))
        XCTAssertNoThrow(try Self.builder(.singleSegment, .none, maxLength: 4))
    }

    func testEmptyDocumentsAndSentencesAreHarmless() throws {
        var corpus = InMemoryCorpus()
        corpus.appendDocument(ids: [])
        corpus.appendDocument(ids: [[], [100, 101], []])
        corpus.appendDocument(ids: [])
        corpus.appendDocument(ids: [[200], [201, 202]])
        corpus.appendDocument(ids: [])
        for (format, task) in Self.validCombinations {
            let b = try Self.builder(format, task, maxLength: 16)
            for plan in b.plan(corpus, seed: 1, epoch: 0) {
                let inst = b.materialize(plan, from: corpus)
                XCTAssertLessThanOrEqual(inst.ids.count, 16)
                XCTAssertGreaterThan(inst.isSpecial.filter { !$0 }.count, 0)
            }
        }
    }

    func testPlanningAMillionTokensIsFast() throws {
        let corpus = Self.corpus(documents: 4000, maxSentences: 40, maxSentenceLength: 30, seed: 12)
        for (format, task) in [(InputFormat.segmentPair, SentenceTask.nsp), (.fullSentences, .none)] {
            let b = try Self.builder(format, task, maxLength: 128)
            let start = DispatchTime.now().uptimeNanoseconds
            let plans = b.plan(corpus, seed: 1, epoch: 0)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("planning \(format): \(plans.count) plans over \(corpus.tokenCount) tokens in \(String(format: "%.3f", seconds)) s (debug build)")
            XCTAssertLessThan(seconds, 5)
        }
    }
}
