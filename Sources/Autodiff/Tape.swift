import Tensors
import Dispatch

/// A gradient rule for a custom operation: given the op's inputs, saved tensors and the gradient
/// of its output, accumulate (`+=`) into the input gradients that are non-nil.
public typealias CustomGradientRule = (_ inputs: [Variable], _ saved: [Tensor], _ outputGradient: Tensor,
                                       _ inputGradients: [UnsafeMutablePointer<Float>?]) -> Void

/// A record of the operations of one forward pass, replayed in reverse by ``backward(_:)``.
///
/// A tape is an explicit object, never a global: a training step creates one, the model's forward
/// pass records into it, and `backward` accumulates gradients into the ``Parameter``s it touched.
/// Saved activations are released as soon as the backward pass is past the op that needed them.
/// With ``isRecording`` false (evaluation, a frozen teacher) ops only compute.
public final class Tape {
    /// When false, operations compute their outputs but record nothing.
    public var isRecording: Bool
    /// The stream dropout masks are drawn from (one 64-bit key per dropout call).
    public var random: RandomGenerator

    /// Seconds spent in each backward rule, summed by op name (`linear`, `attention`, …), when
    /// not nil — set it to `[:]` before ``backward(_:seed:)`` to profile (`bench train --profile`).
    public var backwardProfile: [String: Double]?

    /// Called by ``backward(_:seed:)`` as each parameter's gradient becomes final: a parameter's
    /// slot precedes every op that used it, so once the reverse pass reaches that slot nothing
    /// more adds to its gradient. Data parallelism starts summing a bucket of gradients across
    /// processes from here, while the rest of the backward pass runs.
    public var gradientIsFinal: ((Parameter) -> Void)?

    var ops: [Op?] = []
    var gradients: [Tensor?] = []
    private var parameterSlots: [ObjectIdentifier: Int] = [:]
    private var customRules: [String: CustomGradientRule] = [:]

    /// A tape; `seed` drives dropout.
    public init(recording: Bool = true, seed: UInt64 = 0) {
        isRecording = recording
        random = RandomGenerator(seed: seed)
    }

    /// Number of recorded slots (parameters and op outputs).
    public var count: Int { ops.count }

    /// Runs `body` without recording (for evaluation or a frozen teacher), then restores the mode.
    public func withoutRecording<R>(_ body: () throws -> R) rethrows -> R {
        let saved = isRecording
        isRecording = false
        defer { isRecording = saved }
        return try body()
    }

    /// The variable for a parameter; its gradient accumulates straight into `parameter.gradient`.
    /// Watching the same parameter twice returns the same slot (shared layers sum their uses).
    public func parameter(_ parameter: Parameter) -> Variable {
        guard isRecording, parameter.requiresGradient else { return Variable(constant: parameter.value) }
        if let slot = parameterSlots[ObjectIdentifier(parameter)] { return Variable(parameter.value, slot: slot) }
        ops.append(.parameter(parameter))
        gradients.append(parameter.gradient)
        parameterSlots[ObjectIdentifier(parameter)] = ops.count - 1
        return Variable(parameter.value, slot: ops.count - 1)
    }

    /// Registers the gradient rule of a custom operation recorded with ``custom(_:inputs:saved:output:)``.
    public func registerGradientRule(for name: String, _ rule: @escaping CustomGradientRule) {
        customRules[name] = rule
    }

    /// Records a custom operation whose output `output` was computed by the caller.
    public func custom(_ name: String, inputs: [Variable], saved: [Tensor] = [], output: Tensor) -> Variable {
        record(.custom(name: name, inputs: inputs, saved: saved), output, inputs)
    }

    /// Appends `op` when recording and some input needs a gradient; otherwise returns a constant.
    func record(_ op: @autoclosure () -> Op, _ output: Tensor, _ inputs: [Variable]) -> Variable {
        guard isRecording, inputs.contains(where: { $0.requiresGradient }) else { return Variable(constant: output) }
        ops.append(op())
        gradients.append(nil)
        return Variable(output, slot: ops.count - 1)
    }

    /// The gradient buffer of `v`, zero-filled on first use; nil for constants.
    func gradientBuffer(_ v: Variable) -> UnsafeMutablePointer<Float>? {
        guard v.slot >= 0 else { return nil }
        if let g = gradients[v.slot] { return g.data }
        let g = Tensor(zeros: v.shape)
        gradients[v.slot] = g
        return g.data
    }

    /// Back-propagates from the scalar `loss` (seeded with `seed`), accumulating into every
    /// parameter it depends on, and empties the tape.
    public func backward(_ loss: Variable, seed: Float = 1) throws {
        guard loss.value.count == 1 else { throw AutodiffError.nonScalarLoss(loss.shape) }
        defer { clear() }
        guard loss.slot >= 0 else { return }
        gradients[loss.slot] = Tensor(repeating: seed, shape: loss.shape)
        // Slots were appended in execution order, so reverse order is a topological order.
        for slot in stride(from: loss.slot, through: 0, by: -1) {
            guard let op = ops[slot], let grad = gradients[slot] else { continue }
            if case let .parameter(parameter) = op {
                gradientIsFinal?(parameter)
                continue
            }
            if backwardProfile == nil {
                try applyGradientRule(op, outputGradient: grad)
            } else {
                let start = DispatchTime.now().uptimeNanoseconds
                try applyGradientRule(op, outputGradient: grad)
                backwardProfile![op.name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            // Free what only this op's backward needed.
            ops[slot] = nil
            gradients[slot] = nil
        }
    }

    /// Forgets every recorded op (gradients already accumulated into parameters stay).
    public func clear() {
        ops.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        parameterSlots.removeAll(keepingCapacity: true)
    }

    func customRule(_ name: String) throws -> CustomGradientRule {
        guard let rule = customRules[name] else { throw AutodiffError.missingGradientRule(name) }
        return rule
    }
}
