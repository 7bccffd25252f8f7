import Foundation
import SafeTensors
import ZIPFoundation

/// The tensors of a PyTorch checkpoint written by `torch.save(state_dict)` — the zip archive
/// (`NAME/data.pkl` + `NAME/data/<storage>` files) that legacy `pytorch_model.bin` files are —
/// read without running any of it (see ``Unpickler``): names in the state dict's order, each
/// tensor's values copied out of its storage into contiguous little-endian bytes.
///
/// Tensors that are the same view of the same storage as an earlier one (a tied decoder and
/// the word embeddings, say) are listed in ``aliases`` instead, as `save_pretrained` leaves tied
/// weights out of safetensors.
///
/// ```swift
/// let state = try PyTorchStateDict(contentsOf: folder.appendingPathComponent("pytorch_model.bin"))
/// try state.writeSafeTensors(to: folder.appendingPathComponent("model.safetensors"))
/// ```
public struct PyTorchStateDict {
    /// One tensor: its safetensors dtype, shape and contiguous bytes.
    public struct Tensor: Equatable, Sendable {
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        public let bytes: Data
    }

    /// Tensors in the state dict's order.
    public let tensors: [(name: String, tensor: Tensor)]
    /// Names left out because they are the same view of the same storage as `sameAs`.
    public let aliases: [(name: String, sameAs: String)]

    /// Reads `url`. Throws ``PyTorchFileError`` for anything that is not a state dict of tensors
    /// in a sound archive.
    public init(contentsOf url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw PyTorchFileError.missing(path) }
        // torch.save before PyTorch 1.6 wrote a bare pickle (PROTO first), not a zip ("PK").
        if let handle = FileHandle(forReadingAtPath: path) {
            let head = handle.readData(ofLength: 1)
            try? handle.close()
            if head.first == 0x80 { throw PyTorchFileError.legacyFormat(path) }
        }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw PyTorchFileError.notAnArchive(path, reason: "\(error)")
        }
        let entries = Array(archive)
        guard let pickle = entries.first(where: { $0.path.hasSuffix("/data.pkl") || $0.path == "data.pkl" }) else {
            throw PyTorchFileError.notAnArchive(path, reason: "it has no data.pkl (the zip is not one torch.save wrote)")
        }
        let prefix = String(pickle.path.dropLast("data.pkl".count))
        func read(_ entry: Entry) throws -> Data {
            var data = Data()
            data.reserveCapacity(Int(clamping: entry.uncompressedSize))
            let checksum: CRC32
            do {
                checksum = try archive.extract(entry, skipCRC32: false) { data.append($0) }
            } catch {
                throw PyTorchFileError.corruptEntry(path, entry: entry.path, reason: "\(error)")
            }
            // extract(_:consumer:) returns the CRC-32 of what it read; comparing is ours to do.
            guard checksum == entry.checksum else {
                throw PyTorchFileError.corruptEntry(path, entry: entry.path, reason: "its CRC-32 is \(checksum), the archive lists \(entry.checksum)")
            }
            guard UInt64(data.count) == entry.uncompressedSize else {
                throw PyTorchFileError.corruptEntry(path, entry: entry.path, reason: "\(data.count) bytes read, \(entry.uncompressedSize) listed")
            }
            return data
        }
        if let order = archive[prefix + "byteorder"], String(decoding: try read(order), as: UTF8.self) != "little" {
            throw PyTorchFileError.unsupported(path, reason: "its tensors are big-endian")
        }
        let root: PickleValue
        do { root = try Unpickler.load(Array(try read(pickle))) } catch let failure as Unpickler.Failure {
            throw PyTorchFileError(failure, path: path)
        }
        guard case let .dict(pairs) = root else {
            throw PyTorchFileError.notAStateDict(path, reason: "it holds a \(root.typeName), not a dict of tensors (a state dict)")
        }
        var storages: [String: Data] = [:]
        var tensors: [(name: String, tensor: Tensor)] = []
        var aliases: [(name: String, sameAs: String)] = []
        var seen: [TorchTensorReference: String] = [:]
        for (key, value) in pairs {
            guard case let .string(name) = key else { throw PyTorchFileError.notAStateDict(path, reason: "a key is a \(key.typeName), not a name") }
            guard case let .tensor(reference) = value else {
                throw PyTorchFileError.notAStateDict(path, reason: "\(name) is a \(value.typeName), not a tensor")
            }
            if let first = seen[reference] {
                aliases.append((name, first))
                continue
            }
            seen[reference] = name
            let storage = reference.storage
            if storages[storage.key] == nil {
                guard let entry = archive[prefix + "data/" + storage.key] else {
                    throw PyTorchFileError.corruptEntry(path, entry: prefix + "data/" + storage.key, reason: "the storage of \(name) is missing")
                }
                let data = try read(entry)
                let (needed, overflow) = storage.count.multipliedReportingOverflow(by: storage.dtype.size)
                guard !overflow, data.count >= needed else {
                    throw PyTorchFileError.corruptEntry(path, entry: entry.path, reason: "\(data.count) bytes for \(storage.count) elements of \(storage.dtype.size) bytes")
                }
                storages[storage.key] = data
            }
            tensors.append((name, try Self.contiguous(reference, in: storages[storage.key] ?? Data(), name: name, path: path)))
        }
        self.tensors = tensors
        self.aliases = aliases
    }

    /// The view's elements in row-major order; every index checked against the storage.
    static func contiguous(_ view: TorchTensorReference, in storage: Data, name: String, path: String) throws -> Tensor {
        let size = view.storage.dtype.size
        var count = 1, last = view.offset
        guard view.offset >= 0 else { throw PyTorchFileError.badTensor(path, name: name, reason: "a negative storage offset") }
        for (n, stride) in zip(view.shape, view.strides) {
            guard n >= 0, stride >= 0 else { throw PyTorchFileError.badTensor(path, name: name, reason: "size \(view.shape) or stride \(view.strides) is negative") }
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            let (span, o2) = max(0, n - 1).multipliedReportingOverflow(by: stride)
            let (end, o3) = last.addingReportingOverflow(span)
            guard !o1, !o2, !o3 else { throw PyTorchFileError.badTensor(path, name: name, reason: "size \(view.shape) overflows") }
            (count, last) = (c, end)
        }
        guard count == 0 || last < view.storage.count else {
            throw PyTorchFileError.badTensor(path, name: name, reason: "size \(view.shape), stride \(view.strides) and offset \(view.offset) reach element \(last) of a storage of \(view.storage.count)")
        }
        var out = Data(count: count * size)
        let contiguousStrides = view.shape.indices.map { i in view.shape[(i + 1)...].reduce(1, *) }
        storage.withUnsafeBytes { (source: UnsafeRawBufferPointer) in
            out.withUnsafeMutableBytes { (target: UnsafeMutableRawBufferPointer) in
                guard let from = source.baseAddress, let to = target.baseAddress else { return }
                if view.strides == contiguousStrides || count <= 1 {
                    (to).copyMemory(from: from + view.offset * size, byteCount: count * size)
                    return
                }
                var index = [Int](repeating: 0, count: view.shape.count)
                for element in 0..<count {
                    var at = view.offset
                    for d in index.indices { at += index[d] * view.strides[d] }
                    (to + element * size).copyMemory(from: from + at * size, byteCount: size)
                    var d = index.count - 1
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < view.shape[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return Tensor(dtype: view.storage.dtype.safeTensorsType, shape: view.shape, bytes: out)
    }

    /// Writes the tensors as a safetensors file (atomically, as transformers lays it out), with
    /// floating-point tensors stored as `dtype` when given (F32, F16 or BF16; integers and booleans
    /// keep theirs), else as they are.
    public func writeSafeTensors(to url: URL, dtype: SafeTensorsDType? = nil) throws {
        if let dtype, !dtype.isWritable { throw SafeTensorsError.unsupportedOutputDType(tensor: "--dtype", dtype: dtype.rawValue) }
        var writer = SafeTensorsWriter()
        for (name, tensor) in tensors {
            let floating = [.f32, .f16, .bf16, .f64].contains(tensor.dtype)
            guard floating, let dtype, dtype != tensor.dtype else {
                try writer.add(name, shape: tensor.shape, bytes: tensor.bytes, dtype: tensor.dtype)
                continue
            }
            try writer.add(name, shape: tensor.shape, values: tensor.floats(), dtype: dtype)
        }
        try writer.write(to: url)
    }
}

extension PyTorchStateDict.Tensor {
    /// The values widened (or narrowed, for F64) to Float32; only for floating-point dtypes.
    func floats() -> [Float] {
        let n = bytes.count / dtype.size
        return bytes.withUnsafeBytes { raw -> [Float] in
            guard let base = raw.baseAddress else { return [] }
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { o in
                guard let target = o.baseAddress else { return }
                switch dtype {
                case .f16: HalfPrecision.widenHalves(base, into: target, count: n)
                case .bf16: HalfPrecision.widenBFloat16s(base, into: target, count: n)
                case .f64: for i in 0..<n { target[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                default: for i in 0..<n { target[i] = base.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
                }
            }
            return out
        }
    }
}

extension TorchElementType {
    var safeTensorsType: SafeTensorsDType {
        switch self {
        case .float: return .f32
        case .half: return .f16
        case .bfloat16: return .bf16
        case .double: return .f64
        case .long: return .i64
        case .int: return .i32
        case .short: return .i16
        case .char: return .i8
        case .byte: return .u8
        case .bool: return .bool
        }
    }
}


/// A PyTorch checkpoint that cannot be read, and what to do about it.
public enum PyTorchFileError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case legacyFormat(String)
    case notAnArchive(String, reason: String)
    case corruptEntry(String, entry: String, reason: String)
    case unsupported(String, reason: String)
    case disallowedGlobal(String, module: String, name: String, offset: Int)
    case disallowedOpcode(String, opcode: UInt8, offset: Int)
    case malformedPickle(String, reason: String, offset: Int)
    case notAStateDict(String, reason: String)
    case badTensor(String, name: String, reason: String)
    case outputExists(String)

    init(_ failure: Unpickler.Failure, path: String) {
        switch failure {
        case let .disallowedGlobal(module, name, offset): self = .disallowedGlobal(path, module: module, name: name, offset: offset)
        case let .unsupportedOpcode(op, offset): self = .disallowedOpcode(path, opcode: op, offset: offset)
        case let .malformed(reason, offset): self = .malformedPickle(path, reason: reason, offset: offset)
        }
    }

    public var description: String {
        switch self {
        case let .missing(path):
            return "\(path) does not exist"
        case let .legacyFormat(path):
            return "\(path) is a pre-1.6 PyTorch file (a bare pickle, not a zip archive); re-save it with a current torch (torch.save(torch.load(f, weights_only=True), f)) and convert again"
        case let .notAnArchive(path, reason):
            return "\(path) is not a readable torch.save archive (a truncated or damaged download?): \(reason). Download it again"
        case let .corruptEntry(path, entry, reason):
            return "\(path): \(entry) is damaged (\(reason)); the file is truncated or corrupt — download it again"
        case let .unsupported(path, reason):
            return "\(path): \(reason), which is not supported"
        case let .disallowedGlobal(path, module, name, offset):
            return "\(path) refers to \(module).\(name) (pickle byte \(offset)), which a state dict never needs: loading it would run code. Only collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage are allowed (as torch.load(weights_only=True) does); do not use this file"
        case let .disallowedOpcode(path, opcode, offset):
            return "\(path): pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset) is not one a state dict is written with (it could build or call arbitrary objects); do not use this file"
        case let .malformedPickle(path, reason, offset):
            return "\(path): its data.pkl is malformed at byte \(offset): \(reason); the file is corrupt"
        case let .notAStateDict(path, reason):
            return "\(path) is not a state dict of tensors: \(reason). Save model.state_dict(), not the model object"
        case let .badTensor(path, name, reason):
            return "\(path): tensor \(name) is inconsistent with its storage (\(reason)); the file is corrupt"
        case let .outputExists(path):
            return "\(path) exists already; pass --force to replace it, or --output to write elsewhere"
        }
    }
}

extension PyTorchStateDict {
    /// What ``convert(_:dtype:output:overwrite:)`` did.
    public struct Conversion {
        public let input: URL
        public let output: URL
        public let tensorCount: Int
        /// Tied names left out (`name` is the same tensor as `sameAs`).
        public let aliases: [(name: String, sameAs: String)]
        public let inputBytes: Int
        public let outputBytes: Int
    }

    /// Converts a model folder's `pytorch_model.bin` (or the file `source` itself) to
    /// safetensors: `output` defaults to `model.safetensors` beside it, which is not replaced
    /// unless `overwrite`. `dtype` F16/BF16 writes a smaller copy (see ``writeSafeTensors(to:dtype:)``).
    @discardableResult
    public static func convert(_ source: URL, dtype: SafeTensorsDType? = nil, output: URL? = nil, overwrite: Bool = false) throws -> Conversion {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: source.path, isDirectory: &isFolder)
        let input = isFolder.boolValue ? source.appendingPathComponent("pytorch_model.bin") : source
        if exists, isFolder.boolValue, !FileManager.default.fileExists(atPath: input.path) {
            if FileManager.default.fileExists(atPath: source.appendingPathComponent("pytorch_model.bin.index.json").path) {
                throw PyTorchFileError.unsupported(source.path, reason: "it holds a sharded checkpoint (pytorch_model.bin.index.json); convert each shard file by name")
            }
            throw PyTorchFileError.missing(input.path)
        }
        let target = output ?? input.deletingLastPathComponent().appendingPathComponent("model.safetensors")
        if !overwrite, FileManager.default.fileExists(atPath: target.path) { throw PyTorchFileError.outputExists(target.path) }
        let state = try PyTorchStateDict(contentsOf: input)
        try state.writeSafeTensors(to: target, dtype: dtype)
        func size(_ url: URL) -> Int { ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0 }
        return Conversion(input: input, output: target, tensorCount: state.tensors.count, aliases: state.aliases,
                          inputBytes: size(input), outputBytes: size(target))
    }
}
