import Foundation
import XCTest
@testable import Tokenizers

enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let u = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil) else {
            throw TokenizerError.unreadableFile(path: name, reason: "fixture not bundled")
        }
        return u
    }
    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }
    static func json(_ name: String) throws -> JSONValue { try JSONValue.parse(bytes(name)) }
    static func tokenizer(_ name: String) throws -> Tokenizer { try Tokenizer(jsonBytes: bytes(name + "_tokenizer.json")) }

    /// Every `step`-th WordNet noun gloss (the rule of scripts/fixtures/make_tokenizer_fixtures.py).
    static func wordnetLines(step: Int = 320) throws -> [String] {
        let path = "/usr/share/wordnet/data.noun"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadableFile(path: path, reason: "missing: install the apt package wordnet-base (scripts/setup.sh does)")
        }
        var out: [String] = []
        var k = 0
        for line in [UInt8](data).split(separator: 10, omittingEmptySubsequences: false) {
            if line.starts(with: [32, 32]) { continue }
            guard let bar = glossStart(line) else { continue }
            var g = Array(line[bar...])
            while let l = g.last, l == 32 || l == 10 { g.removeLast() }
            if k % step == 0 { out.append(String(decoding: g, as: UTF8.self)) }
            k += 1
        }
        return out
    }

    /// All glosses of the four WordNet data files, in order, up to `limit`.
    static func wordnetCorpus(limit: Int) throws -> [String] {
        var out: [String] = []
        for name in ["noun", "verb", "adj", "adv"] {
            let path = "/usr/share/wordnet/data." + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TokenizerError.unreadableFile(path: path, reason: "missing: install the apt package wordnet-base (scripts/setup.sh does)")
            }
            for line in [UInt8](data).split(separator: 10, omittingEmptySubsequences: false) {
                if line.starts(with: [32, 32]) { continue }
                guard let bar = glossStart(line) else { continue }
                var g = Array(line[bar...])
                while let l = g.last, l == 32 || l == 10 { g.removeLast() }
                out.append(String(decoding: g, as: UTF8.self))
                if out.count >= limit { return out }
            }
        }
        return out
    }

    static func glossStart(_ line: ArraySlice<UInt8>) -> Int? {
        var i = line.startIndex
        while i + 1 < line.endIndex {
            if line[i] == UInt8(ascii: "|") && line[i + 1] == 32 { return i + 2 }
            i += 1
        }
        return nil
    }

    static func edgeLines() throws -> [String] {
        guard case .array(let a) = try json("edge_lines.json") else { throw TokenizerError.invalidField(path: "edge_lines.json", reason: "expected array") }
        return a.compactMap { if case .string(let s) = $0 { return s }; return nil }
    }

    static func testLines() throws -> [String] { try wordnetLines() + edgeLines() }
}

extension JSONValue {
    var ints: [Int] {
        guard case .array(let a) = self else { return [] }
        return a.map { if case .number(let d) = $0 { return Int(d) }; return -999 }
    }
    var optionalInts: [Int?] {
        guard case .array(let a) = self else { return [] }
        return a.map { if case .number(let d) = $0 { return Int(d) }; return nil }
    }
    var strings: [String] {
        guard case .array(let a) = self else { return [] }
        return a.map { if case .string(let s) = $0 { return s }; return "<non-string>" }
    }
    var array: [JSONValue] {
        guard case .array(let a) = self else { return [] }
        return a
    }
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// Compares an encoding with a fixture object; returns a description of the first difference.
func difference(_ e: Encoding, _ x: JSONValue) -> String? {
    if e.ids != x["ids"]!.ints { return "ids \(e.ids) vs \(x["ids"]!.ints)" }
    if e.typeIDs != x["type_ids"]!.ints { return "type_ids \(e.typeIDs) vs \(x["type_ids"]!.ints)" }
    let flat = e.offsets.flatMap { [$0.start, $0.end] }
    if flat != x["offsets"]!.ints { return "offsets \(flat) vs \(x["offsets"]!.ints) tokens \(e.tokens)" }
    if e.wordIDs != x["word_ids"]!.optionalInts { return "word_ids \(e.wordIDs) vs \(x["word_ids"]!.optionalInts)" }
    if e.specialTokensMask != x["special_tokens_mask"]!.ints { return "special_tokens_mask \(e.specialTokensMask) vs \(x["special_tokens_mask"]!.ints)" }
    if let t = x["tokens"], !zip(e.tokens, t.strings).allSatisfy({ $0.unicodeScalars.elementsEqual($1.unicodeScalars) }) || e.tokens.count != t.strings.count {
        return "tokens \(e.tokens) vs \(t.strings)"
    }
    if let m = x["attention_mask"], e.attentionMask != m.ints { return "attention_mask \(e.attentionMask) vs \(m.ints)" }
    return nil
}
