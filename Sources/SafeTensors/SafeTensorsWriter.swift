import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Collects Float32 tensors and writes them as one safetensors file, atomically: the bytes go
/// to a temporary file in the destination's folder, which is synced and then renamed over the
/// destination, so a crash or a failed write never leaves a half-written file behind.
///
/// The layout is the one Hugging Face's `safetensors` writes, byte for byte: tensors ordered by
/// dtype (F32, then BF16, then F16) and then by name (UTF-8 bytes), with contiguous increasing
/// offsets; compact JSON with `__metadata__` first; the header padded with spaces to a multiple
/// of 8 bytes. (HF stores metadata in a hash map, so with several metadata keys its order varies
/// from run to run; we sort the keys.) F32 tensors come first, so they stay 4-byte aligned.
///
/// Tensors are streamed to the file: F32 values are written straight from the caller's memory,
/// F16/BF16 through a small conversion buffer.
public struct SafeTensorsWriter {
    enum Storage {
        case pointer(UnsafeBufferPointer<Float>)
        case array([Float])
        /// Values already in the entry's dtype, little-endian (any dtype).
        case bytes(Data)
    }

    struct Entry {
        let name: String
        let shape: [Int]
        let storage: Storage
        let dtype: SafeTensorsDType

        func withValues<Result>(_ body: (UnsafeBufferPointer<Float>) throws -> Result) rethrows -> Result {
            switch storage {
            case .pointer(let values): return try body(values)
            case .array(let values): return try values.withUnsafeBufferPointer(body)
            case .bytes: return try body(UnsafeBufferPointer(start: nil, count: 0))
            }
        }

        var count: Int {
            switch storage {
            case .pointer(let values): return values.count
            case .array(let values): return values.count
            case .bytes(let data): return data.count / dtype.size
            }
        }
    }

    private var entries: [Entry] = []
    private var added: Set<String> = []

    /// Creates an empty writer.
    public init() {}

    /// The number of tensors added.
    public var count: Int { entries.count }

    /// Adds a tensor whose Float32 values stay in the caller's memory, stored as `dtype`.
    ///
    /// `values` is not copied: it must stay valid and unchanged until ``write(to:metadata:)`` returns.
    ///
    /// - Throws: ``SafeTensorsError/duplicateName(_:)`` if `name` was added before,
    ///   ``SafeTensorsError/shapeMismatch(tensor:shape:count:)`` if `shape`'s product is not
    ///   `values.count`, ``SafeTensorsError/unsupportedOutputDType(tensor:dtype:)`` unless `dtype`
    ///   is F32, F16 or BF16.
    public mutating func add(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>, dtype: SafeTensorsDType = .f32) throws {
        try validate(name, shape: shape, count: values.count, dtype: dtype)
        entries.append(Entry(name: name, shape: shape, storage: .pointer(values), dtype: dtype))
        added.insert(name)
    }

    /// Adds a tensor from an array (kept by reference, not copied), stored as `dtype`.
    ///
    /// - Throws: the same errors as the pointer-taking `add`.
    public mutating func add(_ name: String, shape: [Int], values: [Float], dtype: SafeTensorsDType = .f32) throws {
        try validate(name, shape: shape, count: values.count, dtype: dtype)
        entries.append(Entry(name: name, shape: shape, storage: .array(values), dtype: dtype))
        added.insert(name)
    }

    /// Adds a tensor whose values are already `dtype`'s little-endian bytes (any dtype: what a
    /// converter copies from another format). The bytes are kept by reference, not copied.
    ///
    /// - Throws: ``SafeTensorsError/duplicateName(_:)``, or ``SafeTensorsError/shapeMismatch(tensor:shape:count:)``
    ///   if the byte count is not `shape`'s product times the dtype's size.
    public mutating func add(_ name: String, shape: [Int], bytes: Data, dtype: SafeTensorsDType) throws {
        guard bytes.count % dtype.size == 0 else {
            throw SafeTensorsError.shapeMismatch(tensor: name, shape: shape, count: bytes.count / dtype.size)
        }
        try validate(name, shape: shape, count: bytes.count / dtype.size, dtype: dtype, converting: false)
        entries.append(Entry(name: name, shape: shape, storage: .bytes(bytes), dtype: dtype))
        added.insert(name)
    }

    private func validate(_ name: String, shape: [Int], count: Int, dtype: SafeTensorsDType, converting: Bool = true) throws {
        guard !added.contains(name) else { throw SafeTensorsError.duplicateName(name) }
        guard dtype.isWritable || !converting else { throw SafeTensorsError.unsupportedOutputDType(tensor: name, dtype: dtype.rawValue) }
        var product = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else { throw SafeTensorsError.shapeMismatch(tensor: name, shape: shape, count: count) }
            product = next
        }
        guard product == count else { throw SafeTensorsError.shapeMismatch(tensor: name, shape: shape, count: count) }
    }

    /// The entries in file order: dtype rank descending (F32, BF16, F16), then name bytes.
    var ordered: [Entry] {
        entries.sorted {
            $0.dtype.writerRank != $1.dtype.writerRank
                ? $0.dtype.writerRank > $1.dtype.writerRank
                : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }
    }

    /// The header bytes (JSON padded with spaces to a multiple of 8) for `ordered` entries.
    func header(for ordered: [Entry], metadata: [String: String]) -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            Self.appendJSONString("__metadata__", to: &json)
            json += Array(":{".utf8)
            for (index, (key, value)) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                Self.appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                Self.appendJSONString(value, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for entry in ordered {
            separator()
            let end = offset + entry.count * entry.dtype.size
            Self.appendJSONString(entry.name, to: &json)
            json += Array(":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(entry.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        return json
    }

    /// Appends `string` as a JSON string, escaped exactly as serde_json (which HF's writer uses):
    /// `"` and `\` backslashed, \b \t \n \f \r short, other controls as `\u00xx`, everything else raw.
    static func appendJSONString(_ string: String, to json: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        json.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): json += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: json += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: json += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: json += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: json += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: json += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x00..<0x20: json += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    /// Writes the file atomically, replacing `url` if it exists. `metadata` becomes `__metadata__`
    /// (omitted when empty); the default is what transformers writes.
    ///
    /// - Throws: ``SafeTensorsError/writeFailed(path:reason:)`` if the temporary file cannot be
    ///   created, written, synced or renamed; the destination is then left untouched and the
    ///   temporary file removed.
    public func write(to url: URL, metadata: [String: String] = ["format": "pt"]) throws {
        let ordered = ordered
        let header = header(for: ordered, metadata: metadata)
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw SafeTensorsError.writeFailed(path: url.path, reason: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        var isOpen = true
        do {
            try Self.writeContents(to: fd, header: header, entries: ordered)
            guard fsync(fd) == 0 else { throw WriteFailure("fsync failed: \(String(cString: strerror(errno)))") }
            isOpen = false
            guard close(fd) == 0 else { throw WriteFailure("close failed: \(String(cString: strerror(errno)))") }
            guard rename(temporary, url.path) == 0 else { throw WriteFailure("rename failed: \(String(cString: strerror(errno)))") }
        } catch {
            if isOpen { close(fd) }
            unlink(temporary)
            let reason = (error as? WriteFailure)?.reason ?? "\(error)"
            throw SafeTensorsError.writeFailed(path: url.path, reason: reason)
        }
        // Make the rename itself durable (best effort).
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    struct WriteFailure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func writeContents(to fd: Int32, header: [UInt8], entries: [Entry]) throws {
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try writeAll(fd, $0) }
        try header.withUnsafeBytes { try writeAll(fd, $0) }
        let chunk = 1 << 15
        var buffer = [UInt16](repeating: 0, count: chunk)
        for entry in entries {
            if case let .bytes(data) = entry.storage {
                try data.withUnsafeBytes { try writeAll(fd, $0) }
                continue
            }
            try entry.withValues { values in
                guard let source = values.baseAddress, !values.isEmpty else { return }
                if entry.dtype == .f32 {
                    try writeAll(fd, UnsafeRawBufferPointer(values))
                    return
                }
                var start = 0
                while start < values.count {
                    let n = min(chunk, values.count - start)
                    try buffer.withUnsafeMutableBufferPointer { out in
                        guard let target = out.baseAddress else { return }
                        if entry.dtype == .f16 {
                            HalfPrecision.narrowToHalves(source + start, into: target, count: n)
                        } else {
                            HalfPrecision.narrowToBFloat16s(source + start, into: target, count: n)
                        }
                        try writeAll(fd, UnsafeRawBufferPointer(start: target, count: 2 * n))
                    }
                    start += n
                }
            }
        }
    }

    /// Writes all of `bytes`, retrying partial writes and interruptions.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = posixWrite(fd, pointer, min(remaining, 1 << 30))
            if written < 0 {
                if errno == EINTR { continue }
                throw WriteFailure("write failed: \(String(cString: strerror(errno)))")
            }
            guard written > 0 else { throw WriteFailure("write made no progress") }
            pointer += written
            remaining -= written
        }
    }
}

/// POSIX `write`, spelled out so it is not confused with ``SafeTensorsWriter/write(to:metadata:)``.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
