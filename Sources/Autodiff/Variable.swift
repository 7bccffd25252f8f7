import Tensors

/// A value flowing through a ``Tape``: a tensor plus the tape slot that will receive its gradient.
public struct Variable {
    /// The forward value.
    public let value: Tensor
    /// Slot on the tape, or -1 for a constant that needs no gradient.
    public let slot: Int

    init(_ value: Tensor, slot: Int) {
        self.value = value
        self.slot = slot
    }

    /// A constant: no gradient flows into it.
    public init(constant value: Tensor) { self.init(value, slot: -1) }

    /// The shape of ``value``.
    public var shape: [Int] { value.shape }

    /// Whether a gradient will be computed for this value.
    public var requiresGradient: Bool { slot >= 0 }
}

/// Errors from building or differentiating a graph.
public enum AutodiffError: Error, CustomStringConvertible, Equatable {
    /// A custom operation was recorded with no gradient rule registered for it.
    case missingGradientRule(String)
    /// `backward` was called on a value that is not a scalar.
    case nonScalarLoss([Int])

    public var description: String {
        switch self {
        case .missingGradientRule(let op):
            return "no gradient rule for operation '\(op)'; register one with Tape.registerGradientRule(for:_:) before calling backward"
        case .nonScalarLoss(let shape):
            return "backward needs a scalar loss, got shape \(shape); reduce it first (sum or mean)"
        }
    }
}
