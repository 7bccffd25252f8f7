import Foundation
import XCTest
@testable import Tasks

/// Loaders on small inline files, good and malformed.
final class LoaderTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tasks-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func file(_ name: String, _ text: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Asserts that `body` throws a TaskDataError naming `path` and `line` in its message.
    func assertError(_ path: String, line: Int, contains word: String, file f: StaticString = #filePath, line l: UInt = #line,
                     _ body: () throws -> Any) {
        XCTAssertThrowsError(try body(), file: f, line: l) { error in
            guard let e = error as? TaskDataError else { return XCTFail("not a TaskDataError: \(error)", file: f, line: l) }
            XCTAssertEqual(e.line, line, "\(e)", file: f, line: l)
            XCTAssertTrue(e.description.contains("\(path):\(line):"), "\(e)", file: f, line: l)
            XCTAssertTrue(e.description.contains(word), "\(e)", file: f, line: l)
        }
    }

    func testTSVByColumnName() throws {
        let p = try file("train.tsv", "id\tsentence1\tsentence2\tlabel\n1\tA man eats.\tSomeone eats.\tentailment\n2\tIt rains.\tIt is dry.\tcontradiction\n")
        let ex = try TaskLoaders.classification(path: p, format: .tsv, columns: ColumnSelection(text: "sentence1", pair: "sentence2", label: "label"))
        XCTAssertEqual(ex, [TextClassificationExample(text: "A man eats.", pair: "Someone eats.", label: .category("entailment")),
                            TextClassificationExample(text: "It rains.", pair: "It is dry.", label: .category("contradiction"))])
        let r = try file("sts.tsv", "s1\ts2\tscore\na\tb\t3.8\n")
        XCTAssertEqual(try TaskLoaders.classification(path: r, format: .tsv, columns: .init(text: "s1", pair: "s2", label: "score"), regression: true).first?.label,
                       .value(3.8))
    }

    func testTSVErrors() throws {
        let p = try file("bad.tsv", "sentence\tlabel\ngood\t1\ntoo\tmany\tcolumns\n")
        assertError(p, line: 3, contains: "3 columns, expected 2") {
            try TaskLoaders.classification(path: p, format: .tsv, columns: .init(text: "sentence", label: "label"))
        }
        let q = try file("label.tsv", "sentence\tlabel\ngood\t1\nbad\t7\n")
        assertError(q, line: 3, contains: "label \"7\"") {
            try TaskLoaders.classification(path: q, format: .tsv, columns: .init(text: "sentence", label: "label"), allowedLabels: ["0", "1"])
        }
        let r = try file("reg.tsv", "s\tscore\na\tlots\n")
        assertError(r, line: 2, contains: "not a number") {
            try TaskLoaders.classification(path: r, format: .tsv, columns: .init(text: "s", label: "score"), regression: true)
        }
        assertError(q, line: 1, contains: "no column \"text\"") {
            try TaskLoaders.classification(path: q, format: .tsv, columns: .init(text: "text", label: "label"))
        }
    }

    func testCSVQuoting() throws {
        let p = try file("a.csv", "\u{FEFF}label,text\r\n1,\"Hello, world\"\r\n0,\"She said \"\"no\"\".\"\n1,\"two\nlines\"\n0,plain\n")
        let ex = try TaskLoaders.classification(path: p, format: .csv, columns: .init(text: "text", label: "label"))
        XCTAssertEqual(ex.map(\.text), ["Hello, world", "She said \"no\".", "two\nlines", "plain"])
        XCTAssertEqual(ex.map(\.label), [.category("1"), .category("0"), .category("1"), .category("0")])
        let rows = try TaskLoaders.records(path: p, format: .csv)
        XCTAssertEqual(rows.map(\.line), [1, 2, 3, 4, 6], "records start on their own line, after a quoted newline too")
    }

    func testCSVErrors() throws {
        let p = try file("open.csv", "label,text\n1,fine\n0,\"never closed\n1,more\n")
        assertError(p, line: 3, contains: "unterminated") { try TaskLoaders.records(path: p, format: .csv) }
        let q = try file("stray.csv", "label,text\n1,fi\"ne\n")
        assertError(q, line: 2, contains: "quote") { try TaskLoaders.records(path: q, format: .csv) }
        let r = try file("count.csv", "label,text\n1,\"a, b\"\n0,a, b\n")
        assertError(r, line: 3, contains: "3 columns") { try TaskLoaders.classification(path: r, format: .csv, columns: .init(text: "text", label: "label")) }
    }

    func testJSONL() throws {
        let p = try file("a.jsonl", "{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": \"neg\", \"extra\": [1]}\n")
        let ex = try TaskLoaders.classificationJSONL(path: p, fields: .init(text: "text", label: "label"))
        XCTAssertEqual(ex, [.init(text: "good", label: .category("1")), .init(text: "bad", label: .category("neg"))])
        let q = try file("bad.jsonl", "{\"text\": \"good\", \"label\": 1}\n{\"text\": \"bad\", \"label\": }\n")
        assertError(q, line: 2, contains: "bad JSON") { try TaskLoaders.classificationJSONL(path: q, fields: .init(text: "text", label: "label")) }
        let r = try file("missing.jsonl", "{\"text\": \"good\", \"label\": 1}\n{\"text\": \"bad\"}\n")
        assertError(r, line: 2, contains: "no column \"label\"") { try TaskLoaders.classificationJSONL(path: r, fields: .init(text: "text", label: "label")) }
    }

    static let squad = """
    {"version": "v2.0", "data": [{"title": "T", "paragraphs": [
      {"context": "Café owners in Paris open at 7.",
       "qas": [
        {"id": "q1", "question": "Who opens?", "answers": [{"text": "Café owners", "answer_start": 0}, {"text": "owners", "answer_start": 5}]},
        {"id": "q2", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 15}]},
        {"id": "q3", "question": "When do they close?", "answers": [], "is_impossible": true}
       ]}]}]}
    """

    func testSQuAD() throws {
        let p = try file("squad.json", Self.squad)
        let ex = try TaskLoaders.squad(path: p)
        XCTAssertEqual(ex.count, 3)
        XCTAssertEqual(ex[0].answers, [QuestionAnswer(text: "Café owners", characterStart: 0), QuestionAnswer(text: "owners", characterStart: 5)])
        XCTAssertEqual(ex[1].answers.first?.characterEnd, 20)
        XCTAssertTrue(ex[2].isImpossible)
        XCTAssertEqual(ex[2].answers, [])
        // Numeric ids are text too; one too large for an Int (it used to trap) keeps its digits' value.
        let numeric = try file("ids.json", Self.squad.replacingOccurrences(of: "\"id\": \"q3\"", with: "\"id\": 1e300")
            .replacingOccurrences(of: "\"id\": \"q1\"", with: "\"id\": 7"))
        XCTAssertEqual(try TaskLoaders.squad(path: numeric).map(\.id), ["7", "q2", "1e+300"])
    }

    func testSQuADErrors() throws {
        let mismatch = try file("m.json", Self.squad.replacingOccurrences(of: "\"answer_start\": 15", with: "\"answer_start\": 14"))
        assertError(mismatch, line: 5, contains: "does not match") { try TaskLoaders.squad(path: mismatch) }
        let outside = try file("o.json", Self.squad.replacingOccurrences(of: "\"answer_start\": 15", with: "\"answer_start\": 30"))
        assertError(outside, line: 5, contains: "outside the context") { try TaskLoaders.squad(path: outside) }
        let broken = try file("b.json", Self.squad.replacingOccurrences(of: "\"Where?\",", with: "\"Where?\""))
        assertError(broken, line: 5, contains: "bad JSON") { try TaskLoaders.squad(path: broken) }
        let noAnswer = try file("n.json", Self.squad.replacingOccurrences(of: ", \"is_impossible\": true", with: ""))
        assertError(noAnswer, line: 6, contains: "no answers") { try TaskLoaders.squad(path: noAnswer) }
    }

    func testRACE() throws {
        let one = """
        {"id": "high1.txt", "article": "Tom likes tea.",
         "questions": ["What does Tom like?", "Who likes tea?"],
         "options": [["coffee", "tea", "milk", "water"], ["Tom", "Ann", "Bob", "Sue"]],
         "answers": ["B", "A"]}
        """
        let p = try file("race.json", one)
        let ex = try TaskLoaders.race(path: p)
        XCTAssertEqual(ex.map(\.label), [1, 0])
        XCTAssertEqual(ex[0].id, "high1.txt-0")
        XCTAssertEqual(ex[0].options[1], "tea")
        let lines = try file("race.jsonl", one.replacingOccurrences(of: "\n", with: " ") + "\n" + one.replacingOccurrences(of: "\n", with: " ")
                              .replacingOccurrences(of: "\"A\"]", with: "\"E\"]") + "\n")
        assertError(lines, line: 2, contains: "answer \"E\"") { try TaskLoaders.race(path: lines) }
        XCTAssertEqual(try TaskLoaders.race(path: try file("ok.jsonl", String(repeating: one.replacingOccurrences(of: "\n", with: " ") + "\n", count: 2))).count, 4)
        let bad = try file("bad.json", one.replacingOccurrences(of: "\"B\", \"A\"", with: "\"B\", \"F\""))
        assertError(bad, line: 4, contains: "answer \"F\"") { try TaskLoaders.race(path: bad) }
        let broken = try file("broken.json", one.replacingOccurrences(of: "[\"Tom\"", with: "[\"Tom"))
        XCTAssertThrowsError(try TaskLoaders.race(path: broken)) { e in XCTAssertTrue("\(e)".contains("bad JSON"), "\(e)") }
        // Every question needs the same number of options (one (B, C) block per batch): FILE:LINE.
        let uneven = try file("uneven.jsonl", one.replacingOccurrences(of: "\n", with: " ") + "\n"
                              + one.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: ", \"Sue\"]", with: "]") + "\n")
        assertError(uneven, line: 2, contains: "question 2 has 3 options, the first question of the file 4") { try TaskLoaders.race(path: uneven) }
    }

    func testCoNLL() throws {
        let p = try file("ner.conll", "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n")
        let ex = try TaskLoaders.conll(path: p)
        XCTAssertEqual(ex, [TokenTaggingExample(words: ["EU", "rejects"], tags: ["B-ORG", "O"]),
                            TokenTaggingExample(words: ["Peter", "Blackburn"], tags: ["B-PER", "I-PER"])])
        XCTAssertEqual(try TaskLoaders.conll(path: p, tagColumn: 1).first?.tags, ["NNP", "VBZ"])
        let q = try file("bad.conll", "EU B-ORG\nrejects\n")
        assertError(q, line: 2, contains: "one column") { try TaskLoaders.conll(path: q) }
        let r = try file("ragged.conll", "EU NNP B-ORG\nrejects O\n")
        assertError(r, line: 2, contains: "2 columns, expected 3") { try TaskLoaders.conll(path: r) }
    }

    func testWordTag() throws {
        let p = try file("tagged.txt", "Has/VBZ 1/2/CD cup/NN ./.\n\nOK/UH\n")
        let ex = try TaskLoaders.wordTag(path: p)
        XCTAssertEqual(ex, [TokenTaggingExample(words: ["Has", "1/2", "cup", "."], tags: ["VBZ", "CD", "NN", "."]),
                            TokenTaggingExample(words: ["OK"], tags: ["UH"])])
        let q = try file("bad.txt", "Has/VBZ\nno tag/NN\n")
        assertError(q, line: 2, contains: "\"no\"") { try TaskLoaders.wordTag(path: q) }
        let r = try file("empty-tag.txt", "a/DT\nb/\n")
        assertError(r, line: 2, contains: "word/TAG") { try TaskLoaders.wordTag(path: r) }
    }

    func testMissingFileAndInvalidUTF8() throws {
        XCTAssertThrowsError(try TaskLoaders.wordTag(path: folder.appendingPathComponent("none.txt").path)) { e in
            XCTAssertTrue("\(e)".contains("none.txt") && "\(e)".contains("no such file"), "\(e)")
        }
        let url = folder.appendingPathComponent("latin1.tsv")
        try Data("s\tlabel\nok\t1\ncaf\u{E9}\t1\n".utf8).write(to: url)
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 5] = 0xE9  // the é's first byte alone: invalid UTF-8
        bytes.remove(at: bytes.count - 4)
        try bytes.write(to: url)
        assertError(url.path, line: 3, contains: "UTF-8") { try TaskLoaders.classification(path: url.path, format: .tsv, columns: .init(text: "s", label: "label")) }
    }

    func testWordNetLineAndInflections() throws {
        let line = "00217593 04 n 01 kill 1 002 @ 00217014 n 0000 + 00355365 v 0101 | the destruction of an enemy plane or ship or tank or missile; \"the pilot reported two kills during the mission\"  "
        let s = try XCTUnwrap(WordNet.parse(line))
        XCTAssertEqual(s.words, ["kill"])
        XCTAssertEqual(s.definition, "the destruction of an enemy plane or ship or tank or missile")
        XCTAssertEqual(s.examples, ["the pilot reported two kills during the mission"])
        XCTAssertEqual(s.lexicographerFile, 4)
        XCTAssertEqual(s.id, "n217593")
        let adj = try XCTUnwrap(WordNet.parse("00001740 00 a 01 able(a) 0 000 | having means; \"able to swim\"; \"she was able\""))
        XCTAssertEqual(adj.words, ["able"])
        XCTAssertEqual(adj.examples, ["able to swim", "she was able"])
        XCTAssertEqual(WordNet.find("kill", in: "the pilot reported two Kills"), 23..<28)
        XCTAssertEqual(WordNet.find("carry", in: "she carried it"), 4..<11)
        XCTAssertEqual(WordNet.find("stop", in: "they stopped"), 5..<12)
        XCTAssertEqual(WordNet.find("look up", in: "he looked up the word"), 3..<12)
        XCTAssertNil(WordNet.find("cat", in: "a category"), "whole words only")
    }
}
