import Foundation
import Linalg
import Testing
import ThermoDevice

/// Component mismatch ε and its mitigation by ensembles of devices.
@Suite struct MismatchEnsembleTests {
    /// First-order theory in device units (A' = αA, y* = A'⁻¹b', realised A'_ij(1 + εη_ij), η symmetric):
    /// `δy ≈ −A'⁻¹ w`, `w_k = ε Σ_j A'_kj η_kj y*_j`, Gaussian with covariance
    /// `W_kl = ε²[δ_kl Σ_j A'²_kj y*_j² + (1 − δ_kl) A'²_kl y*_k y*_l]`; so `δx = (α/γ) δy ~ N(0, Σ_δ)`,
    /// `Σ_δ = (α/γ)² A'⁻¹ W A'⁻¹`, and `‖δx‖²` is a weighted chi-square with weights eig(Σ_δ).
    /// With β = 10⁶ the thermal error (≈ sqrt(2/(βT))) is negligible next to ε = 0.02.
    ///
    /// Checks: (1) the mean of ‖δx‖² over K = 16 devices matches tr Σ_δ within chi-square bounds for
    /// K × d_eff dof; (2) the ensemble average's ‖δx̄‖² is ≈ tr Σ_δ / K — below its chi-square upper
    /// bound for d_eff dof (first order; the O(ε²) bias is ~1e-4 relative); (3) without mismatch the
    /// error is far smaller.
    @Test func mismatchErrorMatchesFirstOrderTheoryAndEnsemblesReduceIt() throws {
        let n = 32, k = 16, eps = 0.02
        let a: Matrix<Double> = try BenchmarkProblems.randomSPD(n, condition: 10, seed: 14)
        let b: [Double] = BenchmarkProblems.randomVector(n, seed: 14)
        let exact = try LAPACK.solve(a, b)
        let config = try DeviceConfiguration(beta: 1e6, timeStep: 0.5, mismatch: eps, chains: 16, errorBarGroups: 4, seed: 40)
        var ensemble = DeviceEnsemble<Double>(configuration: config, count: k)
        let (average, individual) = try ensemble.solve(a, b, time: 256, sampleInterval: 1)

        // Theory.
        let p = try ThermodynamicDevice<Double>(configuration: try DeviceConfiguration(beta: 1e6, timeStep: 0.5)).program(a)
        let ap = p.nominal
        let gain = 1 / b.reduce(0.0) { max($0, abs($1)) }
        let y = try LAPACK.solve(ap, b.map { $0 * gain })
        var w = Matrix<Double>(rows: n, columns: n)
        for kk in 0..<n { for l in 0..<n {
            if kk == l { w[kk, kk] = eps * eps * (0..<n).reduce(0.0) { $0 + ap[kk, $1] * ap[kk, $1] * y[$1] * y[$1] } }
            else { w[kk, l] = eps * eps * ap[kk, l] * ap[kk, l] * y[kk] * y[l] }
        } }
        let apInv = try LAPACK.inverseSPD(ap)
        var sigma = BLAS.matmul(BLAS.matmul(apInv, w), apInv)
        sigma.scale(by: pow(p.scale / gain, 2))
        sigma.symmetrizeFromLower()
        let weights = try LAPACK.symmetricEigen(sigma).values.map { max($0, 0) }
        let trace = weights.reduce(0, +)
        let dof = Theory.effectiveDOF(weights)
        #expect(dof >= 4, "effective dof \(dof)")

        let single = individual.map { r in zip(r.solution, exact).reduce(0.0) { $0 + pow($1.0 - $1.1, 2) } }
        let meanSingle = single.reduce(0, +) / Double(k)
        let bounds = Theory.chiSquareBounds(dof: Double(k) * dof)
        #expect(meanSingle / trace > bounds.lower && meanSingle / trace < bounds.upper,
                "mean single-device ‖δx‖² / theory = \(meanSingle / trace), bounds \(bounds)")

        let ensembleError = zip(average.solution, exact).reduce(0.0) { $0 + pow($1.0 - $1.1, 2) }
        #expect(ensembleError / (trace / Double(k)) < Theory.chiSquareBounds(dof: dof).upper,
                "ensemble ‖δx̄‖² / (theory / K) = \(ensembleError / (trace / Double(k)))")
        #expect(ensembleError < meanSingle / 4, "ensemble of \(k) should cut the mean-square error ≈ \(k)×")

        // Without mismatch, the same device setting is accurate to the thermal error only.
        var ideal = ThermodynamicDevice<Double>(configuration: try DeviceConfiguration(beta: 1e6, timeStep: 0.5, chains: 16,
                                                                                      errorBarGroups: 4, seed: 40))
        let r0 = try ideal.solve(a, b, time: 256, sampleInterval: 1)
        let e0 = zip(r0.solution, exact).reduce(0.0) { $0 + pow($1.0 - $1.1, 2) }
        #expect(e0 < trace / 100, "ε = 0 error \(e0) vs ε = \(eps) theory \(trace)")
    }
}
