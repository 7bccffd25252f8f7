import Foundation
import XCTest
@testable import PretrainingData

/// A fresh temporary folder per test.
func temporaryFolder(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pd-\(name.filter(\.isLetter))-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

final class CorpusReaderTests: XCTestCase {
    func all(_ s: DocumentStream) throws -> [[String]] {
        var out: [[String]] = []
        while let d = try s.nextDocument() { out.append(d) }
        return out
    }

    func testPlainTextDocumentsAreSeparatedByBlankLines() throws {
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("c.txt")
        try Data("first one.\nsecond one.\r\n\n\n  \nthird.\n\nfourth".utf8).write(to: f)
        let s = try documents(files: [f.path], format: .text)
        XCTAssertEqual(try all(s), [["first one.", "second one."], ["third."], ["fourth"]])
        XCTAssertEqual(s.statistics.documents, 3)
        XCTAssertEqual(s.statistics.lines, 4)
    }

    func testFolderReadsTxtFilesSortedAndEachFileEndsADocument() throws {
        let dir = try temporaryFolder()
        try Data("b1\nb2".utf8).write(to: dir.appendingPathComponent("b.txt"))
        try Data("a1\n\na2\n".utf8).write(to: dir.appendingPathComponent("a.txt"))
        try Data("ignored".utf8).write(to: dir.appendingPathComponent("c.md"))
        let s = try documents(files: [dir.path], format: .folder)
        XCTAssertEqual(try all(s), [["a1"], ["a2"], ["b1", "b2"]])
    }

    func testJSONLTakesTheTextFieldAndSplitsLines() throws {
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("c.jsonl")
        try Data("{\"body\": \"one\\ntwo\", \"id\": 1}\n\n{\"body\": \"three\"}\n{\"body\": \"\"}\n".utf8).write(to: f)
        let s = try documents(files: [f.path], format: .jsonl, textField: "body")
        XCTAssertEqual(try all(s), [["one", "two"], ["three"]])
        XCTAssertEqual(s.statistics.emptyDocuments, 1)
        let bad = try documents(files: [f.path], format: .jsonl)
        XCTAssertThrowsError(try all(bad)) { e in
            guard case CorpusError.badJSONLine(_, 1, "text", _)? = e as? CorpusError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("--text-field"))
        }
    }

    func testInvalidUTF8LinesAreSkippedAndCounted() throws {
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("c.txt")
        try Data([0x6F, 0x6B, 0x0A, 0xFF, 0xFE, 0x0A, 0x61, 0xC3, 0xA9, 0x0A]).write(to: f)
        let s = try documents(files: [f.path], format: .text)
        XCTAssertEqual(try all(s), [["ok", "aé"]])
        XCTAssertEqual(s.statistics.invalidUTF8Lines, 1)
    }

    func testMissingFileAndEmptyCorpusAreNamedErrors() throws {
        XCTAssertThrowsError(try documents(files: ["/nonexistent/x.txt"], format: .text)) { e in
            XCTAssertEqual(e as? CorpusError, .missingFile(path: "/nonexistent/x.txt"))
            XCTAssertTrue("\(e)".contains("Check the path"))
        }
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("empty.txt")
        try Data("\n  \n\n".utf8).write(to: f)
        let s = try documents(files: [f.path], format: .text)
        XCTAssertThrowsError(try s.nextDocument()) { e in
            guard case CorpusError.emptyCorpus? = e as? CorpusError else { return XCTFail("\(e)") }
        }
        let sub = dir.appendingPathComponent("none")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        XCTAssertThrowsError(try documents(files: [sub.path], format: .folder)) { e in
            guard case CorpusError.emptyFolder? = e as? CorpusError else { return XCTFail("\(e)") }
        }
    }

    func testAVeryLongLineIsSplitAtWhitespaceIntoBoundedPieces() throws {
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("long.txt")
        let word = "abcdefghi "  // 10 bytes
        var text = String(repeating: word, count: 250_000)  // 2.5 MB, one line
        text += "\nnext line\n"
        try Data(text.utf8).write(to: f)
        let s = try documents(files: [f.path], format: .text)
        let docs = try all(s)
        XCTAssertEqual(docs.count, 1)
        let pieces = docs[0].dropLast()
        XCTAssertEqual(docs[0].last, "next line")
        XCTAssertGreaterThanOrEqual(pieces.count, 250)
        XCTAssertTrue(pieces.allSatisfy { $0.utf8.count <= CorpusLimits.maxLineBytes })
        XCTAssertTrue(pieces.allSatisfy { $0.hasPrefix("abcdefghi") }, "cut at whitespace, not inside a word")
        XCTAssertEqual(pieces.joined().utf8.count, 2_500_000)
        XCTAssertEqual(s.statistics.splitLongLines, 1)
        // Without whitespace the cut still lands on a character boundary.
        let g = dir.appendingPathComponent("nospace.txt")
        try Data(String(repeating: "é", count: 30_001).utf8).write(to: g)
        let t = try all(try documents(files: [g.path], format: .text))
        XCTAssertEqual(t[0].joined(), String(repeating: "é", count: 30_001))
        XCTAssertTrue(t[0].allSatisfy { $0.utf8.count <= CorpusLimits.maxLineBytes })
    }

    func testTextCorpusWriterRoundTrips() throws {
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("out.txt")
        let w = try TextCorpusWriter(path: f.path)
        try w.write(document: ["a b", "c"])
        try w.write(document: ["d"])
        try w.finish()
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.path + ".tmp"))
        XCTAssertEqual(try all(try documents(files: [f.path], format: .text)), [["a b", "c"], ["d"]])
    }
}
