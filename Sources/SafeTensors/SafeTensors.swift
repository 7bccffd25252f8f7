import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// Errors reading or writing safetensors files; each names the file and says what to do.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, detail: String)
    case invalidHeader(path: String, detail: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case inconsistentTensor(path: String, tensor: String, detail: String)
    case overlapping(path: String, first: String, second: String)
    case tensorNotFound(path: String, name: String, available: [String])
    case unsupportedConversion(path: String, tensor: String, dtype: String)
    case wrongDestinationSize(tensor: String, expected: Int, given: Int)
    case duplicateName(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open \(path): \(reason)"
        case .truncated(let path, let detail):
            return "\(path) is truncated (\(detail)); re-download or re-save it"
        case .invalidHeader(let path, let detail):
            return "\(path) is not a valid safetensors file: \(detail)"
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)' (supported: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .inconsistentTensor(let path, let tensor, let detail):
            return "\(path): tensor '\(tensor)' is inconsistent: \(detail); the file is corrupt, re-save it"
        case .overlapping(let path, let first, let second):
            return "\(path): tensors '\(first)' and '\(second)' overlap; the file is corrupt, re-save it"
        case .tensorNotFound(let path, let name, let available):
            return "\(path) has no tensor '\(name)' (it has \(available.prefix(5).joined(separator: ", "))\(available.count > 5 ? ", …" : ""))"
        case .unsupportedConversion(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' is \(dtype), which cannot be read as floating point"
        case .wrongDestinationSize(let tensor, let expected, let given):
            return "tensor '\(tensor)' has \(expected) elements but the destination holds \(given)"
        case .duplicateName(let name):
            return "tensor '\(name)' was added twice to the same safetensors file"
        case .writeFailed(let path, let reason):
            return "could not write \(path): \(reason); check the folder exists and has space"
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct SafeTensorInfo: Sendable, Equatable {
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data section.
    public let byteRange: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped, read-only safetensors file (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
///
/// The header is fully validated on open (sizes, dtypes, bounds, overlaps), so reads never
/// touch memory outside the file.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    /// `__metadata__` entries (`{"format": "pt"}` for files written by transformers).
    public let metadata: [String: String]
    public let tensors: [String: SafeTensorInfo]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// The largest header accepted (as the reference implementation).
    public static let maximumHeaderBytes = 100_000_000

    public init(contentsOf url: URL) throws {
        path = url.path
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError.cannotOpen(path: url.path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafeTensorsError.truncated(path: url.path, detail: "\(size) bytes, shorter than the 8-byte header length") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SafeTensorsError.cannotOpen(path: url.path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        mappedLength = size
        do {
            let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
            guard headerLength <= SafeTensorsFile.maximumHeaderBytes else {
                throw SafeTensorsError.invalidHeader(path: url.path, detail: "header length \(headerLength) exceeds \(SafeTensorsFile.maximumHeaderBytes) bytes")
            }
            guard 8 + headerLength <= size else {
                throw SafeTensorsError.truncated(path: url.path, detail: "header of \(headerLength) bytes but the file has \(size - 8) after the length")
            }
            dataStart = 8 + headerLength
            let headerData = Data(bytes: base + 8, count: headerLength)
            (metadata, tensors) = try SafeTensorsFile.parseHeader(headerData, dataLength: size - dataStart, path: url.path)
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    static func parseHeader(_ data: Data, dataLength: Int, path: String) throws -> ([String: String], [String: SafeTensorInfo]) {
        guard String(data: data, encoding: .utf8) != nil else { throw SafeTensorsError.invalidHeader(path: path, detail: "header is not UTF-8") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw SafeTensorsError.invalidHeader(path: path, detail: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else { throw SafeTensorsError.invalidHeader(path: path, detail: "header is not a JSON object") }
        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensorInfo] = [:]
        for (name, value) in root {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw SafeTensorsError.invalidHeader(path: path, detail: "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw SafeTensorsError.invalidHeader(path: path, detail: "__metadata__.\(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "missing dtype") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else { throw SafeTensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName) }
            guard let shapeValues = entry["shape"] as? [Any], let shape = intArray(shapeValues), shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "missing or invalid shape")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = intArray(offsetValues), offsets.count == 2,
                  offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "missing or invalid data_offsets")
            }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "shape \(shape) overflows") }
                count = product
            }
            guard offsets[1] - offsets[0] == count * dtype.size else {
                throw SafeTensorsError.inconsistentTensor(path: path, tensor: name,
                                                          detail: "shape \(shape) of \(dtypeName) needs \(count * dtype.size) bytes, data_offsets span \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataLength else {
                throw SafeTensorsError.truncated(path: path, detail: "tensor '\(name)' ends at byte \(offsets[1]) of a \(dataLength)-byte data section")
            }
            tensors[name] = SafeTensorInfo(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        // Empty tensors occupy no bytes and may sit anywhere.
        let ordered = tensors.filter { !$0.value.byteRange.isEmpty }.sorted { $0.value.byteRange.lowerBound < $1.value.byteRange.lowerBound }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.value.byteRange.upperBound > b.value.byteRange.lowerBound {
            throw SafeTensorsError.overlapping(path: path, first: a.key, second: b.key)
        }
        return (metadata, tensors)
    }

    static func intArray(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in values {
            guard let n = v as? NSNumber else { return nil }
            let d = n.doubleValue
            guard d == d.rounded(), d >= 0, d < 9e15 else { return nil }
            out.append(n.intValue)
        }
        return out
    }

    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// The header entry of a tensor.
    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let info = tensors[name] else { throw SafeTensorsError.tensorNotFound(path: path, name: name, available: names) }
        return info
    }

    /// Runs `body` on the raw little-endian bytes of a tensor (valid only inside `body`).
    public func withUnsafeBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let i = try info(name)
        return try body(UnsafeRawBufferPointer(start: base + dataStart + i.byteRange.lowerBound, count: i.byteRange.count))
    }

    /// Copies a tensor into `destination`, converting F32/F16/BF16/F64 to Float32.
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let i = try info(name)
        guard destination.count == i.elementCount else {
            throw SafeTensorsError.wrongDestinationSize(tensor: name, expected: i.elementCount, given: destination.count)
        }
        guard let out = destination.baseAddress, i.elementCount > 0 else { return }
        let src = base + dataStart + i.byteRange.lowerBound
        let n = i.elementCount
        switch i.dtype {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: n * 4)
        case .f16:
            for k in 0..<n { out[k] = HalfPrecision.float(fromHalf: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) }
        case .bf16:
            for k in 0..<n {
                out[k] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) << 16)
            }
        case .f64:
            for k in 0..<n { out[k] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)))) }
        default:
            throw SafeTensorsError.unsupportedConversion(path: path, tensor: name, dtype: i.dtype.rawValue)
        }
    }

    /// A tensor's values as Float32.
    public func floats(_ name: String) throws -> [Float] {
        let n = try info(name).elementCount
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { try copyFloats(name, into: $0) }
        return out
    }
}

/// Collects tensors and writes them as one safetensors file, atomically (a temporary file in
/// the same folder, then `rename`), so a crash never leaves a half-written file behind.
public struct SafeTensorsWriter {
    struct Entry { let name: String; let shape: [Int]; let values: UnsafeBufferPointer<Float>; let dtype: SafeTensorsDType }
    private var entries: [Entry] = []

    public init() {}

    /// Adds a tensor. `values` must stay valid until ``write(to:metadata:)`` returns.
    public mutating func add(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>, dtype: SafeTensorsDType = .f32) throws {
        guard !entries.contains(where: { $0.name == name }) else { throw SafeTensorsError.duplicateName(name) }
        precondition([.f32, .f16, .bf16].contains(dtype), "SafeTensorsWriter writes F32, F16 or BF16")
        precondition(shape.reduce(1, *) == values.count, "SafeTensorsWriter: \(values.count) values for shape \(shape)")
        entries.append(Entry(name: name, shape: shape, values: values, dtype: dtype))
    }

    /// The header JSON: tensors in name order with increasing offsets, padded with spaces to a
    /// multiple of 8 bytes.
    func header(metadata: [String: String]) -> Data {
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for e in entries.sorted(by: { $0.name < $1.name }) {
            let bytes = e.values.count * e.dtype.size
            parts.append("\(jsonString(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var text = "{" + parts.joined(separator: ",") + "}"
        while (8 + text.utf8.count) % 8 != 0 { text += " " }
        return Data(text.utf8)
    }

    func jsonString(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    /// Writes the file (metadata `{"format": "pt"}` as transformers writes by default).
    public func write(to url: URL, metadata: [String: String] = ["format": "pt"]) throws {
        let header = header(metadata: metadata)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        guard let file = fopen(temporary.path, "wb") else {
            throw SafeTensorsError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
        }
        var ok = true
        var length = UInt64(header.count).littleEndian
        ok = ok && fwrite(&length, 8, 1, file) == 1
        ok = ok && header.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } == header.count
        let chunk = 1 << 16
        var buffer = [UInt16](repeating: 0, count: chunk)
        for e in entries.sorted(by: { $0.name < $1.name }) where ok {
            switch e.dtype {
            case .f32:
                ok = fwrite(e.values.baseAddress, 4, e.values.count, file) == e.values.count
            default:
                var start = 0
                while start < e.values.count && ok {
                    let n = min(chunk, e.values.count - start)
                    for k in 0..<n {
                        let v = e.values[start + k]
                        buffer[k] = (e.dtype == .f16 ? HalfPrecision.half(fromFloat: v) : HalfPrecision.bfloat16(fromFloat: v)).littleEndian
                    }
                    ok = buffer.withUnsafeBytes { fwrite($0.baseAddress, 2, n, file) } == n
                    start += n
                }
            }
        }
        ok = fflush(file) == 0 && ok
        ok = fsync(fileno(file)) == 0 && ok
        fclose(file)
        guard ok, rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw SafeTensorsError.writeFailed(path: url.path, reason: reason)
        }
    }
}

/// IEEE half and bfloat16 conversions by bit manipulation (`Float16` is unavailable on Intel Macs).
public enum HalfPrecision {
    /// Half (binary16) bits → Float32, exact (subnormals, infinities and NaN included).
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // ±0 or subnormal: mantissa · 2⁻²⁴
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }

    /// Float32 → half bits with round-to-nearest-even, overflow to ±∞, NaN kept.
    public static func half(fromFloat value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if value.isNaN { return sign | 0x7E00 }
        let magnitude = abs(value)
        if magnitude >= 65520 { return sign | 0x7C00 }  // rounds to ∞ beyond the largest half (65504)
        if magnitude < 0x1p-14 {
            // Subnormal half: round magnitude·2²⁴ to the nearest integer, ties to even.
            let scaled = magnitude * 0x1p24
            var q = scaled.rounded(.toNearestOrEven)
            if q > 1024 { q = 1024 }
            return sign | UInt16(q)
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        var result = UInt32(exponent) << 10 | (mantissa >> 13)
        // Round to nearest even on the 13 dropped bits (a carry may bump the exponent, correctly).
        mantissa &= 0x1FFF
        if mantissa > 0x1000 || (mantissa == 0x1000 && (result & 1) == 1) { result += 1 }
        return sign | UInt16(result)
    }

    /// Float32 → bfloat16 bits with round-to-nearest-even (NaN kept quiet), as PyTorch converts.
    public static func bfloat16(fromFloat value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
        let roundingBias = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }
}
