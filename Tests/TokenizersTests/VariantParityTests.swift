import Foundation
import XCTest
@testable import Tokenizers

/// Pipeline variants (other normalizers, pre-tokenizers, post-processors, added-token options)
/// applied to the fixture tokenizers, compared with Hugging Face `tokenizers`
/// (scripts/fixtures/make_variant_fixtures.py).
final class VariantParityTests: XCTestCase {
    func testVariantsMatchHuggingFace() throws {
        let fixture = try Fixtures.json("variants_expected.json")
        let lines = fixture["lines"]!.strings
        let variants = fixture["variants"]!.array
        XCTAssertEqual(variants.count, 5)
        for v in variants {
            let name = v["name"]!.stringValue!
            var config = try TokenizerJSON(bytes: Fixtures.bytes(v["base"]!.stringValue! + "_tokenizer.json"))
            let comps = JSONField(value: v["components"]!, path: "")
            if let n = comps.optionalField("normalizer") { config.normalizer = try Normalizer(json: n) }
            if let p = comps.optionalField("pre_tokenizer") { config.preTokenizer = try PreTokenizer(json: p) }
            if let p = comps.optionalField("post_processor") { config.postProcessor = try PostProcessor(json: p) }
            if comps.optionalField("added_tokens") != nil { config.addedTokens = try comps.array("added_tokens").map { try AddedToken(json: $0) } }
            let tok = try Tokenizer(config: config)
            var failures: [String] = []
            for (i, x) in v["expected"]!.array.enumerated() {
                let e = try tok.encode(lines[i], truncation: .some(nil), padding: .some(nil))
                if let d = difference(e, x) { failures.append("\(lines[i].debugDescription): \(d)") }
                let dec = try tok.decode(e.ids, skipSpecialTokens: true)
                let want = v["decode"]!.strings[i]
                if !dec.unicodeScalars.elementsEqual(want.unicodeScalars) { failures.append("decode \(dec.debugDescription) vs \(want.debugDescription)") }
            }
            XCTAssertTrue(failures.isEmpty, "\(name): \(failures.count) differences; first: \(failures.prefix(3).joined(separator: "\n"))")
            // The variant serialises and reloads to the same pipeline.
            let again = try Tokenizer(jsonBytes: Array(tok.serialized().utf8))
            XCTAssertEqual(try again.encode(lines[0]), try tok.encode(lines[0]), name)
        }
    }
}
