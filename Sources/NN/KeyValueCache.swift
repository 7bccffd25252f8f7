import Autodiff
import Tensors

/// The keys and values of every layer for the positions decoded so far (incremental decoding,
/// Radford et al. 2019's `past`; transformers' `past_key_values`): each new token then costs one
/// position of every layer, not a pass over the whole prefix.
///
/// Sequences of a batch share slot numbers: slot j of every sequence was filled by the same call.
/// Right-padded prompts leave padding slots, which ``validSlots`` marks invalid so no query
/// attends to them.
public final class KeyValueCache {
    public let batch: Int, capacity: Int, channels: Int
    /// Per layer (in execution order: a shared block has one entry per use): (B, capacity, C).
    let keys: [Tensor], values: [Tensor]
    /// (B, capacity): 1 where the slot holds a real token.
    public private(set) var validSlots: [Float]
    /// Slots filled so far.
    public private(set) var length = 0
    /// The last ``keyMask(slots:)``: every layer of a step asks for the same one.
    private var lastMask: (slots: Int, mask: Tensor)?

    public init(layers: Int, batch: Int, capacity: Int, channels: Int) {
        (self.batch, self.capacity, self.channels) = (batch, capacity, channels)
        keys = (0..<layers).map { _ in Tensor(zeros: [batch, capacity, channels]) }
        values = (0..<layers).map { _ in Tensor(zeros: [batch, capacity, channels]) }
        validSlots = [Float](repeating: 0, count: batch * capacity)
    }

    /// Claims the next `count` slots for a call whose tokens have `mask` (B·count; nil: all real).
    /// Returns the first slot. The layers then fill them (``AttentionBlock/callAsFunction(_:cache:layer:start:tape:)``).
    public func append(_ count: Int, mask: [Float]?) -> Int {
        precondition(length + count <= capacity, "KeyValueCache: \(length) + \(count) slots exceed the capacity of \(capacity)")
        let start = length
        for b in 0..<batch {
            for t in 0..<count { validSlots[b * capacity + start + t] = mask?[b * count + t] ?? 1 }
        }
        length += count
        lastMask = nil
        return start
    }

    /// The valid-slot mask of the first `slots` slots, (B, slots), built once per step.
    func keyMask(slots: Int) -> Tensor {
        if let lastMask, lastMask.slots == slots { return lastMask.mask }
        let out = Tensor(uninitialized: [batch, slots])
        for b in 0..<batch {
            for j in 0..<slots { out.data[b * slots + j] = validSlots[b * capacity + j] }
        }
        lastMask = (slots, out)
        return out
    }
}

extension AttentionBlock {
    /// Cached self-attention of x (B,T,H), the tokens of slots start..<start+T (claimed with
    /// ``KeyValueCache/append(_:mask:)``): their keys and values go into `cache` for `layer`, and
    /// each query attends to the valid slots up to its own. The first call (start 0) is the
    /// prompt, through the fused causal attention; later calls are one token each. Inference
    /// only: nothing is recorded for backward.
    public func callAsFunction(_ x: Variable, cache: KeyValueCache, layer: Int, start: Int, tape: Tape) -> Variable {
        let (b, t, h) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(h == cache.channels && b == cache.batch, "cache of (\(cache.batch), \(cache.channels)) for input \(x.shape)")
        let input = normPlacement == .pre ? norm(x, tape: tape) : x
        let qkv = packedQueryKeyValue(input, tape: tape).value
        let (keys, values) = (cache.keys[layer], cache.values[layer])
        for row in 0..<b {
            for i in 0..<t {
                let source = qkv.data + (row * t + i) * 3 * h, slot = (row * cache.capacity + start + i) * h
                (keys.data + slot).update(from: source + h, count: h)
                (values.data + slot).update(from: source + 2 * h, count: h)
            }
        }
        let context: Variable
        if start == 0 {
            context = tape.attention(packed: Variable(constant: qkv), heads: heads, keyMask: cache.keyMask(slots: t), causal: true)
        } else {
            precondition(t == 1, "after the prompt, cached attention takes one token per call")
            let slots = start + 1, mask = cache.keyMask(slots: slots)
            let shape = AttentionShape(batch: b, queries: 1, keys: slots, heads: heads, headDim: h / heads, inputStride: 3 * h,
                                       keyStride: h, keyBatchStride: cache.capacity * h)
            let out = Tensor(uninitialized: [b, 1, h]), probabilities = Tensor(uninitialized: [b, heads, 1, slots])
            AttentionKernel.forward(out.data, probabilities: probabilities.data, q: qkv.data, k: keys.data, v: values.data,
                                    shape: shape, masks: AttentionMasks(keyMask: mask.data), dropout: 0, key: 0)
            context = Variable(constant: out)
        }
        let attended = output(context, tape: tape)
        return normPlacement == .pre ? tape.add(attended, x) : norm(tape.add(attended, x), tape: tape)
    }
}

extension TransformerLayer {
    /// x (B,T,H) → (B,T,H) with the key/value cache (see ``AttentionBlock/callAsFunction(_:cache:layer:start:tape:)``).
    public func callAsFunction(_ x: Variable, cache: KeyValueCache, layer: Int, start: Int, tape: Tape) -> Variable {
        feedForward(attention(x, cache: cache, layer: layer, start: start, tape: tape), hiddenDropout: 0, tape: tape)
    }
}
