import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped, read-only safetensors file.
///
/// The whole file is mapped (`mmap`, `PROT_READ`, `MAP_PRIVATE`) for the lifetime of the object
/// and unmapped in `deinit`. The header is fully validated when the file is opened (UTF-8 JSON,
/// every dtype known, shape × dtype size equal to the byte range, every range inside the file, no
/// two ranges overlapping), so later reads never touch memory outside the mapping and a bad file
/// gives a ``SafeTensorsError``, never a crash. Gaps between tensors and trailing bytes are
/// tolerated (the reference implementation rejects them).
///
/// Instances are immutable and may be shared between threads.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The file's path, as given.
    public let path: String
    /// The `__metadata__` entries (`["format": "pt"]` for files written by transformers); empty if none.
    public let metadata: [String: String]
    /// Every tensor's header entry, by name.
    public let tensors: [String: SafeTensorInfo]
    /// The tensor names, sorted.
    public let names: [String]
    /// The byte offset of the data section in the file (8 + the header length).
    public let dataOffset: Int

    /// The largest header accepted, in bytes (100 MB, as the reference implementation).
    public static let maximumHeaderBytes = 100_000_000

    private let base: UnsafeRawPointer
    private let mappedLength: Int

    /// Opens, maps and validates the safetensors file at `url`.
    ///
    /// - Throws: ``SafeTensorsError/cannotOpen(path:reason:)`` if the file is missing or unreadable,
    ///   ``SafeTensorsError/truncated(path:detail:)`` if it ends early, and the other header errors
    ///   (``SafeTensorsError/headerTooLarge(path:length:)``, ``SafeTensorsError/invalidHeader(path:detail:)``,
    ///   ``SafeTensorsError/missingField(path:tensor:field:)``, ``SafeTensorsError/unknownDType(path:tensor:dtype:)``,
    ///   ``SafeTensorsError/inconsistentTensor(path:tensor:detail:)``, ``SafeTensorsError/overlapping(path:first:second:)``)
    ///   if the header is malformed.
    public init(contentsOf url: URL) throws {
        let path = url.path
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw SafeTensorsError.truncated(path: path, detail: "\(size) bytes, shorter than the 8-byte header length")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        mappedLength = size
        do {
            let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
            guard headerLength <= UInt64(SafeTensorsFile.maximumHeaderBytes) else {
                throw SafeTensorsError.headerTooLarge(path: path, length: headerLength)
            }
            let n = Int(headerLength)
            guard n <= size - 8 else {
                throw SafeTensorsError.truncated(path: path, detail: "the header claims \(n) bytes but only \(size - 8) follow the length")
            }
            dataOffset = 8 + n
            let header = UnsafeRawBufferPointer(start: base + 8, count: n)
            (metadata, tensors) = try SafeTensorsFile.parseHeader(header, dataLength: size - dataOffset, path: path)
            names = tensors.keys.sorted()
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    // MARK: Header parsing

    static func parseHeader(_ header: UnsafeRawBufferPointer, dataLength: Int, path: String)
        throws -> (metadata: [String: String], tensors: [String: SafeTensorInfo]) {
        // Exact UTF-8 validation: decoding repairs invalid sequences, so compare the bytes back.
        let text = String(decoding: header, as: UTF8.self)
        guard text.utf8.elementsEqual(header) else { throw SafeTensorsError.invalidHeader(path: path, detail: "the header is not valid UTF-8") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(header), options: [])
        } catch {
            throw SafeTensorsError.invalidHeader(path: path, detail: "the header is not valid JSON")
        }
        guard let root = object as? [String: Any] else {
            throw SafeTensorsError.invalidHeader(path: path, detail: "the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensorInfo] = [:]
        for (name, value) in root {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else {
                    throw SafeTensorsError.invalidHeader(path: path, detail: "__metadata__ is not a JSON object")
                }
                for (key, entry) in entries {
                    guard let string = entry as? String else {
                        throw SafeTensorsError.invalidHeader(path: path, detail: "__metadata__ entry '\(key)' is not a string")
                    }
                    metadata[key] = string
                }
                continue
            }
            tensors[name] = try parseEntry(name, value, dataLength: dataLength, path: path)
        }
        // Empty tensors occupy no bytes and may sit anywhere (even at the same offset as others).
        let ordered = tensors.filter { !$0.value.byteRange.isEmpty }
            .sorted { ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key) }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.value.byteRange.upperBound > b.value.byteRange.lowerBound {
            throw SafeTensorsError.overlapping(path: path, first: a.key, second: b.key)
        }
        return (metadata, tensors)
    }

    static func parseEntry(_ name: String, _ value: Any, dataLength: Int, path: String) throws -> SafeTensorInfo {
        guard let entry = value as? [String: Any] else {
            throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "its header entry is not a JSON object")
        }
        for field in ["dtype", "shape", "data_offsets"] where entry[field] == nil {
            throw SafeTensorsError.missingField(path: path, tensor: name, field: field)
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "dtype is not a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = entry["shape"] as? [Any], let shape = naturals(shapeValues) else {
            throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "shape is not a list of non-negative integers")
        }
        guard let offsetValues = entry["data_offsets"] as? [Any], let offsets = naturals(offsetValues), offsets.count == 2 else {
            throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "data_offsets is not two non-negative integers")
        }
        guard offsets[0] <= offsets[1] else {
            throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "data_offsets [\(offsets[0]), \(offsets[1])] end before they begin")
        }
        var byteCount = dtype.size
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw SafeTensorsError.inconsistentTensor(path: path, tensor: name, detail: "shape \(shape) is too large") }
            byteCount = product
        }
        guard offsets[1] - offsets[0] == byteCount else {
            throw SafeTensorsError.inconsistentTensor(
                path: path, tensor: name,
                detail: "shape \(shape) of \(dtypeName) needs \(byteCount) bytes but data_offsets [\(offsets[0]), \(offsets[1])] span \(offsets[1] - offsets[0])")
        }
        guard offsets[1] <= dataLength else {
            throw SafeTensorsError.truncated(path: path, detail: "tensor '\(name)' ends at byte \(offsets[1]) of a \(dataLength)-byte data section")
        }
        return SafeTensorInfo(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
    }

    /// Non-negative integers (below 2⁵³, where JSON numbers stay exact), or nil.
    static func naturals(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let number = value as? NSNumber else { return nil }
            let d = number.doubleValue
            guard d >= 0, d < 9_007_199_254_740_992, d == d.rounded(.towardZero) else { return nil }
            result.append(Int(d))
        }
        return result
    }

    // MARK: Reading

    /// The header entry of the tensor called `name`.
    ///
    /// - Throws: ``SafeTensorsError/tensorNotFound(path:name:available:)`` if there is none.
    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let info = tensors[name] else { throw SafeTensorsError.tensorNotFound(path: path, name: name, available: names) }
        return info
    }

    /// Whether the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// Calls `body` with the raw little-endian bytes of the tensor called `name`, in the mapping
    /// (no copy). The bytes are valid only inside `body`. Throws (rather than rethrows) because
    /// the name may be missing.
    public func withUnsafeBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let info = try info(name)
        return try body(UnsafeRawBufferPointer(start: base + dataOffset + info.byteRange.lowerBound, count: info.byteCount))
    }

    /// A pointer to the F32 tensor called `name` inside the mapping, for zero-copy use, and the
    /// object that keeps it valid (the file itself: hold it for as long as the pointer is used).
    /// Nil when the tensor is not F32 or its bytes are not 4-byte aligned in memory.
    public func float32Pointer(_ name: String) throws -> (pointer: UnsafePointer<Float>, owner: AnyObject)? {
        let info = try info(name)
        let address = base + dataOffset + info.byteRange.lowerBound
        guard info.dtype == .f32, Int(bitPattern: address) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return (address.assumingMemoryBound(to: Float.self), self)
    }

    /// Copies the tensor called `name` into `destination` as Float32, with no intermediate array:
    /// F32 is a `memcpy`; F16 and BF16 are widened exactly (vectorised loops); F64, I64 and I32 are
    /// rounded to the nearest Float32.
    ///
    /// - Throws: ``SafeTensorsError/tensorNotFound(path:name:available:)``,
    ///   ``SafeTensorsError/wrongDestinationSize(tensor:expected:given:)`` if `destination.count`
    ///   differs from the element count, ``SafeTensorsError/unsupportedConversion(path:tensor:dtype:)``
    ///   for other dtypes.
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try info(name)
        guard info.dtype.isConvertibleToFloat else {
            throw SafeTensorsError.unsupportedConversion(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        let count = info.elementCount
        guard destination.count == count else {
            throw SafeTensorsError.wrongDestinationSize(tensor: name, expected: count, given: destination.count)
        }
        guard count > 0, let out = destination.baseAddress else { return }
        let source = base + dataOffset + info.byteRange.lowerBound
        switch info.dtype {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: count * 4)
        case .f16:
            HalfPrecision.widenHalves(source, into: out, count: count)
        case .bf16:
            HalfPrecision.widenBFloat16s(source, into: out, count: count)
        case .f64:
            for i in 0..<count {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 &* i, as: UInt64.self))))
            }
        case .i64:
            for i in 0..<count {
                out[i] = Float(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 &* i, as: Int64.self)))
            }
        case .i32:
            for i in 0..<count {
                out[i] = Float(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 &* i, as: Int32.self)))
            }
        default:
            throw SafeTensorsError.unsupportedConversion(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
    }

    /// The tensor called `name` as Float32 values, row-major (see ``copyFloats(_:into:)``).
    public func floats(_ name: String) throws -> [Float] {
        let count = try info(name).elementCount
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try copyFloats(name, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialized = count
        }
    }
}
