import Curvature
import Linalg

/// What to do when the Cholesky factorisation of a damped factor fails (docs/kfac.md#inverting-the-factors): retry with
/// the damping multiplied by `dampingGrowth`, up to `maxRetries` times, then once more in Double.
public struct CholeskyRetryPolicy: Sendable, Equatable, Codable {
    public var maxRetries: Int
    public var dampingGrowth: Double
    /// Whether a Float factor that still fails is inverted in Double as the last resort.
    public var doublePrecisionFallback: Bool

    public init(maxRetries: Int = 3, dampingGrowth: Double = 10, doublePrecisionFallback: Bool = true) {
        precondition(maxRetries >= 0 && dampingGrowth > 1, "retry policy: maxRetries ≥ 0 and dampingGrowth > 1")
        self.maxRetries = maxRetries
        self.dampingGrowth = dampingGrowth
        self.doublePrecisionFallback = doublePrecisionFallback
    }
}

/// Pure inversion strategies for one damped factor; the solvers below only cache their results.
public enum DampedFactorInverse {
    /// `(M + λ I)⁻¹` by Cholesky (potrf + potri), retrying with `λ·growth^k` (k = 1…maxRetries) and then
    /// in Double when the factorisation fails. Returns the inverse, the retries used and whether Double
    /// was needed. A zero `λ` is retried from `max(λ, 1e-8 · mean diagonal)`.
    public static func cholesky<S: BLASScalar>(_ m: Matrix<S>, damping lambda: S,
                                               retry: CholeskyRetryPolicy) throws(LinalgError)
        -> (inverse: Matrix<S>, retries: Int, usedDouble: Bool) {
        var lastError = LinalgError.nonFinite(operation: "\(S.blasPrefix)potrf")
        let meanDiagonal = m.trace / S(Swift.max(m.rows, 1))
        var current = lambda
        guard FactorKernels.isFinite(m) else { throw .nonFinite(operation: "\(S.blasPrefix)potrf") }  // no retry helps
        for attempt in 0...retry.maxRetries {
            do {
                return (try FactorKernels.dampedInverse(m, damping: current), attempt, false)
            } catch {
                lastError = error
            }
            current = Swift.max(current, S(1e-8) * Swift.max(meanDiagonal, 1)) * S(retry.dampingGrowth)
        }
        if retry.doublePrecisionFallback && S.self != Double.self {
            let inverse = try FactorKernels.dampedInverse(m.converted(to: Double.self), damping: Double(current))
            return (inverse.converted(), retry.maxRetries + 1, true)
        }
        throw lastError
    }

    /// Eigendecomposition `M = Q diag(d) Qᵀ` with eigenvalues clamped at 0 (a PSD factor's rounding
    /// can make its smallest eigenvalues slightly negative).
    public static func eigen<S: BLASScalar>(_ m: Matrix<S>) throws(LinalgError) -> (values: [S], vectors: Matrix<S>) {
        let (values, vectors) = try LAPACK.symmetricEigen(m)
        return (values.map { Swift.max($0, 0) }, vectors)
    }
}

/// The default factor solver: at each refresh, invert `A + λ_A I` and `G + λ_G I` by Cholesky and cache
/// the inverses; precondition with two gemms, `U = (G + λ_G I)⁻¹ ∇ (A + λ_A I)⁻¹`.
///
/// Cost per layer: refresh `≈ (4/3)(n_A³ + n_G³)` flops (potrf + potri), precondition
/// `2 n_G n_A (n_G + n_A)` flops. Failures retry with more damping, then in Double (`CholeskyRetryPolicy`),
/// counted in `metrics.choleskyRetries` / `metrics.doublePrecisionFallbacks`.
public final class CholeskyFactorSolver<Scalar: BLASScalar>: FactorSolver {
    public let retry: CholeskyRetryPolicy
    public private(set) var metrics = FactorSolverMetrics()
    /// Per layer: `((A + λ_A I)⁻¹, (G + λ_G I)⁻¹)`.
    private var inverses: [String: (activation: Matrix<Scalar>, gradient: Matrix<Scalar>)] = [:]

    public init(retry: CholeskyRetryPolicy = CholeskyRetryPolicy()) { self.retry = retry }

    public var name: String { "cholesky" }

    public func refresh(layer: String, factors: KroneckerFactors<Scalar>,
                        damping: FactorDamping<Scalar>) throws(KFACError) {
        let (pair, seconds) = try measureSeconds { () throws(KFACError) in
            (try invert(factors.activation, damping.activation, layer: layer, factor: "activation (A)"),
             try invert(factors.gradient, damping.gradient, layer: layer, factor: "gradient (G)"))
        }
        inverses[layer] = pair
        metrics.refreshes += 1
        metrics.refreshSeconds += seconds
    }

    private func invert(_ m: Matrix<Scalar>, _ lambda: Scalar, layer: String, factor: String) throws(KFACError) -> Matrix<Scalar> {
        do {
            let r = try DampedFactorInverse.cholesky(m, damping: lambda, retry: retry)
            metrics.choleskyRetries += r.retries - (r.usedDouble ? 1 : 0)
            if r.usedDouble { metrics.doublePrecisionFallbacks += 1 }
            return r.inverse
        } catch {
            metrics.choleskyRetries += retry.maxRetries
            throw .factorInversionFailed(layer: layer, factor: factor, attempts: retry.maxRetries + 1
                                            + (retry.doublePrecisionFallback && Scalar.self != Double.self ? 1 : 0),
                                         lastError: error)
        }
    }

    public func precondition(layer: String, gradient: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar> {
        guard let inv = inverses[layer] else { throw .layerNotRefreshed(layer: layer, solver: name) }
        guard gradient.rows == inv.gradient.rows, gradient.columns == inv.activation.rows else {
            throw .shapeMismatch(layer: layer, detail: "gradient \(gradient.rows)×\(gradient.columns), "
                                    + "factors G \(inv.gradient.rows)², A \(inv.activation.rows)²")
        }
        let (u, seconds) = measureSeconds { sandwich(inv.gradient, gradient, inv.activation) }
        metrics.preconditionSeconds += seconds
        return u
    }

    public func precondition(layer: String, outputGradients g: Matrix<Scalar>, activations a: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar>? {
        guard let inv = inverses[layer] else { throw .layerNotRefreshed(layer: layer, solver: name) }
        guard g.rows == a.rows, g.columns == inv.gradient.rows, a.columns == inv.activation.rows else {
            throw .shapeMismatch(layer: layer, detail: "factored gradient g \(g.rows)×\(g.columns), ā \(a.rows)×\(a.columns), "
                                    + "factors G \(inv.gradient.rows)², A \(inv.activation.rows)²")
        }
        // (G⁻¹ gᵀ)(ā A⁻¹): A⁻¹ is symmetric, so ā A⁻¹ needs no transpose.
        let (u, seconds) = measureSeconds {
            BLAS.matmul(BLAS.matmul(inv.gradient, g, transposeB: true), BLAS.matmul(a, inv.activation))
        }
        metrics.preconditionSeconds += seconds
        return u
    }

    public func exportState() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (layer, inv) in inverses {
            out["\(layer).activation_inverse"] = inv.activation
            out["\(layer).gradient_inverse"] = inv.gradient
        }
        return out
    }

    public func importState(_ state: [String: Matrix<Scalar>]) throws(KFACError) {
        var restored: [String: (activation: Matrix<Scalar>, gradient: Matrix<Scalar>)] = [:]
        for key in state.keys where key.hasSuffix(".activation_inverse") {
            let layer = String(key.dropLast(".activation_inverse".count))
            guard let g = state["\(layer).gradient_inverse"] else {
                throw .stateMismatch(key: "\(layer).gradient_inverse", detail: "missing from the saved cholesky state")
            }
            restored[layer] = (state[key]!, g)
        }
        inverses = restored
    }
}
