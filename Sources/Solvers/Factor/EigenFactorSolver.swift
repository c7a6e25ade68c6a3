import Curvature
import Linalg

/// Factor solver by eigendecomposition: at each refresh, `A = Q_A diag(d_A) Q_Aᵀ`, `G = Q_G diag(d_G) Q_Gᵀ`
/// (eigenvalues clamped at 0); precondition in the eigenbasis,
/// `U = Q_G [(Q_Gᵀ ∇ Q_A) ⊘ ((d_G + λ_G)(d_A + λ_A)ᵀ)] Q_Aᵀ` — four gemms, never fails for finite factors,
/// and the damping could change without a new decomposition.
public final class EigenFactorSolver<Scalar: BLASScalar>: FactorSolver {
    public private(set) var metrics = FactorSolverMetrics()
    private struct Basis {
        var activationVectors: Matrix<Scalar>
        var gradientVectors: Matrix<Scalar>
        /// `1 / ((d_G,i + λ_G)(d_A,j + λ_A))`, `out × (in + 1)`.
        var scale: Matrix<Scalar>
    }
    private var bases: [String: Basis] = [:]

    public init() {}

    public var name: String { "eigen" }

    public func refresh(layer: String, factors: KroneckerFactors<Scalar>,
                        damping: FactorDamping<Scalar>) throws(KFACError) {
        let (basis, seconds) = try measureSeconds { () throws(KFACError) -> Basis in
            let ea: (values: [Scalar], vectors: Matrix<Scalar>)
            let eg: (values: [Scalar], vectors: Matrix<Scalar>)
            do throws(LinalgError) { ea = try DampedFactorInverse.eigen(factors.activation) } catch {
                throw .factorInversionFailed(layer: layer, factor: "activation (A)", attempts: 1, lastError: error)
            }
            do throws(LinalgError) { eg = try DampedFactorInverse.eigen(factors.gradient) } catch {
                throw .factorInversionFailed(layer: layer, factor: "gradient (G)", attempts: 1, lastError: error)
            }
            var scale = Matrix<Scalar>(rows: eg.values.count, columns: ea.values.count)
            for i in 0..<eg.values.count { for j in 0..<ea.values.count {
                scale[i, j] = 1 / ((eg.values[i] + damping.gradient) * (ea.values[j] + damping.activation))
            } }
            return Basis(activationVectors: ea.vectors, gradientVectors: eg.vectors, scale: scale)
        }
        bases[layer] = basis
        metrics.refreshes += 1
        metrics.refreshSeconds += seconds
    }

    public func precondition(layer: String, gradient: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar> {
        guard let basis = bases[layer] else { throw .layerNotRefreshed(layer: layer, solver: name) }
        guard gradient.rows == basis.scale.rows, gradient.columns == basis.scale.columns else {
            throw .shapeMismatch(layer: layer, detail: "gradient \(gradient.rows)×\(gradient.columns), "
                                    + "eigenbasis \(basis.scale.rows)×\(basis.scale.columns)")
        }
        let (u, seconds) = measureSeconds { () -> Matrix<Scalar> in
            var rotated = BLAS.matmul(BLAS.matmul(basis.gradientVectors, transposeA: true, gradient), basis.activationVectors)
            rotated.withUnsafeMutableBufferPointer { r in
                basis.scale.withUnsafeBufferPointer { s in for i in r.indices { r[i] *= s[i] } }
            }
            return BLAS.matmul(BLAS.matmul(basis.gradientVectors, rotated), basis.activationVectors, transposeB: true)
        }
        metrics.preconditionSeconds += seconds
        return u
    }

    public func exportState() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (layer, b) in bases {
            out["\(layer).activation_eigenvectors"] = b.activationVectors
            out["\(layer).gradient_eigenvectors"] = b.gradientVectors
            out["\(layer).eigen_scale"] = b.scale
        }
        return out
    }

    public func importState(_ state: [String: Matrix<Scalar>]) throws(KFACError) {
        var restored: [String: Basis] = [:]
        for key in state.keys where key.hasSuffix(".eigen_scale") {
            let layer = String(key.dropLast(".eigen_scale".count))
            guard let a = state["\(layer).activation_eigenvectors"], let g = state["\(layer).gradient_eigenvectors"] else {
                throw .stateMismatch(key: layer, detail: "eigenvectors missing from the saved eigen state")
            }
            restored[layer] = Basis(activationVectors: a, gradientVectors: g, scale: state[key]!)
        }
        bases = restored
    }
}
