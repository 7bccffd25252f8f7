import Foundation

/// Learning-rate schedules: linear warm-up to the peak, then a decay to the end of training
/// (the `transformers` `get_*_schedule_with_warmup` family).
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    /// How the rate falls after warm-up.
    public enum Decay: String, Sendable, Codable, CaseIterable {
        /// Linearly to 0 at `totalSteps` (BERT).
        case linear
        /// (1 − progress)^power from peak to `endLR` (`get_polynomial_decay_schedule_with_warmup`).
        case polynomial
        /// Half a cosine to 0.
        case cosine
        /// Stays at the peak.
        case constant
    }

    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: Decay
    public var power: Float
    public var endLR: Float

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, decay: Decay = .linear, power: Float = 1, endLR: Float = 1e-7) {
        (self.peak, self.warmupSteps, self.totalSteps, self.decay, self.power, self.endLR) = (peak, warmupSteps, totalSteps, decay, power, endLR)
    }

    /// The learning rate for 0-based `step` (the rate the step-th update uses).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step) / Float(max(1, warmupSteps)) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(span))
        switch decay {
        case .linear:
            return peak * max(0, 1 - progress)
        case .polynomial:
            if step > totalSteps { return endLR }
            return (peak - endLR) * pow(1 - progress, power) + endLR
        case .cosine:
            return peak * 0.5 * (1 + cos(Float.pi * progress))
        case .constant:
            return peak
        }
    }
}
