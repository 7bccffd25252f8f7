@_exported import Autodiff
@_exported import Tensors

/// Anything that owns parameters. Parameter names are full checkpoint names, exactly as in
/// Hugging Face state dicts, so saving and loading need no renaming table.
public protocol Module: AnyObject {
    /// Every parameter, each once, in a stable order.
    var parameters: [Parameter] { get }
}

extension Module {
    /// Total number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Sets every parameter's gradient to zero.
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }

    /// Parameters by name.
    public var parametersByName: [String: Parameter] {
        Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// Weight initialisation used by BERT and its descendants (`initializer_range`, default 0.02).
public enum Initializer {
    /// A tensor from N(0, std²).
    public static func normal(_ shape: [Int], std: Float, rng: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        rng.fillNormal(t, std: std)
        return t
    }
}

/// Joins a checkpoint-name prefix and a leaf name with a dot.
@inlinable
public func joinName(_ prefix: String, _ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }
