import XCTest
import Tokenizers
import PretrainingData

/// `SequenceTemplate` read from real tokenizer post-processors.
final class InstanceTemplateTests: XCTestCase {
    func testBertTemplateFromWordPieceTokenizer() throws {
        let tok = try Tokenizer.bert(vocabTxt: "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n")
        let t = try SequenceTemplate(tokenizer: tok)
        XCTAssertEqual(t, .bert(cls: 2, sep: 3, mask: 4, pad: 0, vocabularySize: 7).with(specialIDs: [0, 1, 2, 3, 4]))
        XCTAssertEqual(t.overhead(pair: false), 2)
        XCTAssertEqual(t.overhead(pair: true), 3)
        XCTAssertEqual(t.pair.suffixTypes, [1])
        XCTAssertEqual(t.pair.middleTypes, [0])
        XCTAssertEqual(try t.requireMaskID(), 4)
        let m = try MaskingConfig(template: t, scheme: .wholeWord)
        XCTAssertEqual(m.maskID, 4)
        XCTAssertEqual(m.excludedFromRandom, [0, 1, 2, 3, 4])
        // Materialized pairs match what the tokenizer itself produces.
        let e = try tok.encode("hello", pair: "world hello")
        var corpus = InMemoryCorpus()
        corpus.appendDocument(ids: [[5], [6, 5]])
        let builder = try InstanceBuilder(config: InstanceConfig(maxLength: 16, shortSequenceProbability: 0, format: .sentencePair, sentenceTask: .none), template: t)
        let inst = builder.materialize(InstancePlan(first: 0..<1, second: 1..<3), from: corpus)
        XCTAssertEqual(inst.ids.map(Int.init), e.ids)
        XCTAssertEqual(inst.tokenTypes.map(Int.init), e.typeIDs)
        XCTAssertEqual(inst.isSpecial.map { $0 ? 1 : 0 }, e.specialTokensMask)
    }

    func testRobertaTemplateFromByteLevelBPE() throws {
        let json = #"{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4, "a": 5}"#
        let tok = try Tokenizer.byteLevelBPE(vocabJSON: json, mergesTxt: "#version: 0.2\n")
        let t = try SequenceTemplate(tokenizer: tok)
        XCTAssertEqual(t.single.prefix, [0])
        XCTAssertEqual(t.single.suffix, [2])
        XCTAssertEqual(t.pair.prefix, [0])
        XCTAssertEqual(t.pair.middle, [2, 2])
        XCTAssertEqual(t.pair.suffix, [2])
        XCTAssertEqual(t.pair.firstType, 0)
        XCTAssertEqual(t.pair.secondType, 0)
        XCTAssertEqual(t.pair.suffixTypes + t.pair.middleTypes + t.pair.prefixTypes, [0, 0, 0, 0])
        XCTAssertEqual(t.separator, [2])
        XCTAssertEqual(t.maskID, 4)
        XCTAssertEqual(t.padID, 1)
        XCTAssertEqual(t.overhead(pair: true), 4)
        XCTAssertEqual(t, .roberta(bos: 0, eos: 2, mask: 4, pad: 1, vocabularySize: 6).with(specialIDs: t.specialIDs))
    }

    func testTemplateProcessingAndMissingMaskToken() throws {
        let tok = try Tokenizer.bert(vocabTxt: "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")
        var config = tok.config
        config.postProcessor = .template(
            single: [.sequence(second: false, typeID: 0), .specialToken(id: "[SEP]", typeID: 0), .specialToken(id: "[CLS]", typeID: 2)],
            pair: [.sequence(second: false, typeID: 0), .specialToken(id: "[SEP]", typeID: 0), .sequence(second: true, typeID: 1),
                   .specialToken(id: "[SEP]", typeID: 1), .specialToken(id: "[CLS]", typeID: 2)],
            specialTokens: [TemplateSpecialToken(id: "[CLS]", ids: [2], tokens: ["[CLS]"]), TemplateSpecialToken(id: "[SEP]", ids: [3], tokens: ["[SEP]"])])
        let t = try SequenceTemplate(tokenizer: Tokenizer(config: config))
        XCTAssertEqual(t.single.prefix, [])
        XCTAssertEqual(t.single.suffix, [3, 2])
        XCTAssertEqual(t.single.suffixTypes, [0, 2])
        XCTAssertEqual(t.pair.middle, [3])
        XCTAssertEqual(t.pair.suffix, [3, 2])
        XCTAssertEqual(t.pair.suffixTypes, [1, 2])
        XCTAssertEqual(t.pair.secondType, 1)
        XCTAssertNil(t.maskID)
        XCTAssertThrowsError(try t.requireMaskID()) { XCTAssertEqual($0 as? SequenceTemplateError, .noMaskToken) }
        XCTAssertThrowsError(try MaskingConfig(template: t)) { XCTAssertEqual($0 as? SequenceTemplateError, .noMaskToken) }
    }
}

extension SequenceTemplate {
    func with(specialIDs: [Int32]) -> SequenceTemplate {
        var t = self
        t.specialIDs = specialIDs
        return t
    }
}
