/// A fully connected layer, PyTorch layout: `weight` (out, in), `bias` (out).
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    /// Weights ~ N(0, std²), bias 0 (BERT's `_init_weights`). `name` is the checkpoint prefix.
    public init(_ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, std: Float = 0.02, rng: inout RandomGenerator) {
        weight = Parameter(name: joinName(name, "weight"), value: Initializer.normal([outFeatures, inFeatures], std: std, rng: &rng))
        self.bias = bias ? Parameter(name: joinName(name, "bias"), value: Tensor(zeros: [outFeatures])) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// x (…, in) → (…, out)
    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        tape.linear(x, weight: tape.parameter(weight), bias: bias.map { tape.parameter($0) })
    }
}

/// Layer normalisation with learned scale and shift (`weight` 1, `bias` 0 at start).
public final class LayerNorm: Module {
    public let weight: Parameter
    public let bias: Parameter
    public let eps: Float

    public init(_ name: String, features: Int, eps: Float = 1e-12) {
        weight = Parameter(name: joinName(name, "weight"), value: Tensor(repeating: 1, shape: [features]))
        bias = Parameter(name: joinName(name, "bias"), value: Tensor(zeros: [features]))
        self.eps = eps
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func callAsFunction(_ x: Variable, tape: Tape) -> Variable {
        tape.layerNorm(x, weight: tape.parameter(weight), bias: tape.parameter(bias), eps: eps)
    }
}

/// A lookup table of vectors (`weight` (count, dimension)).
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ name: String, count: Int, dimension: Int, std: Float = 0.02, rng: inout RandomGenerator) {
        weight = Parameter(name: joinName(name, "weight"), value: Initializer.normal([count, dimension], std: std, rng: &rng))
    }

    public var parameters: [Parameter] { [weight] }

    /// ids (N) → (N, dimension). Throws for ids outside the table.
    public func callAsFunction(_ ids: [Int32], tape: Tape) throws -> Variable {
        try tape.gather(tape.parameter(weight), indices: ids)
    }
}
