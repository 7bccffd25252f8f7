import Foundation
import XCTest
@testable import Tokenizers

/// Outputs identical to Hugging Face `tokenizers` 0.23.3 (fixtures from scripts/fixtures/make_tokenizer_fixtures.py)
/// on WordNet glosses plus hand-written multilingual / edge-case lines.
final class ParityTests: XCTestCase {
    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tok = try Fixtures.tokenizer(name)
        let expected = try Fixtures.json(name + "_expected.json")
        let lines = try Fixtures.testLines()
        XCTAssertEqual(lines.count, expected["lines"]!.ints.first ?? Int(exactly: { if case .number(let d) = expected["lines"]! { return d }; return -1 }())!,
                       "test line count differs from the fixture (WordNet extraction rule changed?)", file: file, line: line)
        var failures: [String] = []
        // Singles.
        let singles = expected["single"]!.array
        XCTAssertEqual(singles.count, lines.count, file: file, line: line)
        for (i, x) in singles.enumerated() where i < lines.count {
            let e = try tok.encode(lines[i], truncation: .some(nil), padding: .some(nil))
            if let d = difference(e, x) { failures.append("single \(i) \(lines[i].debugDescription): \(d)") }
        }
        // Pairs.
        let pairIndex = expected["pair_index"]!.array.map(\.ints)
        for (k, x) in expected["pair"]!.array.enumerated() {
            let (a, b) = (pairIndex[k][0], pairIndex[k][1])
            let e = try tok.encode(lines[a], pair: lines[b], truncation: .some(nil), padding: .some(nil))
            if let d = difference(e, x) { failures.append("pair \(a),\(b): \(d)") }
        }
        // Decoding.
        let decodes = expected["decode"]!.strings
        for (i, d) in decodes.enumerated() {
            let ids = singles[i]["ids"]!.ints
            let got = try tok.decode(ids, skipSpecialTokens: true)
            if !got.unicodeScalars.elementsEqual(d.unicodeScalars) { failures.append("decode \(i): \(got.debugDescription) vs \(d.debugDescription)") }
        }
        for (i, d) in expected["decode_with_special"]!.strings.enumerated() {
            let got = try tok.decode(singles[i]["ids"]!.ints, skipSpecialTokens: false)
            if !got.unicodeScalars.elementsEqual(d.unicodeScalars) { failures.append("decode+special \(i): \(got.debugDescription) vs \(d.debugDescription)") }
        }
        // Truncation with stride and overflowing windows.
        for t in expected["truncation"]!.array {
            let strategyName = t["strategy"]!.stringValue!
            let strategy: TruncationStrategy = strategyName == "longest_first" ? .longestFirst : strategyName == "only_first" ? .onlyFirst : .onlySecond
            let params = TruncationParams(maxLength: t["max_length"]!.intValueOrZero, stride: t["stride"]!.intValueOrZero, strategy: strategy)
            for c in t["cases"]!.array {
                let a = c["a"]!.intValueOrZero, b = c["b"]!.intValueOrZero
                let result = Result { try tok.encode(lines[a], pair: lines[b], truncation: .some(params), padding: .some(nil)) }
                if c["error"] != nil {
                    if case .success = result { failures.append("truncation \(strategyName) \(a),\(b): expected an error") }
                    continue
                }
                guard case .success(let e) = result else { failures.append("truncation \(strategyName) \(a),\(b): unexpected error \(result)"); continue }
                if let d = difference(e, c["encoding"]!) { failures.append("truncation \(strategyName)/\(params.maxLength) \(a),\(b): \(d)") }
                let over = c["overflowing"]!.array
                if e.overflowing.count != over.count { failures.append("truncation \(strategyName) \(a),\(b): \(e.overflowing.count) windows vs \(over.count)"); continue }
                for (o, x) in zip(e.overflowing, over) {
                    if let d = difference(o, x) { failures.append("overflow \(strategyName)/\(params.maxLength) \(a),\(b): \(d)") }
                }
            }
        }
        // Padded batch (pad to multiple of 8, batch longest), parallel.
        let pad = PaddingParams(strategy: .batchLongest, padToMultipleOf: 8, padID: 0, padToken: "[PAD]")  // Python enable_padding defaults
        let batch = try tok.encodeBatch(Array(lines.prefix(10)), truncation: .some(nil), padding: .some(pad))
        for (e, x) in zip(batch, expected["padded_batch"]!.array) {
            if let d = difference(e, x) { failures.append("padded batch: \(d)") }
        }
        XCTAssertTrue(failures.isEmpty, "\(name): \(failures.count) differences, first: \(failures.prefix(5).joined(separator: "\n"))", file: file, line: line)
    }


    func testMiniLMWordPieceParity() throws { try check("minilm") }
    func testByteLevelBPEParity() throws { try check("bpe") }
    func testUnigramParity() throws { try check("unigram") }
}

extension JSONValue {
    var intValueOrZero: Int { if case .number(let d) = self { return Int(d) }; return 0 }
}
