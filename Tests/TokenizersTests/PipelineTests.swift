import Foundation
import XCTest
@testable import Tokenizers

/// Unit checks of pieces not covered by the parity fixtures.
final class PipelineTests: XCTestCase {
    func testLegacyVocabTxt() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "##est", "fox", ".", "qu", "##ick"].joined(separator: "\n") + "\n"
        let tok = try Tokenizer.bert(vocabTxt: vocab)
        let e = try tok.encode("The quickest FOX.")
        XCTAssertEqual(e.tokens, ["[CLS]", "the", "quick", "##est", "fox", ".", "[SEP]"])
        XCTAssertEqual(e.wordIDs, [nil, 0, 1, 1, 2, 3, nil])
        XCTAssertEqual(try tok.decode(e.ids, skipSpecialTokens: true), "the quickest fox.")
    }

    func testLoadFromFolderOrVocabTxt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n".utf8).write(to: dir.appendingPathComponent("vocab.txt"))
        let a = try Tokenizer.load(path: dir.path)
        let b = try Tokenizer.load(path: dir.appendingPathComponent("vocab.txt").path)
        XCTAssertEqual(try a.encode("Hello there").tokens, ["[CLS]", "hello", "[UNK]", "[SEP]"])
        XCTAssertEqual(try a.encode("Hello"), try b.encode("Hello"))
        XCTAssertThrowsError(try Tokenizer.load(path: dir.appendingPathComponent("missing").path))
    }

    func testLegacyVocabJSONAndMerges() throws {
        var vocab: [(String, Int)] = []
        for b in 0..<256 { vocab.append((String(Character(Unicode.Scalar(byteToUnicode[b])!)), b)) }
        vocab += [("Ġ" + "w", 256), ("or", 257), ("Ġwor", 258), ("ld", 259), ("Ġworld", 260), ("<s>", 261), ("</s>", 262)]
        let json = JSONValue.object(vocab.map { ($0.0, .number(Double($0.1))) }).serialized()
        let merges = "#version: 0.2\nĠ w\no r\nĠw or\nl d\nĠwor ld\n"
        let tok = try Tokenizer.byteLevelBPE(vocabJSON: json, mergesTxt: merges)
        let e = try tok.encode("hello world")
        XCTAssertEqual(e.tokens.suffix(2), ["Ġworld", "</s>"])
        XCTAssertEqual(e.offsets[e.count - 2], .init(6, 11), "RoBERTa trims the leading space from offsets")
        XCTAssertEqual(try tok.decode(e.ids, skipSpecialTokens: true), "hello world")
    }

    func testUnigramByteFallbackAndFusedUnknown() throws {
        var pieces: [(String, Double)] = [("<unk>", 0), ("▁a", -1), ("b", -2)]
        for b in 0..<256 { pieces.append((byteToken(UInt8(b)), -5)) }
        let uni = try Unigram(pieces: pieces, unkID: 0, byteFallback: true)
        let toks = uni.tokenize(Array("▁a한".unicodeScalars.map(\.value)))
        XCTAssertEqual(toks.map(\.value), [nil, "<0xED>", "<0x95>", "<0x9C>"])
        let plain = try Unigram(pieces: [("<unk>", 0), ("a", -1)], unkID: 0)
        let t2 = plain.tokenize(Array("a한국a".unicodeScalars.map(\.value)))
        XCTAssertEqual(t2.map(\.id), [1, 0, 1])
        XCTAssertEqual(t2[1].value, "한국")
        XCTAssertEqual(try Decoder.sequence([.byteFallback, .fuse]).decode(["<0xED>", "<0x95>", "<0x9C>", "x"]), "한x")
    }

    func testAddedTokenOptions() throws {
        var config = try TokenizerJSON(bytes: Fixtures.bytes("bpe_tokenizer.json"))
        let base = config.model.vocabulary.count
        config.addedTokens.append(AddedToken(content: "zz", id: base, special: false, singleWord: true, lstrip: false, rstrip: true, normalized: false))
        let tok = try Tokenizer(config: config)
        let e = try tok.encode("zz  a zzb", addSpecialTokens: false)
        XCTAssertEqual(e.ids.first, base)
        XCTAssertEqual(e.ids.filter { $0 == base }.count, 1, "zz inside a word is not split out (single_word)")
        XCTAssertEqual(e.specialTokensMask.first, 0)
    }

    func testNormalizersAndPreTokenizers() throws {
        XCTAssertEqual(try Normalizer.unicode(.nfkc).normalize("ﬁ Ｆ ①"), "fi F 1")
        XCTAssertEqual(try Normalizer.unicode(.nfd).normalize("é").unicodeScalars.count, 2)
        XCTAssertEqual(try Normalizer.unicode(.nfc).normalize("e\u{301}").unicodeScalars.map(\.value), [0xE9])
        XCTAssertEqual(try Normalizer.sequence([.strip(left: true, right: true), .lowercase]).normalize("  HeLLo  "), "hello")
        // Checked against tokenizers' normalizers.Nmt().
        XCTAssertEqual(try Normalizer.nmt.normalize("a\u{1}b\u{B}c\u{2028}d\u{200E}e\u{2581}f\u{FFFD}g\u{8F}h\ti"), "abc d e f gh i")
        func pieces(_ p: PreTokenizer, _ s: String) throws -> [String] {
            var pre = PreTokenizedString(splits: [.init(normalized: NormalizedString(s), tokens: nil)])
            try p.preTokenize(&pre)
            return pre.splits.map { $0.normalized.string }
        }
        XCTAssertEqual(try pieces(.whitespace, "Hey, you!! ok"), ["Hey", ",", "you", "!!", "ok"])
        XCTAssertEqual(try pieces(.digits(individualDigits: true), "a123"), ["a", "1", "2", "3"])
        XCTAssertEqual(try pieces(.digits(individualDigits: false), "a123b"), ["a", "123", "b"])
        XCTAssertEqual(try pieces(.punctuation(.isolated), "a,b"), ["a", ",", "b"])
        XCTAssertEqual(try pieces(.split(pattern: .string("-"), behavior: .mergedWithPrevious, invert: false), "a-b-c"), ["a-", "b-", "c"])
        XCTAssertEqual(try pieces(.split(pattern: .regex("\\d+"), behavior: .isolated, invert: false), "ab12cd"), ["ab", "12", "cd"])
        XCTAssertEqual(try pieces(.metaspace(replacement: 0x2581, prependScheme: .always, split: true), "hi  there"), ["▁hi", "▁", "▁there"])
        XCTAssertEqual(try pieces(.byteLevel(addPrefixSpace: true, trimOffsets: true, useRegex: true), "it's"), ["Ġit", "'s"])
    }

    func testTruncationLeftAndPaddingLeft() throws {
        let tok = try Fixtures.tokenizer("minilm")
        let e = try tok.encode("one two three four five six", truncation: .some(TruncationParams(maxLength: 5, direction: .left)),
                               padding: .some(PaddingParams(strategy: .fixed(8), direction: .left)))
        XCTAssertEqual(e.tokens, ["[PAD]", "[PAD]", "[PAD]", "[CLS]", "four", "five", "six", "[SEP]"])
        XCTAssertEqual(e.attentionMask, [0, 0, 0, 1, 1, 1, 1, 1])
        let single = try tok.encode("one two", padding: .some(PaddingParams(strategy: .batchLongest, padToMultipleOf: 8)))
        XCTAssertEqual(single.count, 8, "batch-longest on one input still rounds up to the multiple (as Hugging Face)")
        XCTAssertEqual(e.overflowing.first?.tokens, ["[PAD]", "[PAD]", "[PAD]", "[CLS]", "one", "two", "three", "[SEP]"], "overflowing windows are padded too")
    }
}
