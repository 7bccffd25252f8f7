import Tensors

/// A trainable tensor and the gradient that backward passes accumulate into it.
///
/// Parameters are reference types so a layer, an optimizer and a tape all see the same tensor;
/// sharing one `Parameter` between layers (ALBERT's cross-layer sharing) sums the gradients of
/// every use.
public final class Parameter {
    /// The checkpoint name, exactly as in Hugging Face state dicts (e.g. `encoder.layer.0.attention.self.query.weight`).
    public var name: String
    /// The current value.
    public var value: Tensor
    /// ∂loss/∂value, accumulated by ``Tape/backward(_:)`` until ``zeroGradient()``.
    public private(set) var gradient: Tensor
    /// False for frozen weights (a distillation teacher): the tape treats them as constants.
    public var requiresGradient: Bool

    public init(name: String, value: Tensor, requiresGradient: Bool = true) {
        self.name = name
        self.value = value
        self.gradient = Tensor(zeros: value.shape)
        self.requiresGradient = requiresGradient
    }

    /// The shape of ``value``.
    public var shape: [Int] { value.shape }

    /// Replaces the value (e.g. when loading a checkpoint) and zeroes the gradient in place (it
    /// may be a view into a ``FlatGradients`` buffer).
    public func load(_ newValue: Tensor) {
        precondition(newValue.shape == value.shape, "Parameter \(name): shape \(newValue.shape) does not match \(value.shape)")
        value = newValue
        gradient.fill(0)
    }

    /// Makes the gradient live in `view` (same shape), keeping what it holds.
    func moveGradient(to view: Tensor) {
        precondition(view.shape == value.shape, "Parameter \(name): gradient view \(view.shape) does not match \(value.shape)")
        view.data.update(from: gradient.data, count: gradient.count)
        gradient = view
    }

    /// Sets the gradient to zero.
    public func zeroGradient() { gradient.fill(0) }
}
