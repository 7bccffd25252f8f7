import XCTest
import Foundation
@testable import Models
import SafeTensors

final class ParameterCountTests: XCTestCase {
    /// Our counts equal transformers' own (fixture from make_model_fixtures.py) for every preset:
    /// `backbone` = `…Model`, `total` = `…ForPreTraining`.
    func testPresetCountsEqualTransformers() throws {
        let url = HuggingFaceParityTests.fixture("param_counts.json")
        let reference = try JSONDecoder().decode([String: [String: Int]].self, from: Data(contentsOf: url))
        XCTAssertEqual(reference.count, 8)
        for (preset, counts) in reference {
            let config = try EncoderConfiguration.resolve(preset)
            let heads = HeadSet.pretraining(config.family)
            let n = ParameterCount(config: config, heads: heads)
            XCTAssertEqual(n.backbone, counts[ArchitectureName.name(family: config.family, heads: [])], preset)
            XCTAssertEqual(n.total, counts[ArchitectureName.name(family: config.family, heads: heads)], preset)
        }
        XCTAssertEqual(ParameterCount(config: try .preset("gpt2"), heads: [.causalLM]).total, 124_439_808)
    }

    /// The seed table's numbers and how they arise (see README): BERT's are embeddings + layers
    /// (no pooler, no heads); ALBERT's are the whole base model with its pooler.
    func testSeedTableNumbers() throws {
        func millions(_ x: Int) -> Int { Int((Double(x) / 1e6).rounded()) }
        let bertBase = ParameterCount(config: try .resolve("bert-base"), heads: [.maskedLM, .sentencePair])
        let bertLarge = ParameterCount(config: try .resolve("bert-large"), heads: [.maskedLM, .sentencePair])
        XCTAssertEqual(millions(bertBase.total), 110)
        XCTAssertEqual(millions(bertLarge.embeddings + bertLarge.encoder), 334)
        for (preset, paper) in [("albert-base", 12), ("albert-large", 18), ("albert-xlarge", 59), ("albert-xxlarge", 223)] {
            let n = ParameterCount(config: try .resolve(preset), heads: [.maskedLM, .sentencePair])
            XCTAssertEqual(millions(n.backbone), paper, preset)
        }
    }

    /// The analytic count equals the parameters a constructed model really holds, for every
    /// family and sharing mode.
    func testCountEqualsConstructedModel() throws {
        let small = EncoderConfiguration(vocabSize: 53, hiddenSize: 16, layers: 4, heads: 2, intermediateSize: 24, maxPositions: 20)
        var configs: [(EncoderConfiguration, HeadSet)] = []
        for family in EncoderConfiguration.Family.allCases {
            var c = small
            c.family = family
            if family == .albert { c.embeddingSize = 8; c.sharing = .all; c.hiddenGroups = 2; c.innerGroupNum = 2 }
            if family == .electra { c.embeddingSize = 12; c.pooler = false }
            if family == .distilbert { c.typeVocabSize = 0; c.pooler = false }
            if family == .roberta { c.padTokenId = 1; c.positionOffset = 2 }
            if family == .gpt2 { c.typeVocabSize = 0; c.pooler = false; c.causal = true }
            configs.append((c, HeadSet.pretraining(family)))
            configs.append((c, []))
        }
        for sharing in [EncoderConfiguration.Sharing.attention, .feedForward, .all] {
            var c = small
            c.family = .albert; c.embeddingSize = 8; c.sharing = sharing; c.hiddenGroups = 2
            configs.append((c, [.maskedLM, .sentencePair]))
        }
        for (c, heads) in configs {
            let model = try PretrainingModel(config: c, heads: heads)
            let n = ParameterCount(config: c, heads: heads)
            XCTAssertEqual(model.parameterCount, n.total, "\(c.family) \(c.sharing) \(heads)")
            XCTAssertEqual(Set(model.parameters.map(\.name)).count, model.parameters.count, "unique names")
        }
    }
}

final class CheckpointTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testSaveThenLoadGivesIdenticalWeightsAndConfig() throws {
        var c = EncoderConfiguration(family: .albert, vocabSize: 61, hiddenSize: 16, embeddingSize: 8, layers: 2, heads: 2,
                                     intermediateSize: 24, hiddenAct: "gelu_new", maxPositions: 30, sharing: .all)
        c.hiddenDropout = 0.05
        let model = try PretrainingModel(config: c, heads: [.maskedLM, .sentencePair], seed: 9)
        try model.save(folder: folder)
        let reloaded = try PretrainingModel.load(folder: folder)
        XCTAssertEqual(reloaded.config, model.config)
        XCTAssertEqual(reloaded.architecture, "AlbertForPreTraining")
        for (a, b) in zip(model.parameters, reloaded.parameters) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual(a.value.scalars, b.value.scalars, a.name)
        }
        let names = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")).names
        XCTAssertTrue(names.contains("predictions.bias"))
        XCTAssertFalse(names.contains("predictions.decoder.weight"), "the tied decoder is stored once, as the embeddings")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: folder.path).contains { $0.hasSuffix(".tmp") })
    }

    func testStrictLoadingListsMissingAndUnexpectedKeys() throws {
        let bert = HuggingFaceParityTests.fixture("bert")
        // A BertForPreTraining file loaded as a masked-LM model: pooler and NSP are unexpected.
        XCTAssertThrowsError(try PretrainingModel.load(folder: bert, heads: [.maskedLM])) { error in
            guard case let ModelError.missingAndUnexpectedKeys(missing, unexpected, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(missing, [])
            XCTAssertEqual(Set(unexpected), ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "cls.seq_relationship.weight", "cls.seq_relationship.bias"])
            XCTAssertTrue("\(error)".contains("unexpected keys"))
        }
        // Non-strict loading takes what matches.
        XCTAssertNoThrow(try PretrainingModel.load(folder: bert, heads: [.maskedLM], strict: false))
        // A base model (no "bert." prefix in the file) loads into a model that wants one, and back.
        let model = try PretrainingModel.load(folder: bert, heads: [.maskedLM, .sentencePair])
        var writer = SafeTensorsWriter()
        let base = model.encoder.parameters
        for p in base { try writer.add(String(p.name.dropFirst(5)), shape: p.shape, values: UnsafeBufferPointer(start: p.value.data, count: p.value.count)) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writer.write(to: folder.appendingPathComponent("base.safetensors"))
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("base.safetensors"))
        XCTAssertFalse(file.names.contains { $0.hasPrefix("bert.") })
        let fresh = try PretrainingModel(config: model.config, heads: [])
        try Checkpoint.load(fresh.parameters, family: .bert, from: file, file: "base.safetensors")
        XCTAssertEqual(fresh.encoder.embeddings.words.weight.value.scalars, model.encoder.embeddings.words.weight.value.scalars)
        // Missing keys: a file without the heads, loaded strictly into a model with heads.
        XCTAssertThrowsError(try Checkpoint.load(model.parameters, family: .bert, from: file, file: "base.safetensors")) { error in
            guard case let ModelError.missingAndUnexpectedKeys(missing, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(missing.contains("cls.predictions.bias"))
        }
    }

    func testShapeMismatchAndTruncatedCheckpointAreNamedErrors() throws {
        let source = HuggingFaceParityTests.fixture("distilbert")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // config.json that disagrees with the weights.
        var config = try ConfigFile.load(from: source.appendingPathComponent("config.json"))
        config.encoder.intermediateSize = 38
        try config.write(to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"), to: folder.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try PretrainingModel.load(folder: folder)) { error in
            guard case ModelError.tensorShapeMismatch = error else { return XCTFail("\(error)") }
        }
        // A truncated weights file.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        let weights = folder.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count - 100).write(to: weights)
        XCTAssertThrowsError(try PretrainingModel.load(folder: folder)) { error in
            guard case SafeTensorsError.truncated = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("truncated"))
        }
        // No weights at all.
        try FileManager.default.removeItem(at: weights)
        XCTAssertThrowsError(try PretrainingModel.load(folder: folder)) { error in
            XCTAssertEqual(error as? ModelError, .missingFile(weights.path))
        }
        // Only PyTorch's pickle: the error says to convert it.
        try Data("PK".utf8).write(to: folder.appendingPathComponent("pytorch_model.bin"))
        XCTAssertThrowsError(try PretrainingModel.load(folder: folder)) { error in
            XCTAssertEqual(error as? ModelError, .needsConversion(folder: folder.path))
            XCTAssertTrue("\(error)".contains("pretrain convert \(folder.path)"))
        }
    }

    func testBadInputsAreNamedErrors() throws {
        let model = try PretrainingModel(config: EncoderConfiguration(vocabSize: 20, hiddenSize: 8, layers: 1, heads: 2, maxPositions: 6), heads: [])
        let tape = Tape(recording: false)
        XCTAssertThrowsError(try model.encoder(EncoderInput(ids: [1, 2, 25], batch: 1, length: 3), training: false, tape: tape)) {
            XCTAssertEqual($0 as? ModelError, .tokenOutOfVocabulary(id: 25, vocabSize: 20))
        }
        XCTAssertThrowsError(try model.encoder(EncoderInput(ids: [Int32](repeating: 1, count: 7), batch: 1, length: 7), training: false, tape: tape)) {
            XCTAssertEqual($0 as? ModelError, .sequenceTooLong(length: 7, maximum: 6))
        }
        XCTAssertThrowsError(try model.encoder(EncoderInput(ids: [1, 2], batch: 1, length: 3), training: false, tape: tape))
        XCTAssertThrowsError(try PretrainingModel(config: EncoderConfiguration(hiddenAct: "swish"), heads: [])) {
            XCTAssertEqual($0 as? ModelError, .unsupportedActivation("swish"))
        }
    }

    /// Sizes from a config file are held to stated limits, and a model too large for this
    /// machine's memory is refused, before anything is allocated (they used to trap or exhaust memory).
    func testHugeSizesAreNamedErrorsBeforeAllocation() {
        for (key, value, change) in [("hidden_size", 1_000_000_000, { (c: inout EncoderConfiguration) in c.hiddenSize = 1_000_000_000; c.heads = 1 }),
                                     ("vocab_size", 1_000_000_000_000, { $0.vocabSize = 1_000_000_000_000 }),
                                     ("num_hidden_layers", 1_000_000, { $0.layers = 1_000_000 }),
                                     ("max_position_embeddings", 1_000_000_000_000, { $0.maxPositions = 1_000_000_000_000 })] {
            var c = EncoderConfiguration(hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32)
            change(&c)
            XCTAssertThrowsError(try PretrainingModel(config: c, heads: [.maskedLM])) { error in
                XCTAssertTrue("\(error)".contains("\(key) \(value) is above the limit"), "\(error)")
            }
        }
        let tooBig = EncoderConfiguration(vocabSize: 4_000_000, hiddenSize: 32768, layers: 2, heads: 8, intermediateSize: 1024)
        XCTAssertThrowsError(try PretrainingModel(config: tooBig, heads: [.maskedLM])) { error in
            XCTAssertTrue("\(error)".contains("GiB, more than this machine's"), "\(error)")
        }
    }
}
