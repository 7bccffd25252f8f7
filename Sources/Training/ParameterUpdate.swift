import Autodiff
import Optimizers

/// The end of every training step, pretraining's (``Trainer``) and fine-tuning's (`FineTuner`):
/// the gradients (already summed across ranks) clipped to `maxNorm` (0 = no clipping) and the
/// optimizer's update — unless `loss` or the gradient norm is not finite. Then the weights stay as
/// they were, the gradients are cleared, and the caller stops with its named error or skips the
/// step (`on_nonfinite`): one bad batch must never reach the weights, a checkpoint or a saved model.
/// Returns whether the update was applied, and the gradient norm before clipping.
public func applyUpdate(_ optimizer: Optimizer, to parameters: [Parameter], lr: Float, maxNorm: Float,
                        loss: Double) -> (applied: Bool, gradientNorm: Float) {
    let norm = clipGradientNorm(parameters, maxNorm: maxNorm > 0 ? maxNorm : .infinity)
    guard loss.isFinite && norm.isFinite else {
        for p in parameters { p.zeroGradient() }
        return (false, norm)
    }
    optimizer.step(lr: lr)
    return (true, norm)
}
