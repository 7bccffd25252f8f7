import XCTest
import Foundation
@testable import SafeTensors

final class SafeTensorsWriterTests: SafeTensorsTestCase {
    struct Layout: Decodable {
        struct Entry: Decodable { let name: String; let shape: [Int]; let dtype: String; let input_bits: [UInt32] }
        let tensors: [Entry]
    }

    /// Our writer's bytes equal those of `safetensors.torch.save_file` for the same tensors:
    /// same order (F32, BF16, F16, then name), same JSON and escaping, same padding, same F16/BF16 rounding.
    func testWritesTheSameBytesAsHuggingFace() throws {
        let layout = try JSONDecoder().decode(Layout.self, from: Data(contentsOf: fixture("hf_layout.json")))
        let inputs = layout.tensors.map { ($0, $0.input_bits.map(Float.init(bitPattern:))) }
        var all = SafeTensorsWriter()
        var f32Only = SafeTensorsWriter()
        for (entry, values) in inputs {
            let dtype = try XCTUnwrap(SafeTensorsDType(rawValue: entry.dtype))
            try all.add(entry.name, shape: entry.shape, values: values, dtype: dtype)
            if dtype == .f32 { try f32Only.add(entry.name, shape: entry.shape, values: values) }
        }
        let mixed = directory.appendingPathComponent("mixed.safetensors")
        try all.write(to: mixed, metadata: ["format": "pt"])
        let expected = try Data(contentsOf: fixture("hf_layout.safetensors"))
        let written = try Data(contentsOf: mixed)
        XCTAssertEqual(written, expected, "header:\n\(String(decoding: written.prefix(400), as: UTF8.self))\nvs\n\(String(decoding: expected.prefix(400), as: UTF8.self))")
        let plain = directory.appendingPathComponent("f32.safetensors")
        try f32Only.write(to: plain, metadata: [:])
        XCTAssertEqual(try Data(contentsOf: plain), try Data(contentsOf: fixture("hf_layout_f32.safetensors")))
        // And it reads back.
        let file = try SafeTensorsFile(contentsOf: mixed)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        for (entry, values) in inputs where entry.dtype == "F32" {
            XCTAssertEqual(try file.floats(entry.name), values, entry.name)
            XCTAssertNotNil(try file.float32Pointer(entry.name), "F32 tensors come first and stay aligned")
        }
    }

    func testRoundTripInEveryDType() throws {
        let values: [Float] = [0, 1, -1.5, 0.1, 3.14159, -1e-3, 1e4, 7, .infinity, -0.0, 1e-7, 70000]
        for dtype in [SafeTensorsDType.f32, .f16, .bf16] {
            let url = directory.appendingPathComponent("\(dtype.rawValue).safetensors")
            var writer = SafeTensorsWriter()
            try values.withUnsafeBufferPointer { buffer in
                try writer.add("b.values", shape: [3, 4], values: buffer, dtype: dtype)
                try writer.add("a.first", shape: [2], values: UnsafeBufferPointer(rebasing: buffer[0..<2]), dtype: dtype)
                try writer.add("c.scalar", shape: [], values: [2.5], dtype: dtype)
                try writer.add("d.empty", shape: [4, 0], values: [], dtype: dtype)
                XCTAssertEqual(writer.count, 4)
                try writer.write(to: url, metadata: ["format": "pt", "step": "12"])
            }
            let file = try SafeTensorsFile(contentsOf: url)
            XCTAssertEqual(file.names, ["a.first", "b.values", "c.scalar", "d.empty"])
            XCTAssertEqual(file.metadata, ["format": "pt", "step": "12"])
            let expected: [Float] = values.map {
                switch dtype {
                case .f16: return HalfPrecision.float(fromHalf: HalfPrecision.half(fromFloat: $0))
                case .bf16: return HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(fromFloat: $0))
                default: return $0
                }
            }
            XCTAssertEqual(try file.floats("b.values").map(\.bitPattern), expected.map(\.bitPattern), dtype.rawValue)
            XCTAssertEqual(try file.floats("a.first"), Array(expected[0..<2]))
            XCTAssertEqual(try file.info("c.scalar").shape, [])
            XCTAssertEqual(try file.floats("c.scalar"), [2.5])
            XCTAssertEqual(try file.info("d.empty").shape, [4, 0])
            XCTAssertEqual(try file.info("d.empty").dtype, dtype)
            if dtype == .f32 { XCTAssertEqual(try file.floats("b.values"), values) }
            if dtype == .f16 { XCTAssertEqual(try file.floats("b.values").last, .infinity, "70000 overflows F16") }
            // The header is 8-byte aligned and the data section follows it, contiguous, with nothing after.
            let bytes = try Data(contentsOf: url)
            let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            XCTAssertEqual(headerLength % 8, 0)
            XCTAssertEqual(file.dataOffset, 8 + Int(headerLength))
            XCTAssertEqual(bytes.count, 8 + Int(headerLength) + 15 * dtype.size)
            let ranges = file.names.map { try! file.info($0).byteRange }.sorted { $0.lowerBound < $1.lowerBound }
            XCTAssertEqual(ranges.first?.lowerBound, 0)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        }
        XCTAssertEqual(try temporaryFiles(), [])
    }

    func testLargeTensorsStreamInChunks() throws {
        // More values than one conversion chunk, in every dtype.
        let values = (0..<100_003).map { Float($0) * 0.37 - 1000 }
        for dtype in [SafeTensorsDType.f32, .f16, .bf16] {
            var writer = SafeTensorsWriter()
            try writer.add("x", shape: [values.count], values: values, dtype: dtype)
            let url = directory.appendingPathComponent("large.safetensors")
            try writer.write(to: url)
            let back = try SafeTensorsFile(contentsOf: url).floats("x")
            let expected = values.map {
                dtype == .f16 ? HalfPrecision.float(fromHalf: HalfPrecision.half(fromFloat: $0))
                    : dtype == .bf16 ? HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(fromFloat: $0)) : $0
            }
            XCTAssertEqual(back, expected, dtype.rawValue)
        }
    }

    func testWriteReplacesTheDestinationWholeAndLeavesNoTemporaryFile() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        var big = SafeTensorsWriter()
        try big.add("w", shape: [1000], values: [Float](repeating: 1, count: 1000))
        try big.write(to: url)
        let oldFile = try SafeTensorsFile(contentsOf: url)  // an open mapping of the old file stays valid
        var small = SafeTensorsWriter()
        try small.add("v", shape: [2], values: [3, 4])
        try small.write(to: url, metadata: [:])
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["v"])
        XCTAssertEqual(try file.floats("v"), [3, 4])
        let header = #"{"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  "#  // 54 bytes + 2 spaces of padding
        XCTAssertEqual(try Data(contentsOf: url), Data([56, 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8) + [0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40]))
        XCTAssertEqual(try oldFile.floats("w"), [Float](repeating: 1, count: 1000))
        XCTAssertEqual(try temporaryFiles(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
    }

    func testFailedWritesLeaveNothingBehind() throws {
        var writer = SafeTensorsWriter()
        try writer.add("v", shape: [2], values: [3, 4])
        // The folder does not exist.
        let missing = directory.appendingPathComponent("no/such/folder/model.safetensors")
        XCTAssertThrowsError(try writer.write(to: missing)) { error in
            guard case SafeTensorsError.writeFailed(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
            XCTAssertTrue("\(error)".contains(missing.path))
        }
        // The destination is a non-empty folder: everything is written, the rename fails, the
        // temporary file is removed and the folder is untouched.
        let folder = directory.appendingPathComponent("taken.safetensors")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data([1]).write(to: folder.appendingPathComponent("keep"))
        XCTAssertThrowsError(try writer.write(to: folder)) { error in
            guard case SafeTensorsError.writeFailed = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try temporaryFiles(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["keep"])
    }

    func testWriterRejectsBadInput() throws {
        var writer = SafeTensorsWriter()
        let one: [Float] = [1]
        try one.withUnsafeBufferPointer { buffer in
            try writer.add("x", shape: [1], values: buffer)
            XCTAssertThrowsError(try writer.add("x", shape: [1], values: buffer)) { XCTAssertEqual($0 as? SafeTensorsError, .duplicateName("x")) }
            XCTAssertThrowsError(try writer.add("x", shape: [1], values: [2], dtype: .f16)) { XCTAssertEqual($0 as? SafeTensorsError, .duplicateName("x")) }
            XCTAssertThrowsError(try writer.add("y", shape: [2], values: buffer)) {
                XCTAssertEqual($0 as? SafeTensorsError, .shapeMismatch(tensor: "y", shape: [2], count: 1))
            }
            XCTAssertThrowsError(try writer.add("y", shape: [-1, -1], values: buffer)) {
                XCTAssertEqual($0 as? SafeTensorsError, .shapeMismatch(tensor: "y", shape: [-1, -1], count: 1))
            }
            XCTAssertThrowsError(try writer.add("y", shape: [1], values: buffer, dtype: .i32)) {
                XCTAssertEqual($0 as? SafeTensorsError, .unsupportedOutputDType(tensor: "y", dtype: "I32"))
            }
        }
        XCTAssertEqual(writer.count, 1)
        for error in [SafeTensorsError.duplicateName("x"), .shapeMismatch(tensor: "y", shape: [2], count: 1), .unsupportedOutputDType(tensor: "y", dtype: "I32")] {
            XCTAssertTrue(error.description.contains(error == .duplicateName("x") ? "'x'" : "'y'"), error.description)
        }
    }

    func testJSONEscapingMatchesSerde() {
        var json: [UInt8] = []
        SafeTensorsWriter.appendJSONString("a\"b\\c/d\u{8}\u{9}\n\u{C}\r\u{1}\u{1F}é\u{7F}", to: &json)
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #""a\"b\\c/d\b\t\n\f\r\u0001\u001fé"# + "\u{7F}\"")
    }
}

final class HalfPrecisionTests: SafeTensorsTestCase {
    struct Rounding: Decodable {
        let rounding_input_bits: [UInt32]
        let f16_bits: [UInt16]
        let bf16_bits: [UInt16]
    }

    func testConversionsMatchTorch() throws {
        let ref = try JSONDecoder().decode(Rounding.self, from: Data(contentsOf: fixture("hf_mixed.json")))
        let input = ref.rounding_input_bits.map(Float.init(bitPattern:))
        XCTAssertEqual(input.map(HalfPrecision.half(fromFloat:)), ref.f16_bits)
        XCTAssertEqual(input.map(HalfPrecision.bfloat16(fromFloat:)), ref.bf16_bits)
        // The array loops agree with the scalar functions.
        var halves = [UInt16](repeating: 0, count: input.count)
        var brains = [UInt16](repeating: 0, count: input.count)
        HalfPrecision.narrowToHalves(input, into: &halves, count: input.count)
        HalfPrecision.narrowToBFloat16s(input, into: &brains, count: input.count)
        XCTAssertEqual(halves, ref.f16_bits)
        XCTAssertEqual(brains, ref.bf16_bits)
    }

    /// Every half value widens exactly (checked against a straightforward reference) and narrows back to itself.
    func testEveryHalfValue() {
        let all = (0...UInt16.max).map { $0 }
        var widened = [Float](repeating: 0, count: all.count)
        all.withUnsafeBytes { HalfPrecision.widenHalves($0.baseAddress!, into: &widened, count: all.count) }
        for bits in all {
            let f = widened[Int(bits)]
            let exponent = Int(bits >> 10) & 0x1F, mantissa = Double(bits & 0x3FF), sign: Double = bits & 0x8000 == 0 ? 1 : -1
            if exponent == 31 {
                XCTAssertEqual(f.isNaN, mantissa != 0, "\(bits)")
                if mantissa == 0 { XCTAssertEqual(Double(f), sign * .infinity) }
                continue
            }
            let expected = exponent == 0 ? sign * mantissa * 0x1p-24 : sign * (1 + mantissa / 1024) * pow(2, Double(exponent - 15))
            XCTAssertEqual(Double(f), expected, "half \(bits)")
            XCTAssertEqual(f.sign, sign < 0 ? .minus : .plus)
            XCTAssertEqual(HalfPrecision.float(fromHalf: bits).bitPattern, f.bitPattern)
            XCTAssertEqual(HalfPrecision.half(fromFloat: f), bits, "half \(bits)")
        }
        XCTAssertEqual(HalfPrecision.half(fromFloat: .nan) & 0x7E00, 0x7E00)
        XCTAssertEqual(HalfPrecision.bfloat16(fromFloat: .nan) & 0x7FC0, 0x7FC0)
        XCTAssertTrue(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(fromFloat: -.nan)).isNaN)
    }

    /// Round to nearest even at every tie and just either side of it, for every pair of adjacent
    /// finite halves (the midpoint needs 12 significant bits, so it is exact in Float32).
    func testHalfRoundingAtEveryMidpoint() {
        for bits in UInt16(0)..<0x7C00 {
            let low = Double(HalfPrecision.float(fromHalf: bits))
            let high = bits == 0x7BFF ? 65536 : Double(HalfPrecision.float(fromHalf: bits + 1))
            let mid = Float((low + high) / 2)
            let even = bits & 1 == 0 ? bits : bits + 1
            for (value, expected) in [(mid, even), (mid.nextDown, bits), (mid.nextUp, bits + 1)] {
                XCTAssertEqual(HalfPrecision.half(fromFloat: value), expected, "\(value)")
                XCTAssertEqual(HalfPrecision.half(fromFloat: -value), expected | 0x8000, "\(-value)")
            }
        }
        XCTAssertEqual(HalfPrecision.half(fromFloat: 1e30), 0x7C00)
        XCTAssertEqual(HalfPrecision.half(fromFloat: -.infinity), 0xFC00)
        XCTAssertEqual(HalfPrecision.half(fromFloat: 1e-30), 0)
        XCTAssertEqual(HalfPrecision.half(fromFloat: -1e-30), 0x8000)
    }

    func testBFloat16RoundsToNearestEven() {
        for upper in stride(from: UInt32(0), to: 0x7F80, by: 97) {
            let low = upper << 16
            XCTAssertEqual(HalfPrecision.bfloat16(fromFloat: Float(bitPattern: low | 0x8000)), UInt16(upper + (upper & 1)))
            XCTAssertEqual(HalfPrecision.bfloat16(fromFloat: Float(bitPattern: low | 0x7FFF)), UInt16(upper))
            XCTAssertEqual(HalfPrecision.bfloat16(fromFloat: Float(bitPattern: low | 0x8001)), UInt16(upper + 1))
        }
        XCTAssertEqual(HalfPrecision.bfloat16(fromFloat: .greatestFiniteMagnitude), 0x7F80, "rounds up to infinity, as torch")
    }
}
