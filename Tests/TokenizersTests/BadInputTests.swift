import Foundation
import XCTest
@testable import Tokenizers

/// Bad input gives a named error (or a stated behaviour), never a crash.
final class BadInputTests: XCTestCase {
    func tempFile(_ bytes: [UInt8]) throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString).txt").path
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: p) }
        return p
    }

    func testInvalidUTF8IsANamedErrorWithOffset() throws {
        let p = try tempFile(Array("good line\nbad \u{E9} ".utf8) + [0xFF, 0xFE] + Array(" more\n".utf8))
        XCTAssertThrowsError(try TextFiles.lines(p)) { e in
            XCTAssertEqual(e as? TokenizerError, .invalidUTF8(path: p, offset: 17))
            XCTAssertTrue("\(e)".contains("not valid UTF-8"))
        }
        XCTAssertThrowsError(try trainTokenizer(kind: .bpe, files: [p], options: TrainerOptions(vocabSize: 300)))
        // Overlong encodings and surrogates are invalid too.
        XCTAssertEqual(TextFiles.firstInvalidUTF8([0x41, 0xC0, 0x80]), 1)
        XCTAssertEqual(TextFiles.firstInvalidUTF8([0xED, 0xA0, 0x80]), 0)
        XCTAssertEqual(TextFiles.firstInvalidUTF8([0xF0, 0x9F, 0x98]), 0)
        XCTAssertNil(TextFiles.firstInvalidUTF8(Array("ok 😀 한국어".utf8)))
    }

    func testEmptyFile() throws {
        let p = try tempFile([])
        XCTAssertEqual(try TextFiles.lines(p), [])
        XCTAssertThrowsError(try trainTokenizer(kind: .wordpiece, files: [p], options: TrainerOptions(vocabSize: 100))) { e in
            guard case .training(let m)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("empty"))
        }
        let tok = try Fixtures.tokenizer("minilm")
        let e = try tok.encode("")
        XCTAssertEqual(e.tokens, ["[CLS]", "[SEP]"])
        XCTAssertEqual(try tok.encodeBatch([]), [])
    }

    func testMissingFile() {
        XCTAssertThrowsError(try TextFiles.lines("/nonexistent/file.txt")) { e in
            guard case .unreadableFile? = e as? TokenizerError else { return XCTFail("\(e)") }
        }
    }

    func testHundredMegabyteSingleLine() throws {
        // 100 MB in one line (no newline): read as one line, no crash; its head encodes
        // (the full line is encoded in release mode by `pretrain bench tokenizers`).
        let unit = Array("The quick brown fox jumps over the lazy dog; café 한국어 😀. ".utf8)
        var big: [UInt8] = []
        big.reserveCapacity(100_000_000 + unit.count)
        while big.count < 100_000_000 { big += unit }
        let p = try tempFile(big)
        let lines = try TextFiles.lines(p)
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines[0].utf8.count, big.count)
        let head = String(lines[0].unicodeScalars.prefix(200_000))
        let tok = try Fixtures.tokenizer("bpe")
        let e = try tok.encode(head)
        XCTAssertGreaterThan(e.count, 40_000)
        XCTAssertEqual(e.offsets[e.count - 2].end, head.unicodeScalars.count)
    }

    func testUnknownNormalizerIsANamedError() throws {
        var text = String(decoding: try Fixtures.bytes("minilm_tokenizer.json"), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"type\":\"BertNormalizer\"", with: "\"type\":\"FancyNormalizer\"")
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array(text.utf8))) { e in
            XCTAssertEqual(e as? TokenizerError, .unknownComponent(path: "normalizer.type", type: "FancyNormalizer"))
            XCTAssertTrue("\(e)".contains("normalizer.type"))
        }
    }

    func testMalformedTokenizerJSON() throws {
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}".utf8))) { e in
            guard case .invalidField(let path, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "model.merges[0]")
        }
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}".utf8))) { e in
            guard case .invalidField(let path, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "model.vocab.a")
        }
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", -1.0]], \"unk_id\": 7}}".utf8)))
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array("{\"normalizer\": null}".utf8))) { e in
            XCTAssertEqual(e as? TokenizerError, .invalidField(path: "model", reason: "missing"))
        }
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array("{\"model\": {".utf8))) { e in
            guard case .malformedJSON? = e as? TokenizerError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Tokenizer(jsonBytes: [0xFF, 0x00]))
        let tok = try Fixtures.tokenizer("minilm")
        XCTAssertThrowsError(try tok.decode([999_999])) { e in XCTAssertEqual(e as? TokenizerError, .unknownID(999_999)) }
    }

    /// An unknown-token name that is not in the vocabulary would silently turn unknown words into
    /// id 0 (WordPiece) or whatever id it falls back to: it is a load error naming the field.
    func testUnknownTokenMustBeInTheVocabulary() throws {
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"b\": 1}}}".utf8))) { e in
            guard case .invalidField(let path, let reason)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "model.unk_token")
            XCTAssertTrue(reason.contains("'[UNK]' is not in the vocabulary"), reason)
        }
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}"#.utf8))) { e in
            guard case .invalidField(let path, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "model.unk_token")
        }
        XCTAssertNoThrow(try Tokenizer(jsonBytes: Array(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": null}}"#.utf8)))
        XCTAssertNoThrow(try Tokenizer(jsonBytes: Array(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}}}"#.utf8)))
    }

    /// Sizes and ids from the file are checked before they are used: an id near 10⁹ (which would
    /// size the vocabulary table), an added token's id past 32 bits, invalid UTF-8 in a key.
    func testIdsAndBytesFromTheFileAreChecked() throws {
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 999999999}}}"#.utf8))) { e in
            guard case .invalidField(let path, let reason)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "model.vocab")
            XCTAssertTrue(reason.contains("id 999999999 with only 2 tokens"), reason)
        }
        let added = #"{"added_tokens": [{"id": 4294967296, "content": "[X]"}], "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}"#
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array(added.utf8))) { e in
            guard case .invalidField(let path, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "added_tokens[0].id")
        }
        let tok = try Fixtures.tokenizer("minilm")
        XCTAssertThrowsError(try tok.encode("hello", padding: .some(PaddingParams(strategy: .fixed(3_000_000_000))))) { e in
            guard case .invalidField(let path, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "padding.length")
        }
        let bytes = Array(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a"#.utf8) + [0xFF] + Array(#"": 1}}}"#.utf8)
        XCTAssertThrowsError(try Tokenizer(jsonBytes: bytes)) { e in
            XCTAssertEqual(e as? TokenizerError, .malformedJSON(offset: 56, reason: "invalid UTF-8"))
        }
    }

    /// A `Split` regex that backtracks without end (`(a+)+$` on "aaaa…b" takes exponential time
    /// in ICU, as in Oniguruma) is stopped after its time budget with a named error, not a hang.
    func testRunawayRegexIsStopped() throws {
        let json = #"{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}}}"#
        let tok = try Tokenizer(jsonBytes: Array(json.utf8))
        XCTAssertEqual(try tok.encode("a", addSpecialTokens: false).ids, [1])
        let start = Date()
        XCTAssertThrowsError(try tok.encode(String(repeating: "a", count: 60) + "b", addSpecialTokens: false)) { e in
            XCTAssertEqual(e as? TokenizerError, .regexTooSlow(pattern: "(a+)+$", length: 61, seconds: Pattern.regexTimeBudget(length: 61)))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "stopped near its 1 s budget")
    }

    /// Normalizer rules that grow a text a thousandfold at each step stop at the length limit
    /// before they allocate; legitimate growth (NFKD's longest decomposition, 18×) passes.
    func testNormalizerGrowthIsBounded() throws {
        let thousand = String(repeating: "a", count: 1000)
        let grow = Normalizer.sequence(Array(repeating: .replace(.string("a"), thousand), count: 4))
        XCTAssertThrowsError(try grow.normalize("aaaa")) { e in
            XCTAssertEqual(e as? TokenizerError, .normalizedTooLong(input: 4, length: 4_000_000, limit: Normalizer.lengthLimit(forInput: 4)))
        }
        XCTAssertThrowsError(try Normalizer.sequence(Array(repeating: .prepend(thousand), count: 5)).normalize("a")) { e in
            guard case .normalizedTooLong? = e as? TokenizerError else { return XCTFail("\(e)") }
        }
        let ligatures = String(repeating: "\u{FDFA}", count: 500)
        XCTAssertEqual(try Normalizer.unicode(.nfkd).normalize(ligatures).unicodeScalars.count, 18 * 500)
    }
}
