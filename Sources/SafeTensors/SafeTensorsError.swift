/// Errors reading or writing safetensors files. Each message names the file (or tensor) and
/// says what to do about it.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is missing, unreadable or cannot be mapped.
    case cannotOpen(path: String, reason: String)
    /// The file ends early: under 8 bytes, before the end of the header, or before a tensor's end.
    case truncated(path: String, detail: String)
    /// The header length exceeds ``SafeTensorsFile/maximumHeaderBytes``.
    case headerTooLarge(path: String, length: UInt64)
    /// The header is not UTF-8, not JSON, not a JSON object, or `__metadata__` is not string to string.
    case invalidHeader(path: String, detail: String)
    /// A tensor's entry lacks `dtype`, `shape` or `data_offsets`.
    case missingField(path: String, tensor: String, field: String)
    /// A tensor's dtype is not one of ``SafeTensorsDType``.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor's entry is malformed: a bad shape or offsets, or offsets that disagree with shape × dtype size.
    case inconsistentTensor(path: String, tensor: String, detail: String)
    /// Two tensors' byte ranges overlap.
    case overlapping(path: String, first: String, second: String)
    /// No tensor has this name; `available` lists the file's names, sorted.
    case tensorNotFound(path: String, name: String, available: [String])
    /// The tensor's dtype cannot be read as Float32 (see ``SafeTensorsDType/isConvertibleToFloat``).
    case unsupportedConversion(path: String, tensor: String, dtype: String)
    /// The destination buffer's size differs from the tensor's element count.
    case wrongDestinationSize(tensor: String, expected: Int, given: Int)
    /// The writer was given the same tensor name twice.
    case duplicateName(String)
    /// The writer was given a shape whose product differs from the number of values, or a negative dimension.
    case shapeMismatch(tensor: String, shape: [Int], count: Int)
    /// The writer was asked for a dtype other than F32, F16 or BF16.
    case unsupportedOutputDType(tensor: String, dtype: String)
    /// Writing, syncing or renaming the file failed (the destination is left as it was).
    case writeFailed(path: String, reason: String)

    /// A message naming the file and saying what to do.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open safetensors file \(path): \(reason); check the path and its permissions"
        case .truncated(let path, let detail):
            return "\(path): \(detail); the file is truncated, re-download or re-save it"
        case .headerTooLarge(let path, let length):
            return "\(path): the header claims \(length) bytes, more than the \(SafeTensorsFile.maximumHeaderBytes) allowed; "
                + "this is not a safetensors file or it is corrupt, re-download or re-save it"
        case .invalidHeader(let path, let detail):
            return "\(path) is not a valid safetensors file: \(detail); re-download or re-save it"
        case .missingField(let path, let tensor, let field):
            return "\(path): tensor '\(tensor)' has no '\(field)' in the header; the file is corrupt, re-save it"
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)' (supported: "
                + "\(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", "))); convert it, e.g. to F32, and re-save"
        case .inconsistentTensor(let path, let tensor, let detail):
            return "\(path): tensor '\(tensor)' is inconsistent: \(detail); the file is corrupt, re-save it"
        case .overlapping(let path, let first, let second):
            return "\(path): tensors '\(first)' and '\(second)' overlap; the file is corrupt, re-save it"
        case .tensorNotFound(let path, let name, let available):
            let shown = available.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            let more = available.count > 5 ? " and \(available.count - 5) more" : ""
            return "\(path) has no tensor '\(name)' (it has \(available.isEmpty ? "no tensors" : shown + more)); "
                + "check the name and that this is the right checkpoint"
        case .unsupportedConversion(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' is \(dtype), which cannot be read as Float32 (F32, F16, BF16, F64, I64 and I32 can); "
                + "convert it and re-save, or read its raw bytes"
        case .wrongDestinationSize(let tensor, let expected, let given):
            return "tensor '\(tensor)' has \(expected) elements but the destination holds \(given); allocate \(expected)"
        case .duplicateName(let name):
            return "tensor '\(name)' was added twice to the same safetensors file; give each tensor a unique name"
        case .shapeMismatch(let tensor, let shape, let count):
            return "tensor '\(tensor)': shape \(shape) does not describe \(count) values; pass a shape whose product is \(count)"
        case .unsupportedOutputDType(let tensor, let dtype):
            return "tensor '\(tensor)': cannot write dtype \(dtype); choose F32, F16 or BF16"
        case .writeFailed(let path, let reason):
            return "could not write \(path): \(reason); check the folder exists, is writable and has space"
        }
    }
}
