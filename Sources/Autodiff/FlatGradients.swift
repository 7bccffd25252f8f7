import Tensors

/// Every trained parameter's gradient as a view into one contiguous buffer, so the whole
/// gradient can be summed across processes (``ProcessGroup/sum(_:count:bucketBytes:)``) in a few
/// large, fixed-order calls instead of one per tensor.
///
/// The views replace the parameters' gradient tensors (their values are kept); the tape, clipping
/// and the optimizers see no difference. Shared parameters (ALBERT) and frozen ones are counted
/// once and not at all, respectively. Each view starts on a 64-byte boundary.
public final class FlatGradients {
    /// The parameters whose gradients live here, in buffer order.
    public let parameters: [Parameter]
    /// The buffer, padding included.
    public let storage: TensorStorage
    /// Each parameter's first element in ``storage``.
    public let offsets: [Int]

    public init(_ parameters: [Parameter]) {
        var seen = Set<ObjectIdentifier>(), kept: [Parameter] = []
        for p in parameters where p.requiresGradient && seen.insert(ObjectIdentifier(p)).inserted { kept.append(p) }
        var offsets: [Int] = [], total = 0
        for p in kept {
            offsets.append(total)
            total += (p.value.count + 15) / 16 * 16
        }
        self.parameters = kept
        self.offsets = offsets
        storage = TensorStorage(count: total, zeroed: true)
        for (p, offset) in zip(kept, offsets) { p.moveGradient(to: Tensor(shape: p.shape, storage: storage, offset: offset)) }
    }

    /// The buffer's first element and its length (what a collective reduces).
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var count: Int { storage.count }
}
