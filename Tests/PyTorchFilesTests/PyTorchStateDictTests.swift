import Foundation
@testable import PyTorchFiles
import SafeTensors
import XCTest
import ZIPFoundation

/// `torch.save` files read without running their pickle; fixtures from
/// scripts/fixtures/make_pytorch_bin_fixtures.py (torch 2.15, transformers 5.24).
final class PyTorchStateDictTests: XCTestCase {
    func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    }

    func temporary(_ name: String) -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder.appendingPathComponent(name)
    }

    /// A BertForMaskedLM's `torch.save(state_dict)` converts to the bytes `save_pretrained(safe_serialization=True)` writes.
    func testBertConvertsToWhatSavePretrainedWrites() throws {
        let state = try PyTorchStateDict(contentsOf: try fixture("bert/pytorch_model.bin"))
        XCTAssertEqual(state.aliases.map(\.name), ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"])
        XCTAssertEqual(state.aliases.map(\.sameAs), ["bert.embeddings.word_embeddings.weight", "cls.predictions.bias"])
        XCTAssertEqual(state.tensors.first?.name, "bert.embeddings.word_embeddings.weight")
        XCTAssertEqual(state.tensors.first?.tensor.shape, [48, 16])
        let out = temporary("model.safetensors")
        try state.writeSafeTensors(to: out)
        XCTAssertEqual(try Data(contentsOf: out), try Data(contentsOf: try fixture("bert.safetensors")))
    }

    func testHalfPrecisionStorages() throws {
        for name in ["half", "bfloat16"] {
            let out = temporary("\(name).safetensors")
            try PyTorchStateDict(contentsOf: try fixture("\(name).bin")).writeSafeTensors(to: out)
            XCTAssertEqual(try Data(contentsOf: out), try Data(contentsOf: try fixture("\(name).safetensors")), name)
        }
    }

    /// Strided and offset views of one shared storage, int64, bool and a 0-d tensor come out contiguous.
    func testViewsIntegersBooleansAndScalars() throws {
        let state = try PyTorchStateDict(contentsOf: try fixture("views.bin"))
        XCTAssertEqual(state.aliases.count, 0)
        let byName = Dictionary(uniqueKeysWithValues: state.tensors.map { ($0.name, $0.tensor) })
        XCTAssertEqual(byName["transposed"]?.shape, [5, 3])
        XCTAssertEqual(byName["ids"]?.dtype, .i64)
        XCTAssertEqual(byName["flags"]?.dtype, .bool)
        XCTAssertEqual(byName["scalar"]?.shape, [])
        XCTAssertEqual(byName["every_other"]?.floats(), (0..<12).map { Float(2 * $0 + 1) / 7 })
        let out = temporary("views.safetensors")
        try state.writeSafeTensors(to: out)
        XCTAssertEqual(try Data(contentsOf: out), try Data(contentsOf: try fixture("views.safetensors")))
    }

    func testSmallerCopiesRoundLikeTorch() throws {
        let source = try fixture("bert/pytorch_model.bin")
        let f32 = temporary("f32.safetensors"), f16 = temporary("f16.safetensors"), bf16 = temporary("bf16.safetensors")
        let state = try PyTorchStateDict(contentsOf: source)
        try state.writeSafeTensors(to: f32)
        try state.writeSafeTensors(to: f16, dtype: .f16)
        try state.writeSafeTensors(to: bf16, dtype: .bf16)
        let full = try SafeTensorsFile(contentsOf: f32), half = try SafeTensorsFile(contentsOf: f16), brain = try SafeTensorsFile(contentsOf: bf16)
        XCTAssertEqual(half.names, full.names)
        for name in full.names {
            XCTAssertEqual(try half.info(name).dtype, .f16)
            XCTAssertEqual(try brain.info(name).dtype, .bf16)
            let values = try full.floats(name)
            XCTAssertEqual(try half.floats(name), values.map { HalfPrecision.float(fromHalf: HalfPrecision.half(fromFloat: $0)) }, name)
            XCTAssertEqual(try brain.floats(name), values.map { HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(fromFloat: $0)) }, name)
        }
        let sizes = try [f32, f16].map { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) }
        XCTAssertLessThan(sizes[1], sizes[0] * 6 / 10)
    }

    func testAPickleThatCallsOsSystemIsRefused() throws {
        XCTAssertThrowsError(try PyTorchStateDict(contentsOf: try fixture("evil.bin"))) { error in
            guard case let .disallowedGlobal(_, module, name, _)? = error as? PyTorchFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "system")
            XCTAssertTrue(["posix", "os", "nt"].contains(module), module)
            XCTAssertTrue("\(error)".contains("would run code"))
        }
    }

    func testDisallowedOpcodesAndMalformedPicklesAreNamed() {
        // INST (0x69), OBJ (0x6f), NEWOBJ (0x81) and EXT1 (0x82) build objects; never run.
        for op: UInt8 in [0x69, 0x6F, 0x81, 0x82] {
            XCTAssertThrowsError(try Unpickler.load([0x80, 0x02, op, 0x2E])) { error in
                XCTAssertEqual(error as? Unpickler.Failure, .unsupportedOpcode(op, offset: 2))
            }
        }
        // A GLOBAL outside the allowed ones fails at the GLOBAL itself, before any REDUCE.
        XCTAssertThrowsError(try Unpickler.load([0x80, 0x02] + Array("cbuiltins\neval\n)R.".utf8))) { error in
            XCTAssertEqual(error as? Unpickler.Failure, .disallowedGlobal(module: "builtins", name: "eval", offset: 2))
        }
        // Truncated arguments, an empty stack, a memo never stored.
        for bytes: [UInt8] in [[0x80, 0x02, 0x58, 0xFF, 0xFF], [0x80, 0x02, 0x2E], [0x80, 0x02, 0x68, 0x07, 0x2E], [0x80, 0x02, 0x4A, 0x01]] {
            XCTAssertThrowsError(try Unpickler.load(bytes)) { error in
                guard case .malformed? = error as? Unpickler.Failure else { return XCTFail("\(bytes): \(error)") }
            }
        }
    }

    func testTruncatedAndDamagedArchivesAreRefused() throws {
        let bytes = try Data(contentsOf: try fixture("bert/pytorch_model.bin"))
        for length in [0, 100, bytes.count / 2, bytes.count - 200, bytes.count - 1] {
            let cut = temporary("cut-\(length).bin")
            try bytes.prefix(length).write(to: cut)
            XCTAssertThrowsError(try PyTorchStateDict(contentsOf: cut), "\(length) bytes") { error in
                XCTAssertNotNil(error as? PyTorchFileError, "\(length): \(error)")
            }
        }
        // One flipped byte inside a storage fails its CRC. The storage's bytes follow its local
        // header: 30 bytes, the name, the extra field (torch pads storages to 64-byte alignment).
        let archive = try Archive(url: try fixture("bert/pytorch_model.bin"), accessMode: .read)
        let entry = try XCTUnwrap(archive.first { $0.path.hasSuffix("/data/0") })
        let name = Data(entry.path.utf8)
        let nameStart = try XCTUnwrap(bytes.range(of: name)).lowerBound
        let extra = Int(bytes[nameStart - 2]) | Int(bytes[nameStart - 1]) << 8
        let start = nameStart + name.count + extra
        var damaged = bytes
        damaged[start + 17] ^= 0x40
        let file = temporary("damaged.bin")
        try damaged.write(to: file)
        XCTAssertThrowsError(try PyTorchStateDict(contentsOf: file)) { error in
            guard case let .corruptEntry(_, name, _)? = error as? PyTorchFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, entry.path)
        }
    }

    func testNotAStateDictAndLegacyFilesAreNamed() throws {
        // A pickled list in a torch-style zip.
        let zip = temporary("list.bin")
        let archive = try Archive(url: zip, accessMode: .create)
        let pickle = Data([0x80, 0x02, 0x5D, 0x4B, 0x01, 0x61, 0x2E])  // [1]
        try archive.addEntry(with: "list/data.pkl", type: .file, uncompressedSize: Int64(pickle.count)) { position, size in
            pickle.subdata(in: Int(position)..<Int(position) + size)
        }
        XCTAssertThrowsError(try PyTorchStateDict(contentsOf: zip)) { error in
            guard case .notAStateDict? = error as? PyTorchFileError else { return XCTFail("\(error)") }
        }
        // torch.save(_use_new_zipfile_serialization=False): a bare pickle.
        let legacy = temporary("legacy.bin")
        try Data([0x80, 0x02, 0x8A, 0x0A]).write(to: legacy)
        XCTAssertThrowsError(try PyTorchStateDict(contentsOf: legacy)) { error in
            XCTAssertEqual(error as? PyTorchFileError, .legacyFormat(legacy.path))
        }
    }

    func testConvertWritesBesideTheInputAndKeepsAnExistingFile() throws {
        let folder = temporary("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try fixture("bert/pytorch_model.bin"), to: folder.appendingPathComponent("pytorch_model.bin"))
        let done = try PyTorchStateDict.convert(folder)
        XCTAssertEqual(done.output.lastPathComponent, "model.safetensors")
        XCTAssertEqual(done.tensorCount, 26)
        XCTAssertEqual(try Data(contentsOf: done.output), try Data(contentsOf: try fixture("bert.safetensors")))
        XCTAssertThrowsError(try PyTorchStateDict.convert(folder)) { error in
            XCTAssertEqual(error as? PyTorchFileError, .outputExists(done.output.path))
        }
        XCTAssertNoThrow(try PyTorchStateDict.convert(folder, dtype: .f16, overwrite: true))
        XCTAssertEqual(try SafeTensorsFile(contentsOf: done.output).info("bert.embeddings.word_embeddings.weight").dtype, .f16)
    }
}
