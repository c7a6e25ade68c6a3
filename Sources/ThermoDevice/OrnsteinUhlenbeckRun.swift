import Foundation

/// The exact law of one scalar Ornstein–Uhlenbeck mode over one device run (docs/tngd.md#exact-simulation):
///
///     dx = −(μ x − c) dt + sqrt(2κ) dW,      x(0) = x₀ given,   κ = 1/β,
///
/// read out `readouts` = k times at spacing `h`, the last at the end of the analog time `t` (times
/// `t_j = t − (k−1−j) h`), the readouts averaged, then run on for the delay `t_d`. Everything is Gaussian, so
/// a mode is three linear maps of `x₀`, `c` and independent standard normals `z₁, z₂, z₃`:
///
///     A   = a₀ x₀ + a_c c + σ_A z₁                         (the average of the k readouts)
///     X   = s₀ x₀ + s_c c + σ_XA z₁ + σ_X z₂                (the state at t, correlated with A)
///     X'  = e^{−μ t_d} X + φ(μ, t_d) c + sqrt(v(μ, t_d)) z₃  (the state after the delay)
///
/// with `φ(μ, s) = (1 − e^{−μs})/μ` (`s` at μ = 0), `v(μ, s) = κ (1 − e^{−2μs})/μ` (the variance after `s`
/// from a fixed start), and `(σ_A, σ_XA, σ_X)` the Cholesky factor of the joint covariance of `(A, X)`:
///
///     Var A = (1/k²) Σ_{j,j'} e^{−μ|t_j − t_j'|} v(min(t_j, t_j')),   Cov(A, X) = (1/k) Σ_j e^{−μ(t − t_j)} v(t_j),
///     Var X = v(t).
///
/// The sums are accumulated in O(k) by recursion (no cancellation as `μh → 0`). `μ < 0` (an indefinite
/// programmed matrix) is handled by the same formulas (the mode grows). A vector process
/// `dx = −(F x − c) dt + sqrt(2κ) dW` with symmetric `F = Q diag(μ) Qᵀ` is n such modes in `y = Qᵀx`, with
/// `z = Qᵀζ` for white `ζ`, which is how the TNGD device uses it.
public struct OrnsteinUhlenbeckRun: Sendable, Equatable, CustomStringConvertible {
    /// Analog time `t` of the run, τ.
    public let analogTime: Double
    /// Readouts averaged, k ≥ 1 (k = 1: one readout at `t`).
    public let readouts: Int
    /// Spacing `h` of the readouts, τ (unused when k = 1).
    public let readoutSpacing: Double
    /// Delay `t_d` after the last readout, τ.
    public let delay: Double
    /// κ = 1/β.
    public let noise: Double

    /// The coefficients of one mode (see the type's formulas).
    public struct Mode: Sendable, Equatable {
        /// `A = averageFromStart x₀ + averageFromInput c + averageNoise z₁`.
        public var averageFromStart, averageFromInput, averageNoise: Double
        /// `X = stateFromStart x₀ + stateFromInput c + stateNoiseShared z₁ + stateNoiseOwn z₂`.
        public var stateFromStart, stateFromInput, stateNoiseShared, stateNoiseOwn: Double
        /// `X' = delayDecay X + delayInput c + delayNoise z₃`.
        public var delayDecay, delayInput, delayNoise: Double
        /// The joint covariance of `(A, X)`, for checks: Var A, Cov(A, X), Var X.
        public var varianceAverage, covariance, varianceState: Double
    }

    /// Validates the schedule: `t ≥ 0`, `k ≥ 1`, `h > 0` when k > 1, the first readout `t − (k−1)h ≥ 0`
    /// (up to rounding), `t_d ≥ 0`, `κ > 0`.
    public init(analogTime: Double, readouts: Int = 1, readoutSpacing: Double = 0, delay: Double = 0,
                noise: Double) throws(ThermoDeviceError) {
        func require(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws(ThermoDeviceError) {
            if !ok { throw .invalidParameter(name: name, value: "\(value)", requirement: rule) }
        }
        try require(analogTime >= 0 && analogTime.isFinite, "analogTime", analogTime, "t must be a non-negative number of τ")
        try require(readouts >= 1, "readouts", readouts, "at least one readout")
        try require(readouts == 1 || (readoutSpacing > 0 && readoutSpacing.isFinite), "readoutSpacing", readoutSpacing,
                    "the spacing of several readouts must be positive")
        try require(Double(readouts - 1) * readoutSpacing <= analogTime * (1 + 1e-12), "readouts", readouts,
                    "(k − 1)·h = \(Double(readouts - 1) * readoutSpacing) τ must fit in t = \(analogTime) τ")
        try require(delay >= 0 && delay.isFinite, "delay", delay, "t_d must be a non-negative number of τ")
        try require(noise > 0 && noise.isFinite, "noise", noise, "κ = 1/β must be positive and finite")
        self.analogTime = analogTime
        self.readouts = readouts
        self.readoutSpacing = readouts == 1 ? 0 : readoutSpacing
        self.delay = delay
        self.noise = noise
    }

    /// Time of the first readout, `t − (k−1)h` (≥ 0).
    public var firstReadout: Double { Swift.max(0, analogTime - Double(readouts - 1) * readoutSpacing) }

    /// `φ(μ, s) = (1 − e^{−μs})/μ`, the gain from a constant input over time `s` (`s` at μ = 0).
    @inline(__always)
    public static func inputGain(rate mu: Double, time s: Double) -> Double {
        mu == 0 ? s : -expm1(-mu * s) / mu
    }

    /// The exact one-interval transition `x(s) = decay x(0) + input c + deviation z` of rate μ, noise κ.
    @inline(__always)
    public static func transition(rate mu: Double, time s: Double, noise kappa: Double)
        -> (decay: Double, input: Double, deviation: Double) {
        // Var = 2κ ∫₀ˢ e^{−2μu} du = 2κ φ(2μ, s) = κ (1 − e^{−2μs})/μ.
        (exp(-mu * s), inputGain(rate: mu, time: s), (2 * kappa * inputGain(rate: 2 * mu, time: s)).squareRoot())
    }

    /// The coefficients of a mode of rate μ (O(k)).
    public func mode(rate mu: Double) -> Mode {
        let k = readouts, kappa = noise
        let start = Self.transition(rate: mu, time: firstReadout, noise: kappa)
        let step = Self.transition(rate: mu, time: readoutSpacing, noise: kappa)
        // Readout j: mean decay_j x₀ + input_j c, variance v_j; S_j = Σ_{i<j} a^{j−i} v_i (a = e^{−μh}).
        var decay = start.decay, input = start.input, v = start.deviation * start.deviation
        var sumDecay = 0.0, sumInput = 0.0, sumV = 0.0, sumS = 0.0, s = 0.0
        let stepVariance = step.deviation * step.deviation
        for j in 0..<k {
            if j > 0 {
                s = step.decay * (s + v)
                decay *= step.decay
                input = step.decay * input + step.input
                v = step.decay * step.decay * v + stepVariance
            }
            sumDecay += decay
            sumInput += input
            sumV += v
            sumS += s
        }
        let kd = Double(k)
        let varA = (sumV + 2 * sumS) / (kd * kd)
        let cov = (v + s) / kd
        let varX = v
        var sigmaA = varA.squareRoot(), shared = 0.0, own = 0.0
        if k == 1 {
            sigmaA = varX.squareRoot()
            shared = sigmaA
        } else if sigmaA > 0 {
            shared = cov / sigmaA
            own = Swift.max(0, varX - shared * shared).squareRoot()
        } else {
            own = varX.squareRoot()
        }
        let after = Self.transition(rate: mu, time: delay, noise: kappa)
        return Mode(averageFromStart: sumDecay / kd, averageFromInput: sumInput / kd, averageNoise: sigmaA,
                    stateFromStart: decay, stateFromInput: input, stateNoiseShared: shared, stateNoiseOwn: own,
                    delayDecay: after.decay, delayInput: after.input, delayNoise: after.deviation,
                    varianceAverage: k == 1 ? varX : varA, covariance: k == 1 ? varX : cov, varianceState: varX)
    }

    public var description: String {
        "OU run(t \(analogTime)τ, \(readouts) readout(s) every \(readoutSpacing)τ, delay \(delay)τ, κ \(noise))"
    }
}
