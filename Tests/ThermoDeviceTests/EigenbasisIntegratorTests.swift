import Foundation
import Linalg
import Testing
import ThermoDevice

/// The eigenbasis integrator is the exact OU transition: its law from a start x₀, its stationary law and its
/// solve error match theory, and it agrees with the dense exact integrator and (as δt → 0) with Euler–Maruyama.
@Suite struct EigenbasisIntegratorTests {
    /// From `x₀` with inputs `c`, the state at time t is `N(y* + e^{−A't}(x₀ − y*), β⁻¹A'⁻¹(I − e^{−2A't}))`,
    /// `y* = A'⁻¹c`. 4096 chains, reached in one jump of t and in t/h steps of h: every coordinate's mean within
    /// 4.5 standard errors (24 coordinates per case: ≈ 2e-4 to chance), and ‖Ŝ − Cov_t‖²_F within the
    /// chi-square bounds of `Theory.covarianceErrorWeights` (independent chains: ρ = 0).
    @Test func transientLawFromAStartPoint() throws {
        let n = 8, chains = 4096
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 5)
        let config = try DeviceConfiguration(timeStep: 0.25, integrator: .eigenbasis, seed: 19)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let p = try device.program(a)
        let c: [Float] = BenchmarkProblems.randomVector(n, seed: 6).map { $0 * 0.5 }
        let ad = p.realized.converted(to: Double.self)
        let yStar = try LAPACK.solve(ad, c.map { Double($0) })
        let (lambda, q) = try LAPACK.symmetricEigen(ad)
        let x0 = [Float](repeating: 2, count: n)
        for (t, h) in [(0.5, 0.5), (3.0, 3.0), (3.0, 0.25)] {
            let lc = try device.makeChains(p, bias: Matrix(rows: 1, columns: n, storage: c), chains: chains, step: h)
            lc.setState(x0)
            lc.step(Int((t / h).rounded()))
            let offset = BLAS.matvec(q, transpose: true, (0..<n).map { Double(x0[$0]) - yStar[$0] })
            let mean = zip(yStar, BLAS.matvec(q, (0..<n).map { exp(-lambda[$0] * t) * offset[$0] })).map { $0 + $1 }
            let variances = lambda.map { -expm1(-2 * $0 * t) / (config.beta * $0) }
            var qv = q
            for j in 0..<n { for i in 0..<n { qv[i, j] *= variances[j] } }
            let covariance = BLAS.matmul(qv, q, transposeB: true)
            let x = lc.state.converted(to: Double.self)
            var sampleMean = [Double](repeating: 0, count: n)
            for r in 0..<chains { for j in 0..<n { sampleMean[j] += x[r, j] / Double(chains) } }
            for j in 0..<n {
                let z = (sampleMean[j] - mean[j]) / (covariance[j, j] / Double(chains)).squareRoot()
                #expect(abs(z) < 4.5, "t = \(t), h = \(h), coordinate \(j): z = \(z)")
            }
            var s = Matrix<Double>(rows: n, columns: n)
            for r in 0..<chains { for i in 0..<n { for j in 0..<n {
                s[i, j] += (x[r, i] - sampleMean[i]) * (x[r, j] - sampleMean[j]) / Double(chains - 1)
            } } }
            let weights = Theory.covarianceErrorWeights(variances: variances, rhos: [Double](repeating: 0, count: n), total: chains)
            let ratio = pow((s - covariance).frobeniusNorm, 2) / weights.reduce(0, +)
            let bounds = Theory.chiSquareBounds(dof: Theory.effectiveDOF(weights))
            #expect(ratio > bounds.lower && ratio < bounds.upper, "t = \(t), h = \(h): ‖Ŝ − Cov_t‖²/theory = \(ratio), \(bounds)")
        }
    }

    /// Stationary covariance estimates (`inverse`, 16384 readouts 2τ apart) of the eigenbasis and the dense exact
    /// integrator differ by a difference of two independent estimates of the same law: ‖ΔC‖² / (2 E‖δC‖²) within
    /// chi-square bounds. Euler–Maruyama converges to it as δt → 0: `C_EM − C_eig − bias(h)` (EM's stationary bias
    /// `αA'⁻¹[(I − A'h/2)⁻¹ − I]`) is within 4.5 × the combined error at h = 0.02 and at h = 2/3 (65536 readouts,
    /// error bars halved), where the plain difference is outside it (the comparison can see a δt bias).
    @Test func agreesWithDenseExactAndWithEulerMaruyamaAsTheStepShrinks() throws {
        let n = 8, interval = 2.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 8)
        func estimate(_ integrator: DeviceConfiguration.Integrator, _ dt: Double, seed: UInt64, samples: Int = 16384)
            throws -> (c: Matrix<Double>, predicted: Double, p: ProgrammedMatrix<Float>, h: Double) {
            let config = try DeviceConfiguration(timeStep: dt, integrator: integrator, seed: seed)
            var device = ThermodynamicDevice<Float>(configuration: config)
            let p = try device.program(a)
            let r = try device.inverse(p, samples: samples, sampleInterval: interval)
            let h = r.settings.step, k = Double(r.settings.stepsPerSample)
            let exact = integrator.isExact
            let variances = p.eigenvalues.map { l in 1 / (config.beta * l * (exact ? 1 : 1 - l * h / 2)) }
            let rhos = p.eigenvalues.map { l in exact ? exp(-l * interval) : pow(1 - l * h, k) }
            let weights = Theory.covarianceErrorWeights(variances: variances, rhos: rhos,
                                                        total: r.settings.readoutsPerChain * r.settings.chains)
            return (r.estimate.converted(to: Double.self), weights.reduce(0, +) * pow(p.scale * config.beta, 2), p, h)
        }
        let eig = try estimate(.eigenbasis, 1, seed: 21)
        let dense = try estimate(.exact, 1, seed: 22)
        let pairWeights = Theory.covarianceErrorWeights(variances: eig.p.eigenvalues.map { 1 / $0 },
                                                        rhos: eig.p.eigenvalues.map { exp(-$0 * interval) }, total: 16384)
        let bounds = Theory.chiSquareBounds(dof: Theory.effectiveDOF(pairWeights))
        let ratio = pow((eig.c - dense.c).frobeniusNorm, 2) / (eig.predicted + dense.predicted)
        #expect(ratio > bounds.lower && ratio < bounds.upper, "‖C_eig − C_dense‖²/theory = \(ratio), \(bounds)")

        let eigLong = try estimate(.eigenbasis, 1, seed: 24, samples: 65536)
        for (dt, expectBias) in [(0.02, false), (0.8, true)] {
            let samples = expectBias ? 65536 : 16384
            let em = try estimate(.eulerMaruyama, dt, seed: 23, samples: samples)
            let base = expectBias ? eigLong : eig
            let p = em.p, h = em.h
            let bias = try Theory.function(p.realized.converted(to: Double.self)) { l in p.scale * (1 / (1 - l * h / 2) - 1) / l }
            let allowed = 4.5 * (base.predicted + em.predicted).squareRoot()
            let corrected = (em.c - base.c - bias).frobeniusNorm
            #expect(corrected < allowed, "h = \(h): ‖C_EM − C_eig − bias‖ = \(corrected), allowed \(allowed)")
            if expectBias {
                let d = (em.c - base.c).frobeniusNorm
                #expect(d > allowed, "h = \(h): ‖C_EM − C_eig‖ = \(d) should exceed the statistical \(allowed)")
            }
        }
    }

    /// Solve: 8 devices at T = 8192τ, readouts 1τ apart. Theory for the exact transition: mode λ has stationary
    /// variance `1/(βλ)` and readout correlation `e^{−λΔ}`, so `E‖x̂ − A⁻¹b‖² = (α/γ)² Σ_λ Var_AR(1)/C` and the
    /// measured sum lies within its chi-square bounds (the ideal-ADC readout sums are drawn from their exact law in
    /// closed form, so this checks that law). A 20-bit ADC over ±50 (chains stepped, readouts rotated to the device
    /// basis and quantised one by one) agrees with it within the two runs' standard errors.
    @Test func solveErrorMatchesExactTheoryAndTheADCPathAgrees() throws {
        let n = 16, time = 8192.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 10, seed: 3)
        let b: [Float] = BenchmarkProblems.randomVector(n, seed: 3)
        let exact = try LAPACK.solve(a.converted(to: Double.self), b.map { Double($0) })
        let gain = 1 / b.reduce(0.0) { max($0, abs(Double($1))) }
        var sumSq = 0.0, predicted = 0.0, weights: [Double] = []
        for r in 0..<8 {
            let config = try DeviceConfiguration(integrator: .eigenbasis, chains: 64, seed: UInt64(200 + r))
            var device = ThermodynamicDevice<Float>(configuration: config)
            let p = try device.program(a)
            let result = try device.solve(p, b, time: time, sampleInterval: 1)
            sumSq += zip(result.solution, exact).reduce(0.0) { $0 + pow(Double($1.0) - $1.1, 2) }
            let s = result.settings
            for lambda in p.eigenvalues {
                let v = pow(p.scale / gain, 2) * Theory.varianceOfMean(s2: 1 / (config.beta * lambda), rho: exp(-lambda * s.sampleInterval),
                                                                       readouts: s.readoutsPerChain) / Double(s.chains)
                predicted += v
                weights.append(v)
            }
            if r == 0 {
                let adc = DeviceConfiguration.Converter(bits: 20, range: 50)
                let quantised = try DeviceConfiguration(integrator: .eigenbasis, outputConverter: adc, chains: 64, seed: UInt64(200 + r))
                var twin = ThermodynamicDevice<Float>(configuration: quantised)
                let q = try twin.solve(try twin.program(a), b, time: time, sampleInterval: 1)
                // The ideal-ADC path draws its readout sums in closed form (`modalReadoutSums`), the quantising
                // path steps and rotates every readout: independent draws of the same law, so per coordinate the
                // difference is within 5 standard errors of the difference (16 coordinates: ≈ 1e-5 to chance).
                for j in 0..<n {
                    let d = Double(q.solution[j]) - Double(result.solution[j])
                    let se = (pow(Double(q.standardError[j]), 2) + pow(Double(result.standardError[j]), 2)).squareRoot()
                    #expect(abs(d) < 5 * se, "ADC path vs modal path, coordinate \(j): \(d), standard error \(se)")
                }
            }
        }
        let bounds = Theory.chiSquareBounds(dof: Theory.effectiveDOF(weights))
        #expect(sumSq / predicted > bounds.lower && sumSq / predicted < bounds.upper,
                "‖e‖²/theory = \(sumSq / predicted), allowed \(bounds)")
    }
}
