import Foundation

/// Learning rate as a function of the (0-based) update step `t`:
/// - warm-up (`t < w`): `η · (t + 1)/w`, a linear ramp reaching `η` at step `w − 1`;
/// - then, with progress `p = min(1, (t − w)/(T − w))` over the `T` total steps:
///   constant `η`; cosine `η (f + (1 − f) · ½(1 + cos πp))`; linear `η (1 − (1 − f) p)`,
///   where `f` is the final fraction of `η` (Loshchilov & Hutter, 2017, for the cosine form).
public struct LearningRateSchedule: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Decay: String, Sendable, Codable, CaseIterable { case constant, cosine, linear }

    /// Peak learning rate `η`.
    public let baseRate: Double
    public let decay: Decay
    /// Warm-up steps `w` (0: none).
    public let warmupSteps: Int
    /// Total steps `T` of the run (for cosine and linear decay).
    public let totalSteps: Int
    /// Final learning rate as a fraction `f` of `η`.
    public let finalFraction: Double

    public init(baseRate: Double, decay: Decay = .constant, warmupSteps: Int = 0, totalSteps: Int = 1,
                finalFraction: Double = 0) throws(OptimizerError) {
        guard baseRate > 0, baseRate.isFinite else { throw .invalidConfiguration("learning rate must be positive and finite, got \(baseRate)") }
        guard warmupSteps >= 0 else { throw .invalidConfiguration("warm-up steps must be non-negative, got \(warmupSteps)") }
        guard totalSteps >= 1 else { throw .invalidConfiguration("total steps must be at least 1, got \(totalSteps)") }
        guard (0...1).contains(finalFraction) else { throw .invalidConfiguration("final fraction must be in [0, 1], got \(finalFraction)") }
        self.baseRate = baseRate
        self.decay = decay
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.finalFraction = finalFraction
    }

    /// A constant rate `η`.
    public static func constant(_ rate: Double) throws(OptimizerError) -> LearningRateSchedule {
        try LearningRateSchedule(baseRate: rate)
    }

    /// The rate at update step `t` (0-based).
    public func rate(atStep t: Int) -> Double {
        if t < warmupSteps { return baseRate * Double(t + 1) / Double(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let p = min(1, Double(t - warmupSteps) / Double(span))
        switch decay {
        case .constant: return baseRate
        case .cosine: return baseRate * (finalFraction + (1 - finalFraction) * 0.5 * (1 + cos(Double.pi * p)))
        case .linear: return baseRate * (1 - (1 - finalFraction) * p)
        }
    }

    public var description: String {
        var s = "\(decay.rawValue) η=\(baseRate)"
        if decay != .constant { s += " → \(baseRate * finalFraction) over \(totalSteps) steps" }
        if warmupSteps > 0 { s += ", warm-up \(warmupSteps) steps" }
        return s
    }
}
