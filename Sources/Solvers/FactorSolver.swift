import Curvature
import Linalg

/// Tikhonov damping of the two Kronecker factors: the solver inverts `A + λ_A I` and `G + λ_G I`.
public struct FactorDamping<Scalar: BLASScalar>: Sendable, Equatable, Codable {
    /// `λ_A`, added to the activation factor's diagonal.
    public var activation: Scalar
    /// `λ_G`, added to the gradient factor's diagonal.
    public var gradient: Scalar

    public init(activation: Scalar, gradient: Scalar) {
        self.activation = activation
        self.gradient = gradient
    }

    /// Factored Tikhonov damping with π-correction (Martens & Grosse 2015, §6.3; docs/kfac.md#damping):
    /// `π = sqrt((tr A / dim A) / (tr G / dim G))`, `λ_A = π √λ`, `λ_G = √λ / π`.
    /// The product `λ_A λ_G = λ`, and `π` balances the two factors' scales so that moving a constant
    /// from `G` to `A` leaves `(A + λ_A I) ⊗ (G + λ_G I)` unchanged. A zero or non-finite trace ratio
    /// falls back to `π = 1`.
    public static func piCorrected(_ factors: KroneckerFactors<Scalar>, damping lambda: Scalar) -> FactorDamping {
        let ta = factors.activation.trace / Scalar(Swift.max(factors.activation.rows, 1))
        let tg = factors.gradient.trace / Scalar(Swift.max(factors.gradient.rows, 1))
        var pi = (ta / tg).squareRoot()
        if !(pi.isFinite && pi > 0) { pi = 1 }
        let root = lambda.squareRoot()
        return FactorDamping(activation: pi * root, gradient: root / pi)
    }

    /// `λ_A = λ_G = √λ` (no π-correction).
    public static func uniform(_ lambda: Scalar) -> FactorDamping {
        FactorDamping(activation: lambda.squareRoot(), gradient: lambda.squareRoot())
    }
}

/// What a factor solver did, cumulated since it was made (reported in the metrics CSV).
public struct FactorSolverMetrics: Sendable, Equatable, Codable {
    /// Layers refreshed (`refresh` calls).
    public var refreshes = 0
    /// Cholesky factorisations that failed and were retried with a larger damping.
    public var choleskyRetries = 0
    /// Factors inverted in Double after failing in the working precision.
    public var doublePrecisionFallbacks = 0
    /// Seconds spent in `refresh` (inversion / decomposition / programming a device).
    public var refreshSeconds = 0.0
    /// Seconds spent in `precondition`.
    public var preconditionSeconds = 0.0
    /// Solver-specific figures (a device reports analog time, samples, …), summed.
    public var extra: [String: Double] = [:]

    public init() {}
}

/// The pluggable inversion behind K-FAC ("factor solver"), in the pattern of Distributed Shampoo's
/// matrix-function configs: K-FAC hands over factors and damping, the strategy decides how to apply
/// `U = (G + λ_G I)⁻¹ ∇ (A + λ_A I)⁻¹` (docs/kfac.md#factors, docs/tkfac.md#the-idea).
///
/// Protocol of use, per layer (named by its path, `"layers.0"`):
/// 1. `refresh(layer:factors:damping:)` every `T_inv` steps with the raw (undamped, EMA) factors and the
///    damping to apply. A digital solver caches inverses or eigenbases here; a device solver may program
///    the factors, or just keep them for linear solves with warm starts.
/// 2. `precondition(layer:gradient:)` every step with `∇ = [∇W, ∇b]` (`out × (in + 1)`), returning `U`
///    of the same shape from the state of the last refresh.
///
/// A solver is a reference type and may keep any state (cached inverses, warm starts, a device); it must
/// export it as named tensors for checkpoints (`exportState`/`importState`) so that a resumed run gives
/// the same numbers. Errors are `KFACError`s.
public protocol FactorSolver<Scalar>: AnyObject {
    associatedtype Scalar: BLASScalar

    /// Short name for printouts and metrics (`"cholesky"`, `"eigen"`, `"thermo-inversion"`, …).
    var name: String { get }
    /// Cumulative counters and timings.
    var metrics: FactorSolverMetrics { get }
    /// New factors and damping for `layer` (every `T_inv` steps).
    func refresh(layer: String, factors: KroneckerFactors<Scalar>, damping: FactorDamping<Scalar>) throws(KFACError)
    /// `U = (G + λ_G I)⁻¹ gradient (A + λ_A I)⁻¹` for `layer`, shape `out × (in + 1)`.
    func precondition(layer: String, gradient: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar>
    /// `U` for a gradient given in factored form, `∇ = gᵀ ā` (`g`: `rows × out` output gradients, `ā`:
    /// `rows × (in + 1)` augmented activations, `rows = b·positions`):
    ///
    ///     U = ((G + λ_G I)⁻¹ gᵀ) (ā (A + λ_A I)⁻¹)
    ///
    /// which costs `2·rows·(out² + (in+1)² + out·(in+1))` flops instead of `2·(out²(in+1) + out(in+1)²)`,
    /// less when `rows` is below the layer widths. Exact (same `U` up to rounding). `nil`: this solver has
    /// no such path (a device solver, say) and K-FAC calls `precondition(layer:gradient:)`.
    func precondition(layer: String, outputGradients g: Matrix<Scalar>, activations a: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar>?
    /// Everything needed to continue exactly, as named tensors (`"layers.0.activation_inverse"`, …).
    func exportState() -> [String: Matrix<Scalar>]
    /// Restores `exportState()`'s output.
    func importState(_ state: [String: Matrix<Scalar>]) throws(KFACError)
}

extension FactorSolver {
    /// Default: no factored path.
    public func precondition(layer: String, outputGradients g: Matrix<Scalar>, activations a: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar>? {
        nil
    }
}

/// The built-in digital strategies, chosen by configuration.
public enum FactorSolverKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Cholesky inverse of each damped factor (potrf + potri), with retries on failure.
    case cholesky
    /// Eigendecomposition of each raw factor (syevd), eigenvalues clamped at 0, damping applied per mode.
    case eigen

    public var description: String { rawValue }

    /// A fresh solver of this kind.
    public func makeSolver<S: BLASScalar>(_: S.Type = S.self,
                                          retry: CholeskyRetryPolicy = CholeskyRetryPolicy()) -> any FactorSolver<S> {
        switch self {
        case .cholesky: return CholeskyFactorSolver<S>(retry: retry)
        case .eigen: return EigenFactorSolver<S>()
        }
    }
}

/// `body`'s result and its wall-clock seconds (monotonic clock).
@inline(__always)
package func measureSeconds<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> (R, Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let r = try body()
    let d = clock.now - start
    return (r, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
}

/// `U = left · gradient · right` with two gemms (`left` `out × out`, `right` `(in+1) × (in+1)`).
@inlinable
func sandwich<S: BLASScalar>(_ left: Matrix<S>, _ gradient: Matrix<S>, _ right: Matrix<S>) -> Matrix<S> {
    BLAS.matmul(BLAS.matmul(left, gradient), right)
}
