@_exported import NN
import Foundation

/// Which parameters get weight decay (and, for LAMB, the layer-wise trust ratio).
///
/// BERT's rule: matrices decay; biases and LayerNorm weights (1-D) do not.
public enum DecayRule {
    /// True for parameters with at least two dimensions, as BERT's optimizer groups them.
    public static func decays(_ p: Parameter) -> Bool { p.value.rank >= 2 }
}

/// An optimizer step over a fixed list of parameters, with its moments kept per parameter.
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr` using each parameter's accumulated gradient.
    func step(lr: Float)
    /// Number of steps taken (drives bias correction).
    var stepCount: Int { get }
    /// The optimizer's state as named tensors (for checkpoints): `"<param>.exp_avg"`, `"<param>.exp_avg_sq"`.
    func stateTensors() -> [String: Tensor]
    /// Restores state saved by ``stateTensors()``; throws on a missing or mis-shaped entry.
    func loadState(_ tensors: [String: Tensor], stepCount: Int) throws
}

/// Errors restoring optimizer state.
public enum OptimizerError: Error, CustomStringConvertible {
    case missingState(String)
    case shapeMismatch(String, expected: [Int], found: [Int])
    public var description: String {
        switch self {
        case .missingState(let name):
            return "optimizer state '\(name)' is missing from the checkpoint; it was written by a different model or optimizer"
        case .shapeMismatch(let name, let expected, let found):
            return "optimizer state '\(name)' has shape \(found), expected \(expected); the checkpoint belongs to a different model"
        }
    }
}

/// Adam's two moments for every parameter, shared by AdamW and LAMB.
public class AdamMoments {
    public let parameters: [Parameter]
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// When true, `step` zeroes each gradient as it consumes it, saving the separate pass of
    /// `zeroGradients()` over every parameter.
    public var clearsGradients = false
    /// Per-parameter learning-rate multipliers (layer-wise decay, Clark et al. 2020 App. A); nil = all 1.
    public var learningRateScales: [Float]?
    /// Adam's bias correction of both moments (Kingma & Ba 2015); false gives the
    /// `AdamWeightDecayOptimizer` of google-research/bert and ELECTRA, which has none.
    public var biasCorrection = true
    public private(set) var stepCount = 0
    let firstMoments: [Tensor]
    let secondMoments: [Tensor]

    public init(parameters: [Parameter], beta1: Float, beta2: Float, eps: Float, weightDecay: Float) {
        self.parameters = parameters
        (self.beta1, self.beta2, self.eps, self.weightDecay) = (beta1, beta2, eps, weightDecay)
        firstMoments = parameters.map { Tensor(zeros: $0.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// Adam's moments for the eight elements at `j`: m ← β1·m + (1−β1)·g and v ← β2·v + (1−β2)·g²,
    /// stored and returned (lane for lane the scalar update's arithmetic); g is zeroed when `clear`.
    @inline(__always)
    static func updateMoments(
        at j: Int, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
        beta1 b1: Float, beta2 b2: Float, clear: Bool
    ) -> (m: VectorMath.Vector, v: VectorMath.Vector) {
        let gj = VectorMath.load(g + j)
        if clear { VectorMath.store(VectorMath.Vector(), g + j) }
        let mj = b1 * VectorMath.load(m + j) + (1 - b1) * gj
        let vj = b2 * VectorMath.load(v + j) + (1 - b2) * gj * gj
        VectorMath.store(mj, m + j)
        VectorMath.store(vj, v + j)
        return (mj, vj)
    }

    func advance() -> (bc1: Float, bc2: Float) {
        stepCount += 1
        guard biasCorrection else { return (1, 1) }
        return (1 - pow(beta1, Float(stepCount)), 1 - pow(beta2, Float(stepCount)))
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() {
            out[p.name + ".exp_avg"] = firstMoments[i]
            out[p.name + ".exp_avg_sq"] = secondMoments[i]
        }
        return out
    }

    public func loadState(_ tensors: [String: Tensor], stepCount: Int) throws {
        for (i, p) in parameters.enumerated() {
            for (key, target) in [(p.name + ".exp_avg", firstMoments[i]), (p.name + ".exp_avg_sq", secondMoments[i])] {
                guard let t = tensors[key] else { throw OptimizerError.missingState(key) }
                guard t.shape == target.shape else { throw OptimizerError.shapeMismatch(key, expected: target.shape, found: t.shape) }
                target.assign(t)
            }
        }
        self.stepCount = stepCount
    }
}

/// AdamW (Loshchilov & Hutter 2019) with bias correction, exactly as `torch.optim.AdamW`:
/// decoupled decay `w ← w·(1 − lr·λ)` on ≥2-D weights, then `w ← w − lr/bc1 · m / (√v/√bc2 + ε)`.
public final class AdamW: AdamMoments, Optimizer {
    public override init(parameters: [Parameter], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 0.01) {
        super.init(parameters: parameters, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    public func step(lr: Float) {
        let (bc1, bc2) = advance()
        let bc2Sqrt = bc2.squareRoot()
        let (b1, b2, eps, clear) = (beta1, beta2, eps, clearsGradients)
        for (i, p) in parameters.enumerated() where p.requiresGradient {
            let lr = lr * (learningRateScales?[i] ?? 1)
            let stepSize = lr / bc1
            let decay: Float = DecayRule.decays(p) ? 1 - lr * weightDecay : 1
            let w = p.value.data, g = p.gradient.data, m = firstMoments[i].data, v = secondMoments[i].data
            parallelFor(p.value.count, grain: 1 << 14) { range in
                // Eight lanes at a time, each the scalar tail's arithmetic in the same order (same bits).
                var j = range.lowerBound
                while j + VectorMath.width <= range.upperBound {
                    let (mj, vj) = Self.updateMoments(at: j, g, m, v, beta1: b1, beta2: b2, clear: clear)
                    VectorMath.store(VectorMath.load(w + j) * decay - stepSize * mj / (vj.squareRoot() / bc2Sqrt + eps), w + j)
                    j += VectorMath.width
                }
                for j in j..<range.upperBound {
                    let gj = g[j]
                    if clear { g[j] = 0 }
                    w[j] *= decay
                    m[j] = b1 * m[j] + (1 - b1) * gj
                    v[j] = b2 * v[j] + (1 - b2) * gj * gj
                    w[j] -= stepSize * m[j] / (v[j].squareRoot() / bc2Sqrt + eps)
                }
            }
        }
    }
}

/// LAMB (You et al. 2020): Adam's bias-corrected direction r = m̂/(√v̂ + ε) + λw, scaled per
/// parameter by the trust ratio ‖w‖/‖r‖ (1 when either norm is 0). LayerNorm weights and biases
/// (1-D) get neither weight decay nor the trust ratio, as in the reference BERT/ALBERT LAMB.
public final class LAMB: AdamMoments, Optimizer {
    public override init(parameters: [Parameter], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 0.01) {
        super.init(parameters: parameters, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    public func step(lr: Float) {
        let (bc1, bc2) = advance()
        let (b1, b2, eps, clear) = (beta1, beta2, eps, clearsGradients)
        for (i, p) in parameters.enumerated() where p.requiresGradient {
            let adaptive = DecayRule.decays(p)
            let lambda: Float = adaptive ? weightDecay : 0
            let n = p.value.count
            let w = p.value.data, g = p.gradient.data, m = firstMoments[i].data, v = secondMoments[i].data
            let update = Tensor(uninitialized: p.shape)
            let r = update.data
            parallelFor(n, grain: 1 << 14) { range in
                var j = range.lowerBound
                while j + VectorMath.width <= range.upperBound {  // eight lanes, the tail's arithmetic
                    let (mj, vj) = Self.updateMoments(at: j, g, m, v, beta1: b1, beta2: b2, clear: clear)
                    VectorMath.store((mj / bc1) / ((vj / bc2).squareRoot() + eps) + lambda * VectorMath.load(w + j), r + j)
                    j += VectorMath.width
                }
                for j in j..<range.upperBound {
                    let gj = g[j]
                    if clear { g[j] = 0 }
                    m[j] = b1 * m[j] + (1 - b1) * gj
                    v[j] = b2 * v[j] + (1 - b2) * gj * gj
                    r[j] = (m[j] / bc1) / ((v[j] / bc2).squareRoot() + eps) + lambda * w[j]
                }
            }
            var trust: Float = 1
            if adaptive {
                let wNorm = Reduce.sumOfSquares(w, count: n).squareRoot()
                let rNorm = Reduce.sumOfSquares(r, count: n).squareRoot()
                if wNorm > 0 && rNorm > 0 { trust = Float(wNorm / rNorm) }
            }
            let scale = lr * (learningRateScales?[i] ?? 1) * trust
            parallelFor(n, grain: 1 << 14) { range in for j in range { w[j] -= scale * r[j] } }
        }
    }
}

/// Global-norm gradient clipping (`torch.nn.utils.clip_grad_norm_`): when the L2 norm of all
/// gradients exceeds `maxNorm`, scale them by maxNorm / (norm + 1e-6). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    var total = 0.0
    for p in parameters where p.requiresGradient { total += Reduce.sumOfSquares(p.gradient.data, count: p.gradient.count) }
    let norm = Float(total.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for p in parameters where p.requiresGradient {
            let g = p.gradient.data
            parallelFor(p.gradient.count, grain: 1 << 14) { range in for j in range { g[j] *= coefficient } }
        }
    }
    return norm
}
