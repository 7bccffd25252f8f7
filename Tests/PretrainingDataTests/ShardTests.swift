import Foundation
import XCTest
@testable import PretrainingData

final class ShardTests: XCTestCase {
    let sample: [[(ids: [Int32], wordStarts: [Bool])]] = [
        [([5, 6, 7], [true, false, true]), ([8], [true])],
        [([1, 2, 3, 4, 9, 10, 11, 12, 0], [true, true, false, false, true, false, true, true, false])],
        [([3], [false]), ([4, 4], [true, true]), ([7, 7, 7], [false, false, true])],
    ]

    func write(_ path: String, vocab: Int, checksum: UInt64 = 42) throws {
        let w = try ShardWriter(path: path, vocabularySize: vocab, tokenizerChecksum: checksum)
        for d in sample { try w.append(document: d) }
        try w.finish()
    }

    func check(_ c: TokenizedCorpus, documentsFrom: Int = 0) {
        var s = c.sentences(ofDocument: documentsFrom).lowerBound
        for (di, d) in sample.enumerated() {
            let sr = c.sentences(ofDocument: documentsFrom + di)
            XCTAssertEqual(sr.count, d.count)
            for (si, sent) in d.enumerated() {
                XCTAssertEqual(sr.lowerBound + si, s)
                let tr = c.tokens(ofSentence: s)
                XCTAssertEqual(c.tokenIDs(tr), sent.ids)
                XCTAssertEqual(c.wordStarts(tr), sent.wordStarts)
                s += 1
            }
        }
    }

    func testRoundTripUInt16AndUInt32() throws {
        let dir = try temporaryFolder()
        for (vocab, dtype) in [(30_522, 2), (65_535, 2), (65_536, 4), (250_002, 4)] {
            let p = dir.appendingPathComponent("s\(vocab).bin").path
            try write(p, vocab: vocab)
            XCTAssertFalse(FileManager.default.fileExists(atPath: p + ".tmp"))
            let shard = try Shard(path: p, expectedChecksum: 42)
            XCTAssertEqual(shard.dtype, dtype)
            XCTAssertEqual(shard.vocabularySize, vocab)
            XCTAssertEqual(shard.documentCount, 3)
            XCTAssertEqual(shard.sentenceCount, 6)
            XCTAssertEqual(shard.tokenCount, 19)
            check(shard)
            let size = (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0
            XCTAssertEqual(size, 64 + (dtype == 2 ? 40 : 80) + 8 + 7 * 8 + 4 * 8)
        }
    }

    /// A shard truncated or overwritten under a running job used to kill it with SIGBUS (the
    /// pages of a mapping vanish); the shard is now read whole on open, so the job reads on.
    func testShardTruncatedAfterOpenKeepsReading() throws {
        let dir = try temporaryFolder()
        let p = dir.appendingPathComponent("s.bin").path
        try write(p, vocab: 30_522)
        let shard = try Shard(path: p, expectedChecksum: 42)
        XCTAssertEqual(truncate(p, 0), 0)
        check(shard)
        XCTAssertThrowsError(try Shard(path: p, expectedChecksum: 42)) { error in
            XCTAssertEqual(error as? ShardError, .wrongLength(path: p, expected: ShardFormat.headerSize, actual: 0))
        }
        XCTAssertThrowsError(try Shard(path: dir.path, expectedChecksum: 42)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    /// Found by the shard fuzz target (scripts/fuzz.sh shard): a manifest count too large for an
    /// Int trapped in the conversion; it is a named error.
    func testManifestCountBeyondIntIsANamedError() throws {
        let url = try temporaryFolder().appendingPathComponent("manifest.json")
        let text = #"{"format": "PTSHARD1", "shards": ["shard-00000.bin"], "documents": 3, "sentences": 6"# + String(repeating: "8", count: 150)
            + #", "tokens": 19, "vocab_size": 30522, "tokenizer_checksum": "2a"}"#
        try text.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ShardManifest.read(from: url)) { error in
            XCTAssertEqual(error as? ShardError, .badManifest(path: url.path, reason: "field \"sentences\" is missing or not a count"))
        }
    }

    func testLargeIDsSurviveUInt32() throws {
        let dir = try temporaryFolder()
        let p = dir.appendingPathComponent("big.bin").path
        let w = try ShardWriter(path: p, vocabularySize: 300_000, tokenizerChecksum: 1)
        try w.append(document: [([299_999, 65_536, 70_000], [true, false, true])])
        try w.finish()
        XCTAssertEqual(try Shard(path: p, expectedChecksum: nil).tokenIDs(0..<3), [299_999, 65_536, 70_000])
        let w2 = try ShardWriter(path: p + "2", vocabularySize: 1000, tokenizerChecksum: 1)
        XCTAssertThrowsError(try w2.append(document: [([1000], [true])]))
    }

    func testShardedCorpusNumbersAcrossShards() throws {
        let dir = try temporaryFolder()
        let a = dir.appendingPathComponent("a.bin").path, b = dir.appendingPathComponent("b.bin").path
        try write(a, vocab: 100)
        try write(b, vocab: 100)
        let set = try ShardedCorpus(shards: [try Shard(path: a, expectedChecksum: 42), try Shard(path: b, expectedChecksum: 42)])
        XCTAssertEqual(set.documentCount, 6)
        XCTAssertEqual(set.sentenceCount, 12)
        XCTAssertEqual(set.tokenCount, 38)
        check(set)
        check(set, documentsFrom: 3)
        // A token range spanning the two shards.
        XCTAssertEqual(set.tokenIDs(17..<21), [7, 7, 5, 6])
        XCTAssertEqual(set.wordStarts(17..<21), [false, true, true, false])
        try write(dir.appendingPathComponent("c.bin").path, vocab: 200)
        XCTAssertThrowsError(try ShardedCorpus(shards: [try Shard(path: a, expectedChecksum: nil), try Shard(path: dir.appendingPathComponent("c.bin").path, expectedChecksum: nil)])) { e in
            guard case ShardError.inconsistentShards? = e as? ShardError else { return XCTFail("\(e)") }
        }
    }

    /// Writes a valid shard, lets `damage` change its bytes and returns the error on open.
    func openError(_ damage: (inout [UInt8]) -> Void, checksum: UInt64? = 42) throws -> ShardError? {
        let dir = try temporaryFolder()
        let p = dir.appendingPathComponent("s.bin").path
        try write(p, vocab: 100)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        damage(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        do {
            _ = try Shard(path: p, expectedChecksum: checksum)
            return nil
        } catch let e as ShardError {
            XCTAssertTrue(e.description.contains(p), "the message names the file: \(e)")
            return e
        }
    }

    func put64(_ v: UInt64, _ at: Int, _ b: inout [UInt8]) { for k in 0..<8 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }

    func testValidationErrors() throws {
        XCTAssertNil(try openError { _ in })
        guard case .badMagic? = try openError({ $0[0] = UInt8(ascii: "X") }) else { return XCTFail("magic") }
        guard case .unsupportedVersion(_, 2)? = try openError({ $0[8] = 2 }) else { return XCTFail("version") }
        guard case .badDType(_, 3)? = try openError({ $0[12] = 3 }) else { return XCTFail("dtype") }
        guard case .wrongLength? = try openError({ $0.removeLast(5) }) else { return XCTFail("truncated") }
        guard case .wrongLength? = try openError({ $0.append(0) }) else { return XCTFail("trailing bytes") }
        guard case .wrongLength? = try openError({ self.put64(1 << 60, 24, &$0) }) else { return XCTFail("huge count") }
        guard case .wrongLength? = try openError({ self.put64(UInt64.max, 32, &$0) }) else { return XCTFail("largest sentence count") }
        guard case .tokenizerMismatch? = try openError({ _ in }, checksum: 43) else { return XCTFail("tokenizer") }
        // Tokens: 19 × 2 bytes at 64 → bits at 64 + 40 = 104 (3 bytes → 8), sentence offsets at 112.
        guard case .badOffsets? = try openError({ self.put64(2, 112 + 8 * 2, &$0) }) else { return XCTFail("decreasing sentence offsets") }
        guard case .badOffsets? = try openError({ self.put64(18, 112 + 8 * 6, &$0) }) else { return XCTFail("offsets not ending at count") }
        guard case .badOffsets? = try openError({ self.put64(9, 112 + 8 * 7 + 8 * 1, &$0) }) else { return XCTFail("document offsets out of range") }
        guard case .tokenOutOfRange(_, 1, 100, 100)? = try openError({ $0[66] = 100; $0[67] = 0 }) else { return XCTFail("token id") }
        XCTAssertThrowsError(try Shard(path: "/nonexistent/s.bin", expectedChecksum: nil)) { e in
            guard case ShardError.unreadable? = e as? ShardError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("pretrain prepare"))
        }
        let e = try openError { $0.removeLast(5) }
        XCTAssertTrue(e?.description.contains("Re-run `pretrain prepare`") == true)
    }
}
