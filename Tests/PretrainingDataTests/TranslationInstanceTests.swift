import XCTest
@testable import PretrainingData
import Tensors

/// Translation LM instances by hand: the layout, language ids, positions restarting at the second
/// sentence, truncation, either order, and masking over both sides.
final class TranslationInstanceTests: XCTestCase {
    // [PAD] 0, [CLS] 1, [SEP] 2, [MASK] 3; words from 10.
    let bert = SequenceTemplate.bert(cls: 1, sep: 2, mask: 3, pad: 0, vocabularySize: 100)
    let english: [Int32] = [10, 11, 12], spanish: [Int32] = [20, 21]

    func testPairLayoutLanguagesAndPositionsRestart() {
        let pair = TranslationPair(first: english, second: spanish, firstLanguage: 0, secondLanguage: 1)
        let i = TranslationInstances.instance(pair, template: bert, length: 16, swap: false)
        XCTAssertEqual(i.ids, [1, 10, 11, 12, 2, 20, 21, 2])
        XCTAssertEqual(i.tokenTypes, [0, 0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(i.languages, [0, 0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(i.positions, [0, 1, 2, 3, 4, 0, 1, 2])
        XCTAssertEqual(i.isSpecial, [true, false, false, false, true, false, false, true])
        // Swapped: Spanish first, with its language; RoBERTa's positions start after padding_idx.
        let roberta = SequenceTemplate.roberta(bos: 0, eos: 2, mask: 4, pad: 1, vocabularySize: 100)
        let s = TranslationInstances.instance(pair, template: roberta, length: 16, positionOffset: 2, swap: true)
        XCTAssertEqual(s.ids, [0, 20, 21, 2, 2, 10, 11, 12, 2])
        XCTAssertEqual(s.languages, [1, 1, 1, 1, 1, 0, 0, 0, 0])
        XCTAssertEqual(s.positions, [2, 3, 4, 5, 6, 2, 3, 4, 5])
    }

    func testTheLongerSideIsCutToFit() {
        let pair = TranslationPair(first: Array(10..<30), second: [40, 41, 42], firstLanguage: 0, secondLanguage: 1)
        let i = TranslationInstances.instance(pair, template: bert, length: 12, swap: false)
        XCTAssertEqual(i.ids.count, 12)
        XCTAssertEqual(i.ids, [1] + Array(10..<16) + [2, 40, 41, 42, 2])
        let tiny = TranslationInstances.instance(pair, template: bert, length: 5, swap: false)
        XCTAssertEqual(tiny.ids, [1, 10, 2, 40, 2])
    }

    func testMonolingualInstance() {
        let i = TranslationInstances.monolingual(spanish, language: 1, template: bert, length: 16, positionOffset: 0)
        XCTAssertEqual(i.ids, [1, 20, 21, 2])
        XCTAssertEqual(i.languages, [1, 1, 1, 1])
        XCTAssertEqual(i.positions, [0, 1, 2, 3])
        XCTAssertEqual(TranslationInstances.monolingual(Array(10..<40), language: 0, template: bert, length: 6).ids.count, 6)
    }

    /// MLM masking picks tokens of both sentences, never a special.
    func testMaskingCoversBothSides() throws {
        let pair = TranslationPair(first: Array(10..<22), second: Array(40..<52), firstLanguage: 0, secondLanguage: 1)
        let instance = TranslationInstances.instance(pair, template: bert, length: 64, swap: false)
        let masking = try MaskingConfig(template: bert, probability: 0.15)
        var sides = (first: 0, second: 0)
        for seed in 0..<200 {
            var rng = RandomGenerator(seed: UInt64(seed))
            let masked = masking.mask(instance, using: &rng)
            for p in masked.positions {
                XCTAssertFalse(instance.isSpecial[Int(p)])
                if instance.languages?[Int(p)] == 0 { sides.first += 1 } else { sides.second += 1 }
            }
        }
        XCTAssertGreaterThan(sides.first, 150)
        XCTAssertGreaterThan(sides.second, 150)
    }
}

/// Reading the parallel corpus `pretrain corpus parallel` writes.
final class ParallelCorpusFileTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parallel-\(UUID().uuidString).tsv")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testReferencesParseBooksWithSpaces() {
        XCTAssertEqual(VerseReference(parsing: "I John 3:16"), VerseReference(book: "I John", chapter: 3, verse: 16))
        XCTAssertEqual(VerseReference(parsing: "Song of Solomon 2:1"), VerseReference(book: "Song of Solomon", chapter: 2, verse: 1))
        for bad in ["John", "John 3", "John 3:x", "3:16", " 3:16", "John 0:1"] { XCTAssertNil(VerseReference(parsing: bad), bad) }
    }

    func testWrittenVersesReadBack() throws {
        let verses = ParallelVerses(pairs: [(VerseReference(book: "Genesis", chapter: 1, verse: 1), "In the beginning", "En el principio"),
                                            (VerseReference(book: "I John", chapter: 1, verse: 2), "tab\tinside", "línea\nrota")])
        let read = try ParallelVerses.read(files: [try write(verses.tabSeparated())])
        XCTAssertEqual(read.verses.pairs.map(\.reference), verses.pairs.map(\.reference))
        XCTAssertEqual(read.verses.pairs.map(\.first), ["In the beginning", "tab inside"])
        XCTAssertEqual(read.verses.pairs.map(\.second), ["En el principio", "línea rota"])
        XCTAssertEqual(read.invalidUTF8Lines, 0)
        // As documents: each line one document of its two sides.
        let docs = Array(try documents(files: [try write(verses.tabSeparated())], format: .parallel))
        XCTAssertEqual(docs, [["In the beginning", "En el principio"], ["tab inside", "línea rota"]])
    }

    func testMalformedLinesAreNamed() throws {
        let cases = ["Genesis 1:1\tonly one side\n": "2 tab-separated fields, not 3",
                     "Genesis\ta\tb\n": "'Genesis' is not a reference",
                     "Genesis 1:1\t \tb\n": "a side is empty"]
        for (text, message) in cases {
            let path = try write("Genesis 1:2\tfine\tbien\n" + text)
            XCTAssertThrowsError(try ParallelVerses.read(files: [path])) { error in
                XCTAssertTrue("\(error)".contains("line 2: \(message)"), "\(error)")
            }
        }
        XCTAssertThrowsError(try ParallelVerses.read(files: [try write("\n\n")])) { error in
            guard case CorpusError.emptyCorpus = error else { return XCTFail("\(error)") }
        }
    }
}
