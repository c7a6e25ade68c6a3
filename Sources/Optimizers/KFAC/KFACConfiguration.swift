import Curvature
import Linalg
import Solvers

/// Levenberg–Marquardt adaptation of the damping `λ` (Martens & Grosse 2015, §6.5; docs/kfac.md#adaptive-damping).
///
/// Every `interval` updates K-FAC evaluates the loss after the step and the reduction ratio
/// `ρ = (L(θ+δ) − L(θ)) / (q(δ) − q(0))`, with the quadratic model
/// `q(δ) − q(0) = ∇ᵀδ + ½ δᵀ(F̂ + λI)δ` and `F̂` the K-FAC curvature `Σ_ℓ ⟨δ_ℓ, G_ℓ δ_ℓ A_ℓ⟩`.
/// `λ ← ω λ` when `ρ > 3/4`, `λ ← λ / ω` when `ρ < 1/4` (`ω = (19/20)^interval` by default), clamped to
/// `[minimum, maximum]`. Costs one forward pass per adaptation.
public struct AdaptiveDamping: Sendable, Equatable, Codable, CustomStringConvertible {
    public var interval: Int
    /// `ω ∈ (0, 1)`.
    public var decrease: Double
    public var minimum: Double
    public var maximum: Double

    public init(interval: Int = 5, decrease: Double? = nil, minimum: Double = 1e-8, maximum: Double = 1e4) {
        self.interval = interval
        self.decrease = decrease ?? Double.pow(19.0 / 20.0, Double(interval))
        self.minimum = minimum
        self.maximum = maximum
    }

    public var description: String { "LM every \(interval) steps, ω \(decrease), λ ∈ [\(minimum), \(maximum)]" }
}

/// Every setting of K-FAC, immutable and validated once (`validate()` is called by `KFAC.init`), printed
/// with every run. Defaults follow Martens & Grosse (2015) and kfac-pytorch where the papers are silent.
public struct KFACConfiguration: Sendable, Equatable, Codable, CustomStringConvertible {
    public var fisherType: FisherType = .trueFisher
    /// Tikhonov damping `λ` (initial value when adaptive).
    public var damping: Double = 1e-3
    /// Factored damping with π-correction (`FactorDamping.piCorrected`); `false`: `λ_A = λ_G = √λ`.
    public var piCorrection = true
    /// LM adaptation of `λ`; nil keeps `λ` fixed.
    public var adaptiveDamping: AdaptiveDamping? = nil
    /// EMA decay `ρ` of the factors, `F ← ρF + (1 − ρ)F_new` (the first update takes `F_new`).
    public var factorDecay: Double = 0.95
    /// `T_cov`: factors are updated every this many steps.
    public var factorUpdateInterval = 1
    /// `T_inv`: the solver is refreshed (inversions) every this many steps.
    public var inverseUpdateInterval = 10
    /// KL clipping constant `c`: the step is scaled by `min(1, sqrt(c / (η² Σ_ℓ ⟨U_ℓ, ∇_ℓ⟩)))`; nil: off.
    public var klClip: Double? = 1e-3
    /// L2 weight decay `w`, added as `w θ` to the gradient *before* preconditioning (coupled, as in
    /// Martens & Grosse); the wrapped optimiser's own decay (AdamW) is applied after.
    public var weightDecay: Double = 0
    /// Inversion strategy used when no solver instance is handed to `KFAC.init`.
    public var solver: FactorSolverKind = .cholesky
    public var choleskyRetry = CholeskyRetryPolicy()
    /// Weight-sharing approximation for every layer, unless overridden in `layerApproximations`
    /// (keyed by layer path, `"layers.0"`). Irrelevant for layers applied once per example.
    public var approximation: WeightSharingApproximation = .expand
    public var layerApproximations: [String: WeightSharingApproximation] = [:]
    /// Seed of the label sampling for the true Fisher.
    public var seed: UInt64 = 0

    public init() {}

    /// Throws the first setting out of range, saying what is allowed.
    public func validate() throws(KFACError) {
        func fail(_ field: String, _ value: Any, _ requirement: String) -> KFACError {
            .invalidConfiguration(field: field, value: "\(value)", requirement: requirement)
        }
        guard damping > 0, damping.isFinite else { throw fail("damping", damping, "use a positive λ such as 1e-3") }
        guard (0..<1).contains(factorDecay) else { throw fail("factorDecay", factorDecay, "use a decay in [0, 1), e.g. 0.95") }
        guard factorUpdateInterval >= 1 else { throw fail("factorUpdateInterval", factorUpdateInterval, "must be ≥ 1") }
        guard inverseUpdateInterval >= 1 else { throw fail("inverseUpdateInterval", inverseUpdateInterval, "must be ≥ 1") }
        guard inverseUpdateInterval % factorUpdateInterval == 0 else {
            throw fail("inverseUpdateInterval", inverseUpdateInterval,
                       "must be a multiple of factorUpdateInterval (\(factorUpdateInterval)) so inversions see fresh factors")
        }
        if let c = klClip { guard c > 0, c.isFinite else { throw fail("klClip", c, "use a positive c such as 1e-3, or nil to turn it off") } }
        guard weightDecay >= 0 else { throw fail("weightDecay", weightDecay, "must be ≥ 0") }
        if let lm = adaptiveDamping {
            guard lm.interval >= 1 else { throw fail("adaptiveDamping.interval", lm.interval, "must be ≥ 1") }
            guard lm.decrease > 0 && lm.decrease < 1 else { throw fail("adaptiveDamping.decrease", lm.decrease, "ω must be in (0, 1)") }
            guard lm.minimum > 0 && lm.minimum <= damping && damping <= lm.maximum else {
                throw fail("adaptiveDamping bounds", "[\(lm.minimum), \(lm.maximum)]", "need 0 < minimum ≤ damping ≤ maximum")
            }
        }
    }

    /// The approximation used for the layer at `path`.
    public func approximation(forLayer path: String) -> WeightSharingApproximation {
        layerApproximations[path] ?? approximation
    }

    public var description: String {
        var parts = ["Fisher \(fisherType)", "λ \(damping)\(piCorrection ? " (π-corrected)" : "")",
                     adaptiveDamping.map { "adaptive damping: \($0)" } ?? "fixed damping",
                     "EMA \(factorDecay)", "T_cov \(factorUpdateInterval)", "T_inv \(inverseUpdateInterval)",
                     "KL clip \(klClip.map { "\($0)" } ?? "off")", "weight decay \(weightDecay)",
                     "solver \(solver)", "approximation \(approximation)", "seed \(seed)"]
        if !layerApproximations.isEmpty {
            parts.append("per layer " + layerApproximations.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
        }
        return "K-FAC(" + parts.joined(separator: ", ") + ")"
    }
}
