import XCTest
import PretrainingData
import Tensors
@testable import Training

/// XLM's interleaved TLM and monolingual batches over a parallel corpus.
final class TranslationStreamTests: XCTestCase {
    let template = SequenceTemplate.bert(cls: 1, sep: 2, mask: 3, pad: 0, vocabularySize: 200)

    func stream(ratio: Double, fixed: Bool = false, batch: Int = 4) throws -> TranslationInstanceStream {
        var pairs: [TranslationPair] = []
        for i in 0..<40 {
            let first: [Int32] = (0..<5).map { k in Int32(10 + (i + k) % 50) }
            let second: [Int32] = (0..<4).map { k in Int32(100 + (i + k) % 50) }
            pairs.append(TranslationPair(first: first, second: second, firstLanguage: 0, secondLanguage: 1))
        }
        return TranslationInstanceStream(pairs: pairs, template: template, length: 16, masking: try MaskingConfig(template: template),
                                         seed: 9, batchSize: batch, translationRatio: ratio, fixed: fixed)
    }

    func testBatchesAreOneKindAndInterleaveInProportion() throws {
        let s = try stream(ratio: 0.5)
        var counts: [TranslationInstanceStream.Kind: Int] = [:]
        for epoch in 1...50 {
            for batch in 0..<10 {
                let kinds = Set((0..<4).map { s.kind(epoch: epoch, index: batch * 4 + $0) })
                XCTAssertEqual(kinds.count, 1, "every row of a batch is of one kind")
                counts[kinds.first!, default: 0] += 1
            }
        }
        XCTAssertEqual(Double(counts[.translation] ?? 0) / 500, 0.5, accuracy: 0.07)
        XCTAssertGreaterThan(counts[.monolingual(side: 0)] ?? 0, 80)
        XCTAssertGreaterThan(counts[.monolingual(side: 1)] ?? 0, 80)
        XCTAssertTrue((0..<40).allSatisfy { try! stream(ratio: 1).kind(epoch: 1, index: $0) == .translation })
        XCTAssertFalse((0..<40).contains { try! stream(ratio: 0).kind(epoch: 1, index: $0) == .translation })
    }

    func testRowsHoldWhatTheirKindSays() throws {
        let s = try stream(ratio: 0.5)
        var swapped = 0, straight = 0
        for epoch in 1...5 {
            for index in 0..<40 {
                let (instance, masked) = try s.item(epoch: epoch, index: index)
                let languages = Set(instance.languages ?? [])
                switch s.kind(epoch: epoch, index: index) {
                case .translation:
                    XCTAssertEqual(languages, [0, 1])
                    if instance.languages?[1] == 1 { swapped += 1 } else { straight += 1 }
                case .monolingual(let side):
                    XCTAssertEqual(languages, [Int32(side)])
                }
                XCTAssertFalse(masked.positions.isEmpty)
                XCTAssertTrue(masked.positions.allSatisfy { !instance.isSpecial[Int($0)] })
            }
        }
        XCTAssertGreaterThan(swapped, 20, "either order")
        XCTAssertGreaterThan(straight, 20)
    }

    func testDeterministicShuffledPerEpochAndFixedWhenHeldOut() throws {
        let a = try stream(ratio: 1), b = try stream(ratio: 1)
        XCTAssertEqual(try a.item(epoch: 2, index: 7).instance, try b.item(epoch: 2, index: 7).instance)
        XCTAssertEqual(try a.item(epoch: 2, index: 7).masked, try b.item(epoch: 2, index: 7).masked)
        let firstTokens = { (s: TranslationInstanceStream, e: Int) in try (0..<40).map { try s.item(epoch: e, index: $0).instance.ids } }
        XCTAssertNotEqual(try firstTokens(a, 1), try firstTokens(a, 2), "each epoch has its own order")
        let heldout = try stream(ratio: 1, fixed: true)
        XCTAssertEqual(try firstTokens(heldout, 1), try firstTokens(heldout, 3))
        // Through the trainer's batching: languages and positions reach the input.
        var position = DataPosition()
        let batch = try a.batch(size: 4, length: 16, padID: 0, from: &position)
        XCTAssertEqual(batch.input.languages?.count, 64)
        XCTAssertEqual(batch.input.positionIDs?.count, 64)
    }
}
