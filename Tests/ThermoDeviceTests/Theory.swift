import Foundation
import Linalg

/// Reference formulas the statistical tests compare against (test side only: LAPACK is allowed here).
enum Theory {
    /// `f(A) = Q diag(f(λ)) Qᵀ` for a symmetric matrix.
    static func function(_ a: Matrix<Double>, _ f: (Double) -> Double) throws -> Matrix<Double> {
        let (values, q) = try LAPACK.symmetricEigen(a)
        var qf = q
        for j in 0..<a.rows { for i in 0..<a.rows { qf[i, j] *= f(values[j]) } }
        var m = BLAS.matmul(qf, q, transposeB: true)
        m.symmetrizeFromLower()
        return m
    }

    /// Two-sided bounds on `Q / E[Q]` for a (weighted) chi-square variable with `dof` effective degrees
    /// of freedom, at `z` standard deviations of the Wilson–Hilferty normal approximation
    /// (`(Q/d)^{1/3} ≈ N(1 − 2/(9d), 2/(9d))`); z = 3.5 leaves ≈ 5e-4 outside.
    static func chiSquareBounds(dof d: Double, z: Double = 3.5) -> (lower: Double, upper: Double) {
        let m = 1 - 2 / (9 * d), s = (2 / (9 * d)).squareRoot()
        return (pow(Swift.max(m - z * s, 0), 3), pow(m + z * s, 3))
    }

    /// Effective degrees of freedom `(Σw)²/Σw²` of `Σ w_i χ²_1`.
    static func effectiveDOF(_ weights: [Double]) -> Double {
        let s = weights.reduce(0, +), s2 = weights.reduce(0) { $0 + $1 * $1 }
        return s * s / s2
    }

    /// Variance of the mean of `readouts` consecutive readouts of a stationary AR(1) with variance
    /// `s2` and lag-one correlation `rho` (exact finite-N formula).
    static func varianceOfMean(s2: Double, rho: Double, readouts n: Int) -> Double {
        let N = Double(n)
        if rho < 1e-12 { return s2 / N }
        return s2 / N * ((1 + rho) / (1 - rho) - 2 * rho * (1 - pow(rho, N)) / (N * (1 - rho) * (1 - rho)))
    }

    /// `E‖Ŝ − Σ‖²_F` per unordered entry (weights, for the chi-square dof) for the sample covariance of
    /// `total` Gaussian readouts whose modes (eigenvalues `variances` of Σ) have lag-one readout
    /// correlations `rhos`: `Var(S_ij) = σ_i²σ_j²(1+δ_ij)(1+ρ_iρ_j)/((1−ρ_iρ_j) N)` in the eigenbasis.
    static func covarianceErrorWeights(variances: [Double], rhos: [Double], total: Int) -> [Double] {
        var w: [Double] = []
        let n = variances.count
        for i in 0..<n { for j in 0...i {
            let r = rhos[i] * rhos[j]
            let v = variances[i] * variances[j] * (i == j ? 2 : 1) * (1 + r) / ((1 - r) * Double(total))
            w.append(i == j ? v : 2 * v)   // off-diagonal entries appear twice in the Frobenius norm
        } }
        return w
    }

    /// The weights of `covarianceErrorWeights` for a device inverse `A⁻¹ ≈ (scale·β)·Ŝ`: the programmed matrix has
    /// `eigenvalues` λ, each mode's stationary variance is `1/(βλ)`, readouts `interval` apart have lag-one
    /// correlation `e^{−λ·interval}`, and the estimate's error is the covariance error scaled by `(scale·β)²`.
    static func inverseErrorWeights(eigenvalues: [Double], beta: Double, scale: Double, interval: Double, total: Int) -> [Double] {
        let f = pow(scale * beta, 2)
        return covarianceErrorWeights(variances: eigenvalues.map { 1 / (beta * $0) },
                                      rhos: eigenvalues.map { exp(-$0 * interval) }, total: total).map { $0 * f }
    }
}
