import XCTest
import Foundation
@testable import SafeTensors

/// Shared fixtures and helpers.
class SafeTensorsTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func fixture(_ name: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("missing fixture \(name); run scripts/fixtures/make_safetensors_fixtures.py")
        }
        return url
    }

    func write(_ bytes: [UInt8], _ name: String = "crafted-\(UUID().uuidString).safetensors") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A file with the given header text (not padded) and `data` zero bytes after it.
    func file(header: String, data: Int) throws -> URL {
        try file(headerBytes: Array(header.utf8), data: data)
    }

    func file(headerBytes: [UInt8], data: Int) throws -> URL {
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { bytes += $0 }
        return try write(bytes + headerBytes + [UInt8](repeating: 0, count: data))
    }

    /// Asserts that opening `url` throws a `SafeTensorsError` accepted by `check`, whose message names the file.
    func expectError(_ url: URL, file: StaticString = #filePath, line: UInt = #line, _ check: (SafeTensorsError) -> Bool) {
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError, check(e) else { return XCTFail("unexpected error \(error)", file: file, line: line) }
            XCTAssertTrue(e.description.contains(url.path), "the message names the file: \(e)", file: file, line: line)
        }
    }

    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
    }
}

final class SafeTensorsReadingTests: SafeTensorsTestCase {
    struct MixedReference: Decodable {
        struct Entry: Decodable { let dtype: String; let shape: [Int]; let values: [Double] }
        let tensors: [String: Entry]
        let metadata: [String: String]
    }

    func testReadsFilesWrittenByHuggingFace() throws {
        let ref = try JSONDecoder().decode(MixedReference.self, from: Data(contentsOf: fixture("hf_mixed.json")))
        let file = try SafeTensorsFile(contentsOf: fixture("hf_mixed.safetensors"))
        XCTAssertEqual(file.metadata, ref.metadata)
        XCTAssertEqual(file.names, ref.tensors.keys.sorted())
        let dtypes = ["float32": SafeTensorsDType.f32, "float16": .f16, "bfloat16": .bf16]
        for (name, entry) in ref.tensors {
            let info = try file.info(name)
            XCTAssertEqual(info.shape, entry.shape, name)
            XCTAssertEqual(info.dtype, dtypes[entry.dtype], name)
            XCTAssertEqual(info.byteCount, entry.values.count * info.dtype.size, name)
            XCTAssertEqual(try file.floats(name).map(Double.init), entry.values, name)  // exact: all widen to Float32
        }
        // The 0-dim scalar and the empty tensor.
        XCTAssertEqual(try file.info("scalar").shape, [])
        XCTAssertEqual(try file.info("scalar").elementCount, 1)
        XCTAssertEqual(try file.floats("scalar"), [3.25])
        XCTAssertEqual(try file.info("empty").shape, [0, 4])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertTrue(file.contains("weight.f32"))
        XCTAssertFalse(file.contains("weight"))
    }

    func testZeroCopyAccess() throws {
        let mapped = try SafeTensorsFile(contentsOf: fixture("hf_mixed.safetensors"))
        let expected = try mapped.floats("weight.f32")
        let found = try mapped.float32Pointer("weight.f32")
        let (pointer, owner) = try XCTUnwrap(found)
        XCTAssertTrue(owner === mapped)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: pointer, count: expected.count)), expected)
        XCTAssertNil(try mapped.float32Pointer("weight.f16"), "not F32")
        XCTAssertNil(try mapped.float32Pointer("weight.bf16"), "not F32")
        XCTAssertThrowsError(try mapped.float32Pointer("nope"))
        // Raw bytes: BF16 is the top half of the Float32.
        let raw = try mapped.withUnsafeBytes(of: "weight.bf16") { Array($0) }
        XCTAssertEqual(raw.count, 14 * 2)
        let widened = stride(from: 0, to: raw.count, by: 2).map { Float(bitPattern: UInt32(raw[$0]) << 16 | UInt32(raw[$0 + 1]) << 24) }
        XCTAssertEqual(widened, try mapped.floats("weight.bf16"))
        // A misaligned F32 tensor is still readable, but not in place (the 108-byte header puts the
        // data section at 116, a multiple of 4, so offset 1 is misaligned).
        let misaligned = try file(header: #"{"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}"#, data: 9)
        let opened = try SafeTensorsFile(contentsOf: misaligned)
        XCTAssertNil(try opened.float32Pointer("x"))
        XCTAssertEqual(try opened.floats("x"), [0, 0])
    }

    func testReadsOtherDTypes() throws {
        struct Entry: Decodable { let shape: [Int]; let float32: [Double] }
        let ref = try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: fixture("hf_other_dtypes.json")))
        let file = try SafeTensorsFile(contentsOf: fixture("hf_other_dtypes.safetensors"))
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(try file.info("f64").dtype, .f64)
        XCTAssertEqual(try file.info("i64").dtype, .i64)
        XCTAssertEqual(try file.info("i32").dtype, .i32)
        for name in ["f64", "i64", "i32"] {
            XCTAssertEqual(try file.info(name).shape, ref[name]?.shape, name)
            XCTAssertEqual(try file.floats(name).map(Double.init), ref[name]?.float32, name)
        }
        for (name, dtype) in [("u8", "U8"), ("i16", "I16"), ("flags", "BOOL")] {
            XCTAssertThrowsError(try file.floats(name)) { error in
                XCTAssertEqual(error as? SafeTensorsError, .unsupportedConversion(path: file.path, tensor: name, dtype: dtype))
                XCTAssertTrue("\(error)".contains(file.path))
            }
        }
        XCTAssertEqual(try file.withUnsafeBytes(of: "u8") { Array($0) }, [1, 2, 255])
        XCTAssertEqual(try file.withUnsafeBytes(of: "flags") { Array($0) }, [1, 0])
    }

    func testLookupErrors() throws {
        let file = try SafeTensorsFile(contentsOf: fixture("hf_mixed.safetensors"))
        XCTAssertThrowsError(try file.floats("nope")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .tensorNotFound(path: file.path, name: "nope", available: file.names))
            let message = "\(error)"
            XCTAssertTrue(message.contains("no tensor 'nope'"), message)
            XCTAssertTrue(message.contains("'weight.f32'"), "lists available names: \(message)")
            XCTAssertTrue(message.contains(file.path), message)
        }
        XCTAssertThrowsError(try file.info("nope"))
        XCTAssertThrowsError(try file.withUnsafeBytes(of: "nope") { _ in () })
        var small = [Float](repeating: 0, count: 3)
        XCTAssertThrowsError(try small.withUnsafeMutableBufferPointer { try file.copyFloats("weight.f32", into: $0) }) { error in
            XCTAssertEqual(error as? SafeTensorsError, .wrongDestinationSize(tensor: "weight.f32", expected: 15, given: 3))
        }
        // copyFloats into a slice of a larger buffer.
        var big = [Float](repeating: -1, count: 20)
        try big.withUnsafeMutableBufferPointer { try file.copyFloats("weight.f16", into: UnsafeMutableBufferPointer(rebasing: $0[2..<14])) }
        XCTAssertEqual(Array(big[2..<14]), try file.floats("weight.f16"))
        XCTAssertEqual(big[0], -1)
        XCTAssertEqual(big[14], -1)
    }

    func testTruncatedFilesAreNamedErrors() throws {
        let good = try Data(contentsOf: fixture("hf_mixed.safetensors"))
        // Every cut: inside the length, inside the header, inside the data.
        for cut in 0..<good.count {
            let url = try write(Array(good.prefix(cut)), "cut\(cut).safetensors")
            expectError(url) {
                guard case .truncated = $0 else { return false }
                return $0.description.contains("the file is truncated, re-download or re-save it")
            }
            try FileManager.default.removeItem(at: url)
        }
    }

    func testCorruptHeadersAreNamedErrors() throws {
        func isInvalidHeader(_ e: SafeTensorsError) -> Bool { if case .invalidHeader = e { return true }; return false }
        func isInconsistent(_ e: SafeTensorsError) -> Bool { if case .inconsistentTensor = e { return true }; return false }
        expectError(try file(header: "{not json", data: 0), isInvalidHeader)
        expectError(try file(header: "", data: 0), isInvalidHeader)
        expectError(try file(header: "[1,2]", data: 0), isInvalidHeader)
        expectError(try file(header: #"{"__metadata__":{"format":3}}"#, data: 0), isInvalidHeader)
        expectError(try file(header: #"{"__metadata__":[1]}"#, data: 0), isInvalidHeader)
        expectError(try file(headerBytes: Array(#"{"a\#u{e9}":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#.utf8).map { $0 == 0xA9 ? 0xFF : $0 }, data: 4)) {
            if case .invalidHeader(_, let detail) = $0 { return detail.contains("UTF-8") }
            return false
        }
        for field in ["dtype", "shape", "data_offsets"] {
            var entry = ["\"dtype\":\"F32\"", "\"shape\":[1]", "\"data_offsets\":[0,4]"]
            entry.removeAll { $0.hasPrefix("\"\(field)\"") }
            expectError(try file(header: "{\"a\":{\(entry.joined(separator: ","))}}", data: 4)) {
                $0 == .missingField(path: $0.pathForTest, tensor: "a", field: field)
            }
        }
        expectError(try file(header: #"{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}"#, data: 1)) {
            if case .unknownDType(_, "a", "Q8") = $0 { return true }
            return false
        }
        expectError(try file(header: #"{"a":7}"#, data: 0), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":5,"shape":[1],"data_offsets":[0,4]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, data: 4), isInconsistent)
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8)) {
            if case .overlapping(_, "a", "b") = $0 { return true }
            return false
        }
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8)) {
            if case .truncated = $0 { return true }
            return false
        }
        var huge = [UInt8]()
        withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { huge += $0 }
        expectError(try write(huge + Array("{}".utf8))) { if case .headerTooLarge(_, 100_000_001) = $0 { return true }; return false }
        withUnsafeBytes(of: UInt64.max.littleEndian) { huge = Array($0) }
        expectError(try write(huge + Array("{}".utf8))) { if case .headerTooLarge = $0 { return true }; return false }
        // Missing file, a folder.
        expectError(directory.appendingPathComponent("absent.safetensors")) { if case .cannotOpen = $0 { return true }; return false }
        expectError(directory) { if case .cannotOpen = $0 { return true }; return false }
        // Still valid: padding, empty tensors sharing an offset, a gap, no tensors at all.
        let padded = try SafeTensorsFile(contentsOf: try file(header: #"{"e":{"dtype":"F16","shape":[0],"data_offsets":[2,2]},"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}   "#, data: 6))
        XCTAssertEqual(padded.names, ["a", "b", "e"])
        XCTAssertEqual(try SafeTensorsFile(contentsOf: try file(header: "{}", data: 0)).names, [])
    }

    /// Random corruption of a valid header never crashes: it loads or throws a SafeTensorsError.
    func testCorruptionNeverCrashes() throws {
        let good = Array(try Data(contentsOf: fixture("hf_mixed.safetensors")))
        let headerEnd = 8 + Int(good[0]) + Int(good[1]) << 8
        var generator = SystemRandomNumberGenerator()
        let replacements = Array("{}[],:\"0123456789-eE. \\".utf8) + [0x00, 0xFF, 0xC3]
        for trial in 0..<300 {
            var bytes = good
            for _ in 0..<(1 + trial % 4) {
                let at = Int.random(in: 0..<(trial % 10 == 0 ? 8 : headerEnd), using: &generator)
                bytes[at] = replacements.randomElement(using: &generator) ?? 0
            }
            let url = try write(bytes, "fuzz.safetensors")
            do {
                let file = try SafeTensorsFile(contentsOf: url)
                for name in file.names { _ = try? file.floats(name) }
            } catch {
                XCTAssertTrue(error is SafeTensorsError, "\(error)")
            }
        }
    }
}

extension SafeTensorsError {
    /// The path a reading error names (for building expected values in tests).
    var pathForTest: String {
        switch self {
        case .cannotOpen(let path, _), .truncated(let path, _), .headerTooLarge(let path, _), .invalidHeader(let path, _),
             .missingField(let path, _, _), .unknownDType(let path, _, _), .inconsistentTensor(let path, _, _),
             .overlapping(let path, _, _), .tensorNotFound(let path, _, _), .unsupportedConversion(let path, _, _),
             .writeFailed(let path, _):
            return path
        case .wrongDestinationSize, .duplicateName, .shapeMismatch, .unsupportedOutputDType:
            return ""
        }
    }
}
