import XCTest
import Foundation
@testable import SafeTensors

final class SafeTensorsTests: XCTestCase {
    struct Reference: Decodable {
        struct Entry: Decodable { let dtype: String; let shape: [Int]; let values: [Double] }
        let tensors: [String: Entry]
        let metadata: [String: String]
        let rounding_input_bits: [UInt32]
        var roundingInput: [Float] { rounding_input_bits.map(Float.init(bitPattern:)) }
        let f16_bits: [UInt16]
        let bf16_bits: [UInt16]
    }

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func fixture(_ name: String) -> URL { Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")! }

    func reference() throws -> Reference { try JSONDecoder().decode(Reference.self, from: Data(contentsOf: fixture("hf_mixed.json"))) }

    func testReadsFilesWrittenByHuggingFace() throws {
        let ref = try reference()
        let file = try SafeTensorsFile(contentsOf: fixture("hf_mixed.safetensors"))
        XCTAssertEqual(file.metadata, ref.metadata)
        XCTAssertEqual(Set(file.names), Set(ref.tensors.keys))
        let dtypes = ["float32": SafeTensorsDType.f32, "float16": .f16, "bfloat16": .bf16]
        for (name, entry) in ref.tensors {
            let info = try file.info(name)
            XCTAssertEqual(info.shape, entry.shape, name)
            XCTAssertEqual(info.dtype, dtypes[entry.dtype], name)
            XCTAssertEqual(try file.floats(name).map(Double.init), entry.values, name)  // exact: all widen to Float32
        }
    }

    func testHalfAndBFloat16ConversionsMatchTorch() throws {
        let ref = try reference()
        XCTAssertEqual(ref.roundingInput.map(HalfPrecision.half(fromFloat:)), ref.f16_bits)
        XCTAssertEqual(ref.roundingInput.map(HalfPrecision.bfloat16(fromFloat:)), ref.bf16_bits)
        // Every half value widens exactly and narrows back to itself.
        for bits in UInt16.min...UInt16.max {
            let f = HalfPrecision.float(fromHalf: bits)
            if f.isNaN { continue }
            XCTAssertEqual(HalfPrecision.half(fromFloat: f), bits, "half \(bits)")
        }
    }

    func testRoundTripInEveryDType() throws {
        let values: [Float] = [0, 1, -1.5, 0.1, 3.14159, -1e-3, 1e4, 7]
        for dtype in [SafeTensorsDType.f32, .f16, .bf16] {
            let url = directory.appendingPathComponent("\(dtype.rawValue).safetensors")
            var writer = SafeTensorsWriter()
            try values.withUnsafeBufferPointer { buf in
                try writer.add("b.values", shape: [2, 4], values: buf, dtype: dtype)
                try writer.add("a.first", shape: [2], values: UnsafeBufferPointer(rebasing: buf[0..<2]), dtype: dtype)
                try writer.write(to: url, metadata: ["format": "pt"])
            }
            let file = try SafeTensorsFile(contentsOf: url)
            XCTAssertEqual(file.names, ["a.first", "b.values"])
            let back = try file.floats("b.values")
            let expected: [Float] = values.map {
                switch dtype {
                case .f16: return HalfPrecision.float(fromHalf: HalfPrecision.half(fromFloat: $0))
                case .bf16: return Float(bitPattern: UInt32(HalfPrecision.bfloat16(fromFloat: $0)) << 16)
                default: return $0
                }
            }
            XCTAssertEqual(back, expected, dtype.rawValue)
            // The header is 8-byte aligned and the data section starts right after it.
            let bytes = try Data(contentsOf: url)
            let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            XCTAssertEqual(headerLength % 8, 0)
            XCTAssertEqual(bytes.count, 8 + Int(headerLength) + 10 * dtype.size)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }, [])
    }

    func testOurHeaderMatchesHuggingFaceLayoutForF32() throws {
        // Same tensors, same order and offsets as safetensors' own writer for one dtype.
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let url = directory.appendingPathComponent("x.safetensors")
        var writer = SafeTensorsWriter()
        try values.withUnsafeBufferPointer { try writer.add("x", shape: [2, 3], values: $0); try writer.write(to: url, metadata: [:]) }
        let text = try String(decoding: Data(contentsOf: url).dropFirst(8).prefix(while: { $0 != 0x20 && $0 != 0 }), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}"), text)
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func file(header: String, data: Int) throws -> URL {
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8) + [UInt8](repeating: 0, count: data)
        return try write(bytes, "crafted-\(UUID().uuidString).safetensors")
    }

    func expectError(_ url: URL, file: StaticString = #filePath, line: UInt = #line, _ check: (SafeTensorsError) -> Bool) {
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError, check(e) else { return XCTFail("unexpected error \(error)", file: file, line: line) }
            XCTAssertTrue(e.description.contains(url.path), "the message names the file", file: file, line: line)
        }
    }

    func testTruncatedFilesAreNamedErrors() throws {
        let good = try Data(contentsOf: fixture("hf_mixed.safetensors"))
        for cut in [0, 5, 8, 20, good.count - 1] {
            let url = try write(Array(good.prefix(cut)), "cut\(cut).safetensors")
            expectError(url) { if case .truncated = $0 { return true }; return false }
        }
    }

    func testCorruptHeadersAreNamedErrors() throws {
        expectError(try file(header: "{not json", data: 0)) { if case .invalidHeader = $0 { return true }; return false }
        expectError(try file(header: "[1,2]", data: 0)) { if case .invalidHeader = $0 { return true }; return false }
        expectError(try file(header: #"{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}"#, data: 1)) {
            if case .unknownDType(_, "a", "Q8") = $0 { return true }; return false
        }
        expectError(try file(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: 4)) { if case .inconsistentTensor = $0 { return true }; return false }
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4)) {
            if case .inconsistentTensor = $0 { return true }; return false
        }
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8)) {
            if case .overlapping = $0 { return true }; return false
        }
        expectError(try file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8)) { if case .truncated = $0 { return true }; return false }
        var huge = [UInt8]()
        withUnsafeBytes(of: UInt64(200_000_000).littleEndian) { huge += $0 }
        expectError(try write(huge + [0x7B], "huge.safetensors")) { if case .invalidHeader = $0 { return true }; return false }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: directory.appendingPathComponent("absent.safetensors"))) {
            guard case SafeTensorsError.cannotOpen = $0 else { return XCTFail("\($0)") }
        }
    }

    func testLookupErrors() throws {
        let file = try SafeTensorsFile(contentsOf: fixture("hf_mixed.safetensors"))
        XCTAssertThrowsError(try file.floats("nope")) { XCTAssertTrue("\($0)".contains("no tensor 'nope'")) }
        var small = [Float](repeating: 0, count: 3)
        XCTAssertThrowsError(try small.withUnsafeMutableBufferPointer { try file.copyFloats("weight.f32", into: $0) })
        var writer = SafeTensorsWriter()
        let one: [Float] = [1]
        try one.withUnsafeBufferPointer { buf in
            try writer.add("x", shape: [1], values: buf)
            XCTAssertThrowsError(try writer.add("x", shape: [1], values: buf)) { XCTAssertEqual($0 as? SafeTensorsError, .duplicateName("x")) }
        }
    }
}
