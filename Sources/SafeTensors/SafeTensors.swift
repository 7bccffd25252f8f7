// The safetensors format (https://github.com/huggingface/safetensors):
//
//     [8 bytes]  N, the header length, a little-endian UInt64
//     [N bytes]  UTF-8 JSON: {"__metadata__": {"k": "v", ...}?,
//                             "name": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, ...}
//                (writers pad it with spaces to a multiple of 8 bytes)
//     [rest]     the tensors' bytes, row-major and little-endian; `data_offsets` are relative to
//                the first byte after the header.
//
// This module depends on Foundation only: `SafeTensorsFile` reads (memory-mapped),
// `SafeTensorsWriter` writes (atomically), `HalfPrecision` converts F16/BF16.

#if _endian(big)
#error("SafeTensors assumes a little-endian host (the format is little-endian)")
#endif

/// The element types of the safetensors format (the 8-bit float and sub-byte types are not supported).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Whether ``SafeTensorsFile/floats(_:)`` and ``SafeTensorsFile/copyFloats(_:into:)`` can
    /// read this type (F32, F16, BF16, F64, I64 and I32; the integers may round above 2²⁴).
    public var isConvertibleToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .i64, .i32: return true
        default: return false
        }
    }

    /// Whether ``SafeTensorsWriter`` can store Float32 values as this type (F32, F16 and BF16).
    public var isWritable: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// The order of Hugging Face's `Dtype` enum, whose writer stores larger ranks first.
    var writerRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .i16: return 9
        case .u16: return 10
        case .f16: return 11
        case .bf16: return 12
        case .i32: return 13
        case .u32: return 14
        case .f32: return 15
        case .f64: return 17
        case .i64: return 18
        case .u64: return 19
        }
    }
}

/// One tensor's entry in a safetensors header: element type, shape and where its bytes are.
public struct SafeTensorInfo: Sendable, Equatable {
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The dimensions, outermost first; `[]` for a 0-dim scalar.
    public let shape: [Int]
    /// The tensor's bytes, relative to the start of the data section (the byte after the header).
    public let byteRange: Range<Int>

    /// Creates an entry (the byte count must be `shape`'s product times `dtype.size`).
    public init(dtype: SafeTensorsDType, shape: [Int], byteRange: Range<Int>) {
        self.dtype = dtype
        self.shape = shape
        self.byteRange = byteRange
    }

    /// The number of elements: the product of `shape` (1 for a scalar, 0 for an empty tensor).
    public var elementCount: Int { shape.reduce(1, *) }
    /// The number of bytes the tensor occupies in the file.
    public var byteCount: Int { byteRange.count }
}
