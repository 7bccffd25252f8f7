import Foundation
import XCTest
@testable import Tokenizers

/// A SentencePiece tokenizer with a `Precompiled` normalizer (custom rules: full-width, ligatures,
/// ½, e + U+0301, zero-width space…), byte fallback and a Llama-style decoder, compared with
/// Hugging Face `tokenizers` (scripts/fixtures/make_spm_fixture.py).
final class PrecompiledTests: XCTestCase {
    func testSentencePiecePrecompiledParity() throws {
        let tok = try Fixtures.tokenizer("spm")
        guard case .sequence(let parts)? = tok.config.normalizer, parts.contains(where: { if case .precompiled = $0 { return true }; return false }) else {
            return XCTFail("expected a Precompiled normalizer in the fixture")
        }
        let expected = try Fixtures.json("spm_expected.json")
        let wn = try Fixtures.wordnetLines()
        let lines = stride(from: 0, to: wn.count, by: 5).map { wn[$0] } + (try Fixtures.edgeLines())
        XCTAssertEqual(lines.count, expected["lines"]!.intValueOrZero)
        var failures: [String] = []
        for (i, x) in expected["single"]!.array.enumerated() {
            let e = try tok.encode(lines[i], truncation: .some(nil), padding: .some(nil))
            if let d = difference(e, x) { failures.append("\(lines[i].debugDescription): \(d)") }
            let dec = try tok.decode(e.ids, skipSpecialTokens: true)
            let want = expected["decode"]!.strings[i]
            if !dec.unicodeScalars.elementsEqual(want.unicodeScalars) { failures.append("decode \(dec.debugDescription) vs \(want.debugDescription)") }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) differences; first: \(failures.prefix(3).joined(separator: "\n"))")
        // Round trip of the charsmap through tokenizer.json.
        let again = try Tokenizer(jsonBytes: Array(tok.serialized().utf8))
        XCTAssertEqual(try again.encode("ｆｕｌｌ ﬁ ½ e\u{301}"), try tok.encode("ｆｕｌｌ ﬁ ½ e\u{301}"))
    }

    func testBadCharsmapIsANamedError() {
        let json = "{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"!!notbase64\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}}"
        XCTAssertThrowsError(try Tokenizer(jsonBytes: Array(json.utf8))) { e in
            guard case .invalidField(let path, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "normalizer.precompiled_charsmap")
        }
    }
}
