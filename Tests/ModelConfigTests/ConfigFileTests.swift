import XCTest
import Foundation
@testable import ModelConfig

final class ConfigFileTests: XCTestCase {
    func fixture(_ name: String) -> URL { Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")! }

    /// config.json files written by transformers (5.x save_pretrained, and a 4.x file) read into
    /// the right values, and writing them back gives the same bytes.
    func testTransformersFilesReadAndRewriteByteForByte() throws {
        for name in ["bert", "roberta", "albert", "electra-discriminator", "electra-generator", "distilbert", "bert-base-uncased-4x"] {
            let original = try Data(contentsOf: fixture(name))
            let file = try ConfigFile.parse(original, path: name)
            XCTAssertEqual(String(decoding: file.data(), as: UTF8.self), String(decoding: original, as: UTF8.self), name)
        }
    }

    func testValuesPerFamily() throws {
        let bert = try ConfigFile.load(from: fixture("bert"))
        XCTAssertEqual(bert.architectures, ["BertForPreTraining"])
        XCTAssertEqual(bert.encoder, EncoderConfiguration(vocabSize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 40))

        let roberta = try ConfigFile.load(from: fixture("roberta")).encoder
        XCTAssertEqual(roberta.family, .roberta)
        XCTAssertEqual(roberta.padTokenId, 1)
        XCTAssertEqual(roberta.positionOffset, 2, "positions start at padding_idx + 1")
        XCTAssertEqual(roberta.typeVocabSize, 1)

        let albert = try ConfigFile.load(from: fixture("albert")).encoder
        XCTAssertEqual(albert.embeddingSize, 16)
        XCTAssertEqual(albert.hiddenGroups, 2)
        XCTAssertEqual(albert.innerGroupNum, 2)
        XCTAssertEqual(albert.sharing, .all)
        XCTAssertEqual(albert.hiddenAct, "gelu_new")
        XCTAssertEqual(albert.hiddenDropout, 0)

        let generator = try ConfigFile.load(from: fixture("electra-generator")).encoder
        XCTAssertEqual(generator.family, .electra)
        XCTAssertEqual(generator.hiddenSize, 16)
        XCTAssertEqual(generator.embeddingSize, 24)
        XCTAssertFalse(generator.pooler)

        let distil = try ConfigFile.load(from: fixture("distilbert")).encoder
        XCTAssertEqual(distil.family, .distilbert)
        XCTAssertEqual(distil.typeVocabSize, 0)
        XCTAssertEqual(distil.intermediateSize, 37)
        XCTAssertFalse(distil.pooler)

        let old = try ConfigFile.load(from: fixture("bert-base-uncased-4x"))
        XCTAssertEqual(old.encoder, try EncoderConfiguration.resolve("bert-base"))
        XCTAssertEqual(old.extras["torch_dtype"], .string("float32"))
        XCTAssertEqual(old.extras["position_embedding_type"], .string("absolute"))
    }

    func testDefaultsWhenKeysAreAbsentFollowTransformers() throws {
        let albert = try ConfigFile.parse(Data(#"{"model_type": "albert"}"#.utf8)).encoder
        XCTAssertEqual(albert, try EncoderConfiguration.resolve("albert-xxlarge"), "AlbertConfig() is xxlarge")
        let electra = try ConfigFile.parse(Data(#"{"model_type": "electra"}"#.utf8)).encoder
        XCTAssertEqual(electra, try EncoderConfiguration.resolve("electra-small"), "ElectraConfig() is the small discriminator")
        let distil = try ConfigFile.parse(Data(#"{"model_type": "distilbert"}"#.utf8)).encoder
        XCTAssertEqual(distil, try EncoderConfiguration.resolve("distilbert-base"))
    }

    func testWrittenPresetsReadBackAndAblationSharingSurvives() throws {
        for name in EncoderConfiguration.presetNames {
            let c = try EncoderConfiguration.resolve(name)
            let text = ConfigFile(encoder: c, architectures: ["X"]).data()
            XCTAssertEqual(try ConfigFile.parse(text).encoder, c, name)
        }
        var c = try EncoderConfiguration.resolve("albert-base")
        c.sharing = .attention
        c.hiddenGroups = 3
        XCTAssertEqual(try ConfigFile.parse(ConfigFile(encoder: c, architectures: []).data()).encoder, c)
        XCTAssertTrue(String(decoding: ConfigFile(encoder: c, architectures: []).data(), as: UTF8.self).contains("\"cross_layer_sharing\": \"attention\""))
    }

    func testErrorsNameTheKey() {
        func error(_ json: String) -> ConfigError? {
            do { _ = try ConfigFile.parse(Data(json.utf8)); return nil } catch { return error as? ConfigError }
        }
        XCTAssertEqual(error(#"{"model_type": "t5"}"#), .unsupportedModelType("t5"))
        XCTAssertEqual(error(#"{"hidden_size": 4}"#), .unsupportedModelType(nil))
        XCTAssertEqual(error(#"{"model_type": "bert", "hidden_size": "big"}"#), .wrongType(key: "hidden_size", expected: "an integer"))
        XCTAssertEqual(error(#"{"model_type": "bert", "hidden_size": 10, "num_attention_heads": 3}"#)?.description.contains("num_attention_heads"), true)
        XCTAssertEqual(error(#"{"model_type": "bert", "num_hidden_layers": 0}"#), .invalidValue(key: "num_hidden_layers", reason: "must be positive, got 0"))
        XCTAssertEqual(error(#"{"model_type": "distilbert", "sinusoidal_pos_embds": true}"#)?.description.contains("sinusoidal"), true)
        XCTAssertEqual(error(#"{"model_type": "bert", "cross_layer_sharing": "half"}"#)?.description.contains("cross_layer_sharing"), true)
        if case .malformedJSON? = error("{oops") {} else { XCTFail("malformed JSON") }
        XCTAssertThrowsError(try EncoderConfiguration.resolve("bert-huge")) { XCTAssertTrue("\($0)".contains("presets:")) }
    }

    func testElectraGeneratorIsAQuarterOfTheDiscriminator() throws {
        let g = try EncoderConfiguration.resolve("electra-base").electraGenerator()
        XCTAssertEqual(g.hiddenSize, 192)
        XCTAssertEqual(g.heads, 3)
        XCTAssertEqual(g.intermediateSize, 768)
        XCTAssertEqual(g.embeddingSize, 768)
        let small = try EncoderConfiguration.resolve("electra-small").electraGenerator()
        XCTAssertEqual([small.hiddenSize, small.heads, small.intermediateSize], [64, 1, 256])
    }

    func testPresetSizes() throws {
        func shape(_ n: String) throws -> [Int] { let c = try EncoderConfiguration.preset(n); return [c.layers, c.hiddenSize, c.heads, c.intermediateSize, c.embeddingSize] }
        XCTAssertEqual(try shape("bert-large"), [24, 1024, 16, 4096, 1024])
        XCTAssertEqual(try shape("albert-xlarge"), [24, 2048, 32, 8192, 128])
        XCTAssertEqual(try shape("electra-small"), [12, 256, 4, 1024, 128])
        XCTAssertEqual(try shape("tiny"), [2, 128, 2, 512, 128])
        XCTAssertEqual(try shape("mini"), [4, 256, 4, 1024, 256])
        XCTAssertEqual(try shape("small"), [4, 512, 8, 2048, 512])
        XCTAssertThrowsError(try EncoderConfiguration.preset("bert-huge"))
        let c = try EncoderConfiguration.preset("roberta-base")
        XCTAssertEqual([c.vocabSize, c.maxPositions, c.positionOffset, c.padTokenId, c.typeVocabSize], [50265, 514, 2, 1, 1])
        XCTAssertEqual(try ConfigFile.parse(ConfigFile(encoder: c, architectures: ["RobertaForMaskedLM"]).data()).encoder, c)
    }
}
