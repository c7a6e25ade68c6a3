import Foundation
import Linalg
import Testing
import ThermoDevice

/// The readout protocol of a warm-started batched solve (TK-FAC Method 2's, docs/tkfac.md#method-2-linear-systems)
/// against the OU transient law, for both ADC calibrations and for one and four readouts per chain.
@Suite struct SolveReadoutProtocolTests {
    /// 512 identical right-hand sides with identical warm starts are 512 independent replicas of one estimate
    /// (2 chains each). In the eigenbasis of `A'` (eigenvalues λ), chain readouts at `t_i = t_b + i s`
    /// (`i = 1…R_c`) average to a Gaussian with mean `y* + (y₀ − y*)·(1/R_c) Σ_i e^{−λ t_i}` and variance
    /// `(1/R_c²) Σ_{i,j} e^{−λ|t_i − t_j|}(1 − e^{−2λ min(t_i, t_j)})/(βλ)`; the estimate averages 2 chains.
    /// A 16-bit auto-ranged ADC adds `Δ²/12 ≈ 10⁻⁸` of variance (Δ ≈ 2·max|x|/2¹⁵), far below the thermal
    /// `≈ 1/(βλ)` of β = 1. Checks per case: every coordinate's mean over the replicas within 4.5 standard errors
    /// of theory (8 coordinates × 4 cases: ≈ 2e-4 to chance) and `Σ‖x̂ − E x̂‖²` within the chi-square bounds of
    /// its per-mode weights.
    @Test(arguments: [(ADCCalibration.firstReadout, 2), (.firstReadout, 8), (.endOfBurnIn, 2), (.endOfBurnIn, 8)])
    func warmStartedSolveMatchesTheTransientLaw(calibration: ADCCalibration, readouts: Int) throws {
        let n = 8, m = 512, chainsPerRHS = 2, time = 2.0, burn = 1.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 31)
        let b: [Float] = BenchmarkProblems.randomVector(n, seed: 32)
        let x0: [Float] = BenchmarkProblems.randomVector(n, seed: 33).map { $0 * 3 }
        let adc = DeviceConfiguration.Converter(bits: 16, range: nil)
        let config = try DeviceConfiguration(integrator: .eigenbasis, outputConverter: adc, seed: 34 + UInt64(readouts))
        var device = ThermodynamicDevice<Float>(configuration: config)
        let p = try device.program(a)
        var rhs = Matrix<Float>(rows: n, columns: m), warm = rhs
        for j in 0..<n { for k in 0..<m { rhs[j, k] = b[j]; warm[j, k] = x0[j] } }
        let r = try device.solve(p, rightHandSides: rhs, time: time, sampleInterval: time / Double(readouts), burnIn: burn,
                                 warmStart: warm, chainsPerRightHandSide: chainsPerRHS, adcCalibration: calibration)
        #expect(r.settings.readoutsPerChain == readouts / chainsPerRHS && r.settings.chains == chainsPerRHS)

        // Theory in device units (b' = γb, x₀' = (γ/α)x₀), unscaled by α/γ.
        let gain = 1 / b.reduce(0.0) { max($0, abs(Double($1))) }, unscale = p.scale / gain
        let (lambda, q) = try LAPACK.symmetricEigen(p.realized.converted(to: Double.self))
        let c = BLAS.matvec(q, transpose: true, b.map { Double($0) * gain })
        let y0 = BLAS.matvec(q, transpose: true, x0.map { Double($0) * gain / p.scale })
        let perChain = r.settings.readoutsPerChain, s = r.settings.sampleInterval
        let times = (1...perChain).map { burn + Double($0) * s }
        var modalMean = [Double](repeating: 0, count: n), variances = modalMean
        for k in 0..<n {
            let l = lambda[k], yStar = c[k] / l
            let decay = times.reduce(0.0) { $0 + exp(-l * $1) } / Double(perChain)
            modalMean[k] = yStar + (y0[k] - yStar) * decay
            var v = 0.0
            for ti in times { for tj in times {
                v += exp(-l * abs(ti - tj)) * -expm1(-2 * l * min(ti, tj)) / (config.beta * l)
            } }
            variances[k] = v / Double(perChain * perChain) / Double(chainsPerRHS) * unscale * unscale
        }
        let mean = BLAS.matvec(q, modalMean).map { $0 * unscale }
        var qv = q
        for j in 0..<n { for i in 0..<n { qv[i, j] *= variances[j] } }
        let covariance = BLAS.matmul(qv, q, transposeB: true)

        let x = r.solutions.converted(to: Double.self)
        var sumSq = 0.0
        for j in 0..<n {
            var sampleMean = 0.0
            for k in 0..<m { sampleMean += x[j, k] / Double(m); sumSq += pow(x[j, k] - mean[j], 2) }
            let z = (sampleMean - mean[j]) / (covariance[j, j] / Double(m)).squareRoot()
            #expect(abs(z) < 4.5, "\(calibration), \(readouts) readouts, coordinate \(j): z = \(z)")
        }
        let weights = variances.flatMap { [Double](repeating: $0, count: m) }
        let ratio = sumSq / weights.reduce(0, +)
        let bounds = Theory.chiSquareBounds(dof: Theory.effectiveDOF(weights))
        #expect(ratio > bounds.lower && ratio < bounds.upper, "\(calibration), \(readouts) readouts: Σ‖x̂ − E x̂‖²/theory = \(ratio), \(bounds)")
    }
}
