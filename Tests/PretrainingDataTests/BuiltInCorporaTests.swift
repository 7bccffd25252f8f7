import Foundation
import XCTest
@testable import PretrainingData

/// The repository root (for data/gcide).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class BuiltInCorporaTests: XCTestCase {
    /// The corpus's stream, or a skip naming the OS package when it is not installed.
    func stream(_ c: BuiltInCorpus) throws -> DocumentStream {
        let data = repositoryRoot.appendingPathComponent("data")
        if let remedy = c.missingRequirement(dataDirectory: data) {
            // `make test` (and so CI) installs the data first and sets PRETRAIN_REQUIRE_DATA: there a
            // missing corpus is a failure; a bare `swift test` on a machine without it skips, saying why.
            if ProcessInfo.processInfo.environment["PRETRAIN_REQUIRE_DATA"] != nil {
                throw MissingCorpus(description: "built-in corpus '\(c.rawValue)' is missing although setup ran: \(remedy)")
            }
            throw XCTSkip("built-in corpus '\(c.rawValue)' needs its OS package/data, which is absent here: \(remedy)")
        }
        return try c.documents(dataDirectory: data)
    }

    func testWordNetGlossesAndExamples() throws {
        let s = try stream(.wordnet)
        var first: [String]?
        var withExample = 0
        while let d = try s.nextDocument() {
            if first == nil { first = d }
            if d.count > 1 { withExample += 1 }
        }
        // data.noun's first synset is "entity".
        XCTAssertEqual(first?.first, "that which is perceived or known or inferred to have its own distinct existence (living or nonliving)")
        XCTAssertGreaterThan(s.statistics.documents, 115_000)
        XCTAssertLessThan(s.statistics.documents, 120_000)
        XCTAssertGreaterThan(withExample, 30_000)
        XCTAssertEqual(s.statistics.invalidUTF8Lines, 0)
    }

    func testWorldEnglishBibleChaptersAndVerses() throws {
        let s = try stream(.web)
        guard let genesis1 = try s.nextDocument() else { return XCTFail("no document") }
        XCTAssertEqual(genesis1.count, 31)
        XCTAssertTrue(genesis1[0].hasPrefix("In the beginning, God"), genesis1[0])
        XCTAssertTrue(genesis1[0].hasSuffix("created the heavens and the earth."), genesis1[0])
        var last: [String] = genesis1
        while let d = try s.nextDocument() { last = d }
        XCTAssertEqual(last.last, "The grace of the Lord Jesus Christ be with all the saints. Amen.")
        XCTAssertGreaterThan(s.statistics.lines, 35_000)
        XCTAssertLessThan(s.statistics.lines, 40_000)
        XCTAssertGreaterThan(s.statistics.documents, 1_189)
    }

    func testReinaValeraChaptersAndVersesWithoutMarkup() throws {
        let s = try stream(.rv1909)
        guard let genesis1 = try s.nextDocument() else { return XCTFail("no document") }
        XCTAssertEqual(genesis1.count, 31)
        XCTAssertEqual(genesis1.first, "EN el principio crió Dios los cielos y la tierra.")
        var last = genesis1, documents = [genesis1]
        while let d = try s.nextDocument() { last = d; documents.append(d) }
        // Strong's numbers are dropped: "Jesucristo <G5547> sea" → "Jesucristo sea".
        XCTAssertEqual(last.last, "La gracia de nuestro Señor Jesucristo sea con todos vosotros. Amén.")
        XCTAssertFalse(documents.joined().contains { $0.contains("<") || $0.contains(">") })
        XCTAssertEqual(s.statistics.documents, 1_189)
        XCTAssertGreaterThan(s.statistics.lines, 30_000)
        XCTAssertLessThan(s.statistics.lines, 31_200)
        XCTAssertEqual(s.statistics.invalidUTF8Lines, 0)
        XCTAssertEqual(removeMarkup("a <G0846>b <H3967> c"), "a b  c")
    }

    /// The WEB and the Reina-Valera align verse by verse (the TLM corpus), whole books held out.
    func testEnglishSpanishVersesAlignByReference() throws {
        _ = try stream(.web); _ = try stream(.rv1909)  // skips or fails, as above, when a module is missing
        let english = try BuiltInCorpus.web.referencedVerses(), spanish = try BuiltInCorpus.rv1909.referencedVerses()
        XCTAssertEqual(english.first?.reference, VerseReference(book: "Genesis", chapter: 1, verse: 1))
        let parallel = ParallelVerses(english, spanish)
        XCTAssertGreaterThan(parallel.pairs.count, 30_000)
        XCTAssertLessThanOrEqual(parallel.pairs.count, spanish.count)
        let first = try XCTUnwrap(parallel.pairs.first)
        XCTAssertTrue(first.first.hasPrefix("In the beginning, God"), first.first)
        XCTAssertEqual(first.second, "EN el principio crió Dios los cielos y la tierra.")
        let psalm = try XCTUnwrap(parallel.pairs.first { $0.reference == VerseReference(book: "Psalms", chapter: 23, verse: 1) })
        XCTAssertTrue(psalm.first.contains("Yahweh is my shepherd"), psalm.first)
        XCTAssertTrue(psalm.second.contains("JEHOVÁ es mi pastor"), psalm.second)
        XCTAssertEqual(parallel.books.count, 66, "the 66 books both translations have: \(parallel.books)")
        let (train, heldout) = parallel.split(heldoutBooks: ["Ruth", "Jude"])
        XCTAssertEqual(train.count + heldout.count, parallel.pairs.count)
        XCTAssertEqual(Set(heldout.map(\.reference.book)), ["Ruth", "Jude"])
        XCTAssertEqual(heldout.count, 85 + 25)
    }

    func testParallelVersesKeepTheSharedReferencesInTheFirstOrder() {
        let r = { (c: Int, v: Int) in VerseReference(book: "Genesis", chapter: c, verse: v) }
        let a = [ReferencedVerse(reference: r(1, 1), text: "a1"), ReferencedVerse(reference: r(1, 2), text: "a2"), ReferencedVerse(reference: r(2, 1), text: "a3")]
        let b = [ReferencedVerse(reference: r(2, 1), text: "b3"), ReferencedVerse(reference: r(1, 1), text: "b1")]
        let parallel = ParallelVerses(a, b)
        XCTAssertEqual(parallel.pairs.map(\.reference), [r(1, 1), r(2, 1)])
        XCTAssertEqual(parallel.pairs.map(\.second), ["b1", "b3"])
        let tabbed = ParallelVerses([ReferencedVerse(reference: r(3, 4), text: "x\ty")], [ReferencedVerse(reference: r(3, 4), text: "z")])
        XCTAssertEqual(tabbed.tabSeparated(), "Genesis 3:4\tx y\tz\n")
    }

    func testKingJamesBibleChaptersAndVerses() throws {
        let s = try stream(.kjv)
        guard let genesis1 = try s.nextDocument() else { return XCTFail("no document") }
        XCTAssertEqual(genesis1.first, "In the beginning God created the heaven and the earth.")
        XCTAssertEqual(genesis1.count, 31)
        while try s.nextDocument() != nil {}
        XCTAssertEqual(s.statistics.documents, 1_189)
        XCTAssertEqual(s.statistics.lines, 31_102)
    }

    func testFortunesQuotes() throws {
        let s = try stream(.fortunes)
        var docs = 0
        var sawBackspace = false
        while let d = try s.nextDocument() {
            docs += 1
            if d.contains(where: { $0.contains("\u{8}") || $0 == "%" }) { sawBackspace = true }
        }
        XCTAssertFalse(sawBackspace, "overstriking and separators are removed")
        XCTAssertGreaterThan(docs, 10_000)
        XCTAssertLessThan(docs, 25_000)
    }

    func testGCIDEEntriesWithoutMarkup() throws {
        let s = try stream(.gcide)
        var abandon: [String]?
        var count = 0
        while let d = try s.nextDocument() {
            count += 1
            if abandon == nil && d.first == "Abandon" { abandon = d }
        }
        let a = try XCTUnwrap(abandon)
        XCTAssertEqual(a[1], "1. To cast or drive out; to banish; to expel; to reject.")
        XCTAssertTrue(a.contains { $0.hasPrefix("That he might . . . abandon them from him.") }, "\(a)")
        XCTAssertFalse(a.joined().contains("[1913 Webster]"))
        XCTAssertFalse(a.joined().contains("\\"))
        XCTAssertGreaterThan(count, 100_000)
    }

    func testGCIDEEntryCleaning() {
        let entry = "Cat \\Cat\\, v. t. [imp. & p. p. {Catted}; p. pr. & vb. n.\n   {Catting}.] (Naut.)\n   To bring to the cathead; as, to cat an anchor. See {Anchor}.\n   --Totten.\n   [1913 Webster]\n"
        XCTAssertEqual(gcideEntryDocument(entry), ["Cat", "To bring to the cathead; as, to cat an anchor. See Anchor. --Totten."])
    }

    func testWordNetGlossSplitting() {
        let (d, e) = splitGloss("a small; very small; \"a tiny; thing\"; \"another\"  ")
        XCTAssertEqual(d, "a small; very small")
        XCTAssertEqual(e, ["a tiny; thing", "another"])
    }

    func testVerseHeaderParsing() {
        let h = parseVerseHeader("  Revelation of John 22:21: The grace")
        XCTAssertEqual(h?.book, "Revelation of John")
        XCTAssertEqual(h?.chapter, 22)
        XCTAssertEqual(h?.verse, 21)
        XCTAssertEqual(h?.text, "The grace")
        XCTAssertNil(parseVerseHeader("For the Chief Musician: A Psalm"))
    }
}

/// A built-in corpus absent where the data must be installed (a test error, so a failure).
struct MissingCorpus: Error, CustomStringConvertible {
    let description: String
}
