import XCTest
import Foundation
import ModelConfig
import PretrainingData
@testable import Training

final class RecipeTests: XCTestCase, RunFolders {
    func testShippedRecipesLoadAndFollowTheirPapers() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: recipes.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertTrue(Set(["bert.json", "roberta.json", "albert.json", "spanbert.json"]).isSubset(of: Set(names)), "\(names)")
        func load(_ name: String) throws -> Recipe { try Recipe.load(recipes.appendingPathComponent(name + ".json").path) }
        let bert = try load("bert"), roberta = try load("roberta"), albert = try load("albert"), spanbert = try load("spanbert")
        XCTAssertEqual(bert.objectives, [.mlm, .nsp]); XCTAssertEqual(bert.maskMode, .static); XCTAssertEqual(bert.tokenizer, "wordpiece")
        XCTAssertEqual(roberta.objectives, [.mlm]); XCTAssertEqual(roberta.maskMode, .dynamic); XCTAssertEqual(roberta.format, .fullSentences)
        XCTAssertEqual(roberta.beta2, 0.98); XCTAssertEqual(roberta.tokenizer, "bpe"); XCTAssertGreaterThan(roberta.gradAccum, 1)
        XCTAssertEqual(albert.embeddingSize, 128); XCTAssertEqual(albert.sharing, .all); XCTAssertEqual(albert.objectives, [.mlm, .sop])
        XCTAssertEqual(albert.masking, .ngram); XCTAssertEqual(albert.optimizer, .lamb); XCTAssertEqual(albert.tokenizer, "unigram")
        XCTAssertEqual(spanbert.objectives, [.mlm, .sbo]); XCTAssertEqual(spanbert.masking, .span); XCTAssertEqual(spanbert.format, .singleSegment)

        let albertModel = try albert.encoderConfiguration(vocabSize: 8000, padID: 0)
        XCTAssertEqual(albertModel.embeddingSize, 128); XCTAssertEqual(albertModel.sharing, .all); XCTAssertEqual(albertModel.hiddenDropout, 0)
        let robertaModel = try roberta.encoderConfiguration(vocabSize: 8000, padID: 1)
        XCTAssertEqual(robertaModel.positionOffset, 2); XCTAssertEqual(robertaModel.maxPositions, 514); XCTAssertEqual(robertaModel.typeVocabSize, 1)
        XCTAssertFalse(robertaModel.pooler)

        let gpt = try load("gpt")
        XCTAssertEqual(gpt.objectives, [.clm]); XCTAssertEqual(gpt.family, .gpt2); XCTAssertEqual(gpt.format, .blocks)
        XCTAssertEqual(gpt.beta2, 0.95); XCTAssertEqual(gpt.weightDecay, 0.1); XCTAssertEqual(gpt.schedule, .cosine); XCTAssertFalse(gpt.masksTokens)
        let gptModel = try gpt.encoderConfiguration(vocabSize: 8000, padID: 0)
        XCTAssertTrue(gptModel.causal); XCTAssertEqual(gptModel.hiddenAct, "gelu_new"); XCTAssertEqual(gptModel.typeVocabSize, 0)
        let plm = try load("xlnet-plm"), tlm = try load("xlm-tlm")
        XCTAssertEqual(plm.objectives, [.plm]); XCTAssertEqual(plm.plmProbability, 1.0 / 6, accuracy: 1e-12); XCTAssertEqual(plm.maxSpanLength, 5)
        XCTAssertFalse(plm.masksTokens)
        XCTAssertEqual(plm.lr, 1e-3, "at the MLM recipes' 3e-3 PLM stays near its unigram baseline (README, Permutation LM)")
        guard case .permutation(let targets) = try plm.targets(template: .bert(cls: 1, sep: 2, mask: 3, pad: 0, vocabularySize: 100)) else {
            return XCTFail("xlnet-plm draws permutation targets")
        }
        XCTAssertEqual(targets, PermutationTargets(probability: 1.0 / 6, maxSpanLength: 5, maxPredictions: plm.maxPredictions))
        XCTAssertEqual(tlm.format, .translation); XCTAssertEqual(tlm.tlmRatio, 0.5); XCTAssertEqual(tlm.objectives, [.mlm])
        XCTAssertEqual(try tlm.encoderConfiguration(vocabSize: 8000, padID: 1).languages, 2)
        XCTAssertThrowsError(try Recipe.load(recipes.appendingPathComponent("xlnet-plm.json").path, overrides: ["objectives=[\"plm\",\"mlm\"]"]))
        XCTAssertThrowsError(try Recipe.load(recipes.appendingPathComponent("xlnet-plm.json").path, overrides: ["plm_probability=0"]))
        XCTAssertThrowsError(try Recipe.load(recipes.appendingPathComponent("xlnet-plm.json").path, overrides: ["family=distilbert"]))
        var tiny = Recipe()
        (tiny.family, tiny.model, tiny.objectives) = (.gpt2, "tiny", [.clm])
        var expected = try EncoderConfiguration.preset("tiny").asGPT2()
        (expected.vocabSize, expected.padTokenId, expected.pooler) = (500, 0, false)
        XCTAssertEqual(try tiny.encoderConfiguration(vocabSize: 500, padID: 0), expected, "a BERT size preset becomes a GPT-2 of its size")
        // Every shipped recipe reads (for `recipe list`); distilbert alone needs a --set (its teacher) to validate.
        for name in names.map({ String($0.dropLast(5)) }) {
            XCTAssertFalse(try Recipe.load(recipes.appendingPathComponent(name + ".json").path, validated: false).description.isEmpty, name)
            if name != "distilbert" { XCTAssertNoThrow(try load(name), name) }
        }
        XCTAssertThrowsError(try load("distilbert")) { XCTAssertTrue("\($0)".contains("teacher"), "\($0)") }
    }

    func testOverridesAreTypedAndChecked() throws {
        let path = recipes.appendingPathComponent("roberta.json").path
        let r = try Recipe.load(path, overrides: ["max_steps=7", "lr=0.002", "model=tiny", "objectives=mlm", "seed=9", "eval_every=0"])
        XCTAssertEqual(r.maxSteps, 7); XCTAssertEqual(r.lr, 0.002); XCTAssertEqual(r.model, "tiny"); XCTAssertEqual(r.seed, 9); XCTAssertEqual(r.evalEvery, 0)
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["max_step=7"])) { XCTAssertTrue("\($0)".contains("unknown recipe key 'max_step'")) }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["max_steps"])) { XCTAssertTrue("\($0)".contains("key=value")) }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["max_steps=many"])) { XCTAssertTrue("\($0)".contains("max_steps"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["objectives=mlm,nsp"])) { XCTAssertTrue("\($0)".contains("segment_pair"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["format=full_sentence"])) {
            XCTAssertTrue("\($0)".contains("format must be one of segment_pair, sentence_pair, full_sentences"), "\($0)")
        }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["objectives=mlm,rtd"])) { XCTAssertTrue("\($0)".contains("rtd"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["objectives=rtd"])) { XCTAssertTrue("\($0)".contains("family electra"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load("no-such-recipe")) { XCTAssertTrue("\($0)".contains("no recipe 'no-such-recipe'")) }
        // The printed configuration reads back to the same recipe.
        XCTAssertEqual(try Recipe.parse(Data(r.json().utf8), source: "show"), r)
    }

    func testDistillationKeys() throws {
        let path = recipes.appendingPathComponent("distilbert.json").path
        XCTAssertThrowsError(try Recipe.load(path)) { XCTAssertTrue("\($0)".contains("--set teacher=DIR"), "\($0)") }
        let r = try Recipe.load(path, overrides: ["teacher=runs/t/model", "student_layers=0,2", "distill_positions=masked", "alpha_cos=0"])
        XCTAssertEqual(r.objectives, [.distillation]); XCTAssertEqual(r.teacher, "runs/t/model"); XCTAssertEqual(r.studentLayers, [0, 2])
        XCTAssertEqual(r.distillPositions, .masked); XCTAssertEqual(r.alphaCE, 5); XCTAssertEqual(r.alphaMLM, 2); XCTAssertEqual(r.alphaCos, 0)
        XCTAssertEqual(r.distillTemperature, 2)
        XCTAssertEqual(try Recipe.load(path, overrides: ["teacher=t", "student_layers=[1, 3]"]).studentLayers, [1, 3])
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["teacher=t", "objectives=distillation,mlm"])) { XCTAssertTrue("\($0)".contains("alone"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["teacher=t", "distill_positions=some"])) { XCTAssertTrue("\($0)".contains("all, masked"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["teacher=t", "distill_temperature=0"])) { XCTAssertTrue("\($0)".contains("positive"), "\($0)") }
        XCTAssertThrowsError(try Recipe.load(path, overrides: ["teacher=t", "student_layers=0,x"])) { XCTAssertTrue("\($0)".contains("such as 0,2,4"), "\($0)") }
        XCTAssertEqual(try Recipe.parse(Data(r.json().utf8), source: "show"), r)
    }
}
