import Foundation
import Linalg
import Testing
import ThermoDevice

/// The stationary law `N(A⁻¹b, β⁻¹A⁻¹)`: the mean solves, the covariance inverts, and the errors
/// match the theory at two sample counts (so they shrink like 1/sqrt(samples)).
@Suite struct StationaryStatisticsTests {
    /// Solve at analog times T and 16T, 8 independent devices each. Theory (device units y = (γ/α) x,
    /// mode λ of A' = αA): an EM chain with step h has stationary variance `s² = 1/(βλ(1 − λh/2))`
    /// and readout correlation `ρ = (1 − λh)^K` (K steps per readout); the mean of N readouts has
    /// the AR(1) variance `Theory.varianceOfMean`, divided by the C chains. So
    /// `E‖x̂ − A⁻¹b‖² = (α/γ)² Σ_λ Var_λ`, a weighted chi-square whose effective dof give the bounds.
    @Test func meanConvergesToSolutionAtTheoreticalRate() throws {
        let n = 16
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 10, seed: 3)
        let b: [Float] = BenchmarkProblems.randomVector(n, seed: 3)
        let exact = try LAPACK.solve(a.converted(to: Double.self), b.map { Double($0) })
        let gain = 1 / b.reduce(0.0) { max($0, abs(Double($1))) }
        var runs: [(measured: Double, predicted: Double, bounds: (lower: Double, upper: Double))] = []
        for time in [8192.0, 131072.0] {
            var sumSq = 0.0, predicted = 0.0, weights: [Double] = []
            for r in 0..<8 {
                let config = try DeviceConfiguration(timeStep: 0.5, chains: 64, seed: UInt64(100 + r))
                var device = ThermodynamicDevice<Float>(configuration: config)
                let p = try device.program(a)
                let result = try device.solve(p, b, time: time, sampleInterval: 1)
                let e = zip(result.solution, exact).map { Double($0.0) - $0.1 }
                sumSq += e.reduce(0) { $0 + $1 * $1 }
                let s = result.settings
                let scale = pow(p.scale / gain, 2)
                var thisRun = 0.0
                for lambda in p.eigenvalues {
                    let s2 = 1 / (config.beta * lambda * (1 - lambda * s.step / 2))
                    let rho = pow(1 - lambda * s.step, Double(s.stepsPerSample))
                    let v = scale * Theory.varianceOfMean(s2: s2, rho: rho, readouts: s.readoutsPerChain) / Double(s.chains)
                    thisRun += v
                    weights.append(v)
                }
                predicted += thisRun
                // The reported error bar estimates the same trace from the spread of the 64 chains
                // (each coordinate's variance estimate has 63 dof, so the sum has at least 63).
                let bar2 = result.standardError.reduce(0.0) { $0 + Double($1) * Double($1) }
                let own = Theory.chiSquareBounds(dof: Double(s.chains - 1))
                #expect(bar2 / thisRun > own.lower && bar2 / thisRun < own.upper,
                        "T = \(time): reported error bar² / theory = \(bar2 / thisRun)")
            }
            let dof = Theory.effectiveDOF(weights)
            let bounds = Theory.chiSquareBounds(dof: dof)
            #expect(sumSq / predicted > bounds.lower && sumSq / predicted < bounds.upper,
                    "T = \(time): ‖e‖² / theory = \(sumSq / predicted), allowed \(bounds) for \(dof) dof")
            runs.append((sumSq, predicted, bounds))
        }
        // 16× the time: the theory predicts ≈ 16× smaller mean-square error (error ∝ 1/sqrt(samples));
        // slightly less (≈ 14.8) because of the finite-segment term of the slowest mode at 128 readouts
        // per chain. Both measurements lie within their chi-square bounds, hence the ratio within the quotients.
        let measured = runs[0].measured / runs[1].measured, predicted = runs[0].predicted / runs[1].predicted
        #expect(predicted > 14 && predicted < 16.5, "theory ratio \(predicted)")
        #expect(measured > predicted * runs[0].bounds.lower / runs[1].bounds.upper
                && measured < predicted * runs[0].bounds.upper / runs[1].bounds.lower,
                "mean-square error ratio for 16× samples: \(measured), theory \(predicted)")
    }

    /// Inverse from β × sample covariance with the exact integrators (dense, eigenbasis) at N and 16N readouts. Theory:
    /// in the eigenbasis of A' the readout covariance entries have
    /// `Var(S_ij) = σ_i²σ_j²(1+δ_ij)(1+ρ_iρ_j)/((1−ρ_iρ_j)N)`, `σ_i² = 1/(βλ_i)`, `ρ_i = e^{−λ_iΔ}`;
    /// for independent readouts this is the `sqrt((n+1)/N)` rule. The estimate is `αβŜ`.
    @Test(arguments: [DeviceConfiguration.Integrator.exact, .eigenbasis])
    func covarianceConvergesToInverseAtTheoreticalRate(integrator: DeviceConfiguration.Integrator) throws {
        let n = 12
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 5, seed: 4)
        let reference = try LAPACK.inverseSPD(a.converted(to: Double.self))
        var runs: [(err2: Double, predicted: Double, bounds: (lower: Double, upper: Double))] = []
        for samples in [4096, 65536] {
            let config = try DeviceConfiguration(beta: 2, integrator: integrator, chains: 64, seed: 7)
            var device = ThermodynamicDevice<Float>(configuration: config)
            let p = try device.program(a)
            let interval = 2.0
            let result = try device.inverse(p, samples: samples, sampleInterval: interval)
            let err2 = pow((result.estimate.converted(to: Double.self) - reference).frobeniusNorm, 2)
            let weights = Theory.inverseErrorWeights(eigenvalues: p.eigenvalues, beta: config.beta, scale: p.scale, interval: interval,
                                                        total: result.settings.readoutsPerChain * result.settings.chains)
            let predicted = weights.reduce(0, +)
            let bounds = Theory.chiSquareBounds(dof: Theory.effectiveDOF(weights))
            #expect(err2 / predicted > bounds.lower && err2 / predicted < bounds.upper,
                    "N = \(samples): ‖error‖²/theory = \(err2 / predicted), bounds \(bounds)")
            // The batch-means error bar (8 groups, 7 dof per entry, many entries) estimates the same.
            let barRatio = pow(result.standardErrorFrobenius, 2) / predicted
            #expect(barRatio > 0.4 && barRatio < 2.5, "error bar² / theory = \(barRatio)")
            runs.append((err2, predicted, bounds))
        }
        // Error ∝ 1/sqrt(N): theory ratio of squared errors exactly 16 here; the measured ratio lies
        // within the quotient of the two chi-square bounds.
        let measured = runs[0].err2 / runs[1].err2, predicted = runs[0].predicted / runs[1].predicted
        #expect(abs(predicted - 16) < 0.01)
        #expect(measured > predicted * runs[0].bounds.lower / runs[1].bounds.upper
                && measured < predicted * runs[0].bounds.upper / runs[1].bounds.lower,
                "squared-error ratio for 16× samples: \(measured), theory \(predicted)")
    }
}
