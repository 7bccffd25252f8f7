import Tensors

/// How attention's q, k and v are laid out in memory.
enum AttentionLayout {
    /// Three variables (B,T,C), (B,S,C), (B,S,C).
    case separate
    /// One (B,T,3C) variable whose column blocks are Q, K and V.
    case packed
    /// q (B,T,C) and one (B,S,2C) variable whose column blocks are K and V.
    case packedKeyValue

    /// Column offsets of q, k and v in their variables, for C channels.
    func offsets(channels c: Int) -> (Int, Int, Int) {
        switch self {
        case .separate: return (0, 0, 0)
        case .packed: return (0, c, 2 * c)
        case .packedKeyValue: return (0, 0, c)
        }
    }
}

/// Every operation the tape can record, with what its backward pass needs.
///
/// Ops are coarse (a whole linear layer, a fused attention) so a BERT layer is about a dozen
/// nodes. Each case's gradient rule lives in `GradientRules.swift` — the one place that lists them.
enum Op {
    /// A leaf: a parameter whose gradient accumulates into `Parameter.gradient`.
    case parameter(Parameter)
    /// out (N,Cout) = x (N,Cin) · weightᵀ (Cout,Cin) + bias (Cout)
    case linear(x: Variable, weight: Variable, bias: Variable?)
    /// out (Bt,M,N) = op(a) (Bt,M,K) · op(b) (Bt,K,N); `b` may be shared (rank 2) across the batch.
    case matmul(a: Variable, b: Variable, transposeA: Bool, transposeB: Bool, batch: Int, m: Int, n: Int, k: Int)
    /// out = a + b (same shape)
    case add(Variable, Variable)
    /// out (N,C) = x (N,C) + bias (C)
    case addBias(x: Variable, bias: Variable)
    /// out = a ⊙ b (same shape)
    case multiply(Variable, Variable)
    /// out = alpha · x
    case scale(Variable, alpha: Float)
    /// out = GELU(x), erf form
    case gelu(Variable)
    /// out = GELU(x), tanh approximation (`gelu_new`)
    case geluTanh(Variable)
    /// out = tanh(x); keeps the output for backward
    case tanh(Variable, output: Tensor)
    /// out = softmax(x) over the last axis; keeps the output
    case softmax(Variable, output: Tensor)
    /// out (N,C) = LayerNorm(x) · weight + bias; keeps mean and rstd (N)
    case layerNorm(x: Variable, weight: Variable, bias: Variable, mean: Tensor, rstd: Tensor)
    /// out = dropout(x); the mask is regenerated from `key`
    case dropout(Variable, probability: Float, key: UInt64)
    /// out (N,C) = table[indices] (embedding lookup, or picking masked rows)
    case gather(table: Variable, indices: [Int32])
    /// out (N, ΣCoutᵢ) = x · [W₁; W₂; …]ᵀ + [b₁; b₂; …]: several projections of one input as one
    /// matrix product (Q, K and V); keeps the packed weight
    case linearConcatenated(x: Variable, weights: [Variable], biases: [Variable], packedWeight: Tensor)
    /// fused multi-head attention; keeps the probabilities (B,H,T,S). `layout` says which of
    /// q, k and v are column blocks of one variable.
    case attention(q: Variable, k: Variable, v: Variable, shape: AttentionShape, probabilities: Tensor, dropout: Float, key: UInt64, layout: AttentionLayout)
    /// scalar = Σ CE(logits (M,V), targets) / normalizer; keeps (softmax − onehot)/normalizer (M,V)
    /// computed in the forward pass
    case crossEntropy(logits: Variable, gradient: Tensor)
    /// scalar = Σ CE(x (M,C) · weightᵀ (V,C) + bias, targets) / normalizer; keeps ∂loss/∂logits (M,V)
    /// and its column sums (the bias gradient), computed in the forward pass — never the logits
    case linearCrossEntropy(x: Variable, weight: Variable, bias: Variable?, gradient: Tensor, biasGradient: Tensor?)
    /// scalar = Σ w·BCE(σ(logits), targets) / normalizer
    case bceWithLogits(logits: Variable, targets: Tensor, weights: Tensor?, normalizer: Float)
    /// scalar = τ²·Σ KL(softmax(teacher/τ) ‖ softmax(student/τ)) / normalizer
    case klDivergence(student: Variable, teacher: Variable, temperature: Float, studentLSE: Tensor, teacherLSE: Tensor, normalizer: Float)
    /// out (N) = cosine similarity of rows of a, b (N,C)
    case cosineSimilarity(Variable, Variable, eps: Float)
    /// out (B,C) = masked mean over T of x (B,T,C)
    case meanPool(Variable, mask: Tensor)
    /// out (…, ΣCᵢ) = concatenation along the last axis
    case concatenate([Variable])
    /// scalar = Σ x
    case sum(Variable)
    /// An operation defined outside this module; its rule is looked up by name at backward time.
    case custom(name: String, inputs: [Variable], saved: [Tensor])

    /// The operation's name, for error messages and profiles.
    var name: String {
        switch self {
        case .parameter: return "parameter"
        case .linear: return "linear"
        case .matmul: return "matmul"
        case .add: return "add"
        case .addBias: return "addBias"
        case .multiply: return "multiply"
        case .scale: return "scale"
        case .gelu: return "gelu"
        case .geluTanh: return "geluTanh"
        case .tanh: return "tanh"
        case .softmax: return "softmax"
        case .layerNorm: return "layerNorm"
        case .dropout: return "dropout"
        case .gather: return "gather"
        case .linearConcatenated: return "linearConcatenated"
        case .attention: return "attention"
        case .crossEntropy: return "crossEntropy"
        case .linearCrossEntropy: return "linearCrossEntropy"
        case .bceWithLogits: return "bceWithLogits"
        case .klDivergence: return "klDivergence"
        case .cosineSimilarity: return "cosineSimilarity"
        case .meanPool: return "meanPool"
        case .concatenate: return "concatenate"
        case .sum: return "sum"
        case .custom(let name, _, _): return name
        }
    }
}
