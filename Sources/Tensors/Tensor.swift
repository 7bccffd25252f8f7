#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of Float32 memory, 64-byte aligned, shared by a tensor and its views.
///
/// Storage has reference semantics, as in PyTorch: a view (``Tensor/reshaped(_:)``,
/// ``Tensor/rows(_:)``) writes through to its base. Use ``Tensor/copy()`` for an independent copy.
public final class TensorStorage: @unchecked Sendable {
    /// The first element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float32 elements.
    public let count: Int
    private let owner: AnyObject?

    /// Allocates `count` elements. When `zeroed` is false the contents are undefined.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        var raw = BufferPool.shared.take(bytes: bytes)
        if raw == nil {
            let status = posix_memalign(&raw, 64, bytes)
            guard status == 0, raw != nil else {
                preconditionFailure("TensorStorage: out of memory allocating \(bytes) bytes")
            }
        }
        pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { TensorStorage.zero(pointer, count: count) }
        self.count = count
        owner = nil
    }

    /// Wraps memory owned by `owner` (a memory-mapped file, say); nothing is freed here.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    /// Zero-fills, split over threads for large blocks (gradient buffers are tens of MB).
    static func zero(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let block = 1 << 18
        if count < 2 * block {
            p.initialize(repeating: 0, count: count)
            return
        }
        parallelFor((count + block - 1) / block) { range in
            for b in range { (p + b * block).initialize(repeating: 0, count: min(block, count - b * block)) }
        }
    }

    deinit {
        guard owner == nil else { return }
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if !BufferPool.shared.give(UnsafeMutableRawPointer(pointer), bytes: bytes) { free(pointer) }
    }
}

/// Freed tensor buffers kept for reuse, by exact size.
///
/// A training step allocates the same activation and gradient shapes every time; handing the
/// buffers back instead of returning them to the C allocator avoids, each step, the page faults
/// (and kernel page zeroing) of fresh `mmap`ed memory for large blocks. At most ``limitBytes``
/// are kept; beyond that, buffers are freed.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    /// The most bytes kept idle (default 2 GiB; `PRETRAIN_POOL_MB` overrides, 0 disables).
    public var limitBytes: Int
    private var idle: [Int: [UnsafeMutableRawPointer]] = [:]
    private var idleBytes = 0
    private var mutex = pthread_mutex_t()

    init() {
        if let env = getenv("PRETRAIN_POOL_MB"), let mb = Int(String(cString: env)) {
            limitBytes = max(0, mb) << 20
        } else {
            limitBytes = 2 << 30
        }
        pthread_mutex_init(&mutex, nil)
    }

    /// Buffers smaller than this go straight to malloc, which handles them well.
    static let minimumBytes = 1 << 14

    func take(bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes >= BufferPool.minimumBytes else { return nil }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard let buffer = idle[bytes]?.popLast() else { return nil }
        idleBytes -= bytes
        return buffer
    }

    func give(_ buffer: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        guard bytes >= BufferPool.minimumBytes else { return false }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard idleBytes + bytes <= limitBytes else { return false }
        idle[bytes, default: []].append(buffer)
        idleBytes += bytes
        return true
    }

    /// Frees every idle buffer.
    public func drain() {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        for buffers in idle.values { for b in buffers { free(b) } }
        idle.removeAll()
        idleBytes = 0
    }

    /// Bytes currently kept idle.
    public var idleByteCount: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return idleBytes
    }
}

/// A dense, contiguous, row-major Float32 array with a shape.
///
/// Tensors are cheap handles (a storage reference, an offset and a shape). Kernels take raw
/// pointers (``data``); shapes are checked where tensors meet.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    /// Dimensions, outermost first. A scalar has shape `[]`.
    public let shape: [Int]
    /// The shared memory this tensor lives in.
    public let storage: TensorStorage
    /// Index of this tensor's first element in ``storage``.
    public let offset: Int
    /// Number of elements (product of ``shape``).
    public let count: Int

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        let n = Tensor.elementCount(shape)
        self.init(shape: shape, storage: TensorStorage(count: n, zeroed: true), offset: 0)
    }

    /// A tensor whose contents are undefined: for outputs a kernel overwrites completely.
    public init(uninitialized shape: [Int]) {
        let n = Tensor.elementCount(shape)
        self.init(shape: shape, storage: TensorStorage(count: n, zeroed: false), offset: 0)
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        data.update(repeating: value, count: count)
    }

    /// A tensor holding `values` (row-major) in `shape`.
    public init(_ values: [Float], shape: [Int]) {
        precondition(values.count == Tensor.elementCount(shape),
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A scalar tensor.
    public init(scalar: Float) { self.init([scalar], shape: []) }

    /// A tensor over existing storage.
    public init(shape: [Int], storage: TensorStorage, offset: Int = 0) {
        let n = Tensor.elementCount(shape)
        precondition(offset >= 0 && offset + n <= storage.count,
                     "Tensor: shape \(shape) at offset \(offset) exceeds storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.count = n
    }

    /// Number of elements of a shape.
    public static func elementCount(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape {
            precondition(d >= 0, "Tensor: negative dimension in shape \(shape)")
            n *= d
        }
        return n
    }

    /// Pointer to the first element. Writes through to every view of the same storage.
    @inlinable public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The last dimension (1 for a scalar).
    public var lastDimension: Int { shape.last ?? 1 }

    /// The product of all dimensions but the last: the number of rows seen as a matrix.
    public var rowCount: Int { lastDimension == 0 ? 0 : count / lastDimension }

    /// The values, row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar on a tensor of shape \(shape)")
        return data[0]
    }

    /// The same elements seen with another shape (no copy). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().reduce(1) { $1.offset == hole ? $0 : $0 * $1.element }
            precondition(known > 0 && count % known == 0, "Tensor: cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        precondition(Tensor.elementCount(resolved) == count, "Tensor: cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: resolved, storage: storage, offset: offset)
    }

    /// A view of rows `range` along the first dimension (no copy).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(!shape.isEmpty && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "Tensor: rows \(range) out of bounds for shape \(shape)")
        let inner = shape[0] == 0 ? 0 : count / shape[0]
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, storage: storage, offset: offset + range.lowerBound * inner)
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Sets every element to `value` (in parallel for large tensors).
    public func fill(_ value: Float) {
        if value == 0 && value.sign == .plus { TensorStorage.zero(data, count: count) } else { data.update(repeating: value, count: count) }
    }

    /// Copies `other`'s elements into this tensor (same element count).
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "Tensor.assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    /// A new (C,R) tensor holding this (R,C) matrix transposed, copied in 32×32 tiles (a checkpoint's
    /// `Conv1D` weights; not on a training path).
    public func transposed2D() -> Tensor {
        precondition(shape.count == 2, "Tensor.transposed2D: shape \(shape) is not a matrix")
        let (r, c) = (shape[0], shape[1])
        let out = Tensor(uninitialized: [c, r])
        let (src, dst) = (data, out.data)
        for i0 in stride(from: 0, to: r, by: 32) {
            for j0 in stride(from: 0, to: c, by: 32) {
                for i in i0..<min(i0 + 32, r) {
                    for j in j0..<min(j0 + 32, c) { dst[j * r + i] = src[i * c + j] }
                }
            }
        }
        return out
    }

    /// Element at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        nonmutating set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor: index \(index) out of bounds for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    public var description: String {
        let preview = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

extension Tensor {
    /// The index of the first NaN or infinite value, nil when every value is finite (a checkpoint
    /// or model file is checked with it before its weights are used or written).
    public var firstNonFiniteIndex: Int? {
        let x = data
        for i in 0..<count where !x[i].isFinite { return i }
        return nil
    }
}
