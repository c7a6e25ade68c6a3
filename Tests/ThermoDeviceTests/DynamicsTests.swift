import Foundation
import Linalg
import Testing
import ThermoDevice

/// Transient and stationary behaviour of the integrators.
@Suite struct DynamicsTests {
    /// The chain mean relaxes as `⟨y_t⟩ = y* + e^{−A't}(y₀ − y*)` (exact integrators, dense and eigenbasis) and as
    /// `y* + (I − hA')^k (y₀ − y*)` (Euler–Maruyama, the recursion's own mean). Each coordinate's
    /// chain average has standard error `sqrt(Cov_t,ii / C)` with `Cov_t = β⁻¹A'⁻¹(I − e^{−2A't})`
    /// (EM: per mode `s²(1 − (1−λh)^{2k})`); 4.5σ on 24 coordinates leaves ≈ 2e-4 to chance.
    @Test(arguments: [DeviceConfiguration.Integrator.exact, .eigenbasis, .eulerMaruyama])
    func meanRelaxesExponentially(integrator: DeviceConfiguration.Integrator) throws {
        let n = 8, chains = 4096
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 5)
        let config = try DeviceConfiguration(timeStep: integrator.isExact ? 0.25 : 0.05, integrator: integrator, seed: 9)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let p = try device.program(a)
        let c: [Float] = BenchmarkProblems.randomVector(n, seed: 6).map { $0 * 0.5 }
        let chainsState = try device.makeChains(p, bias: Matrix(rows: 1, columns: n, storage: c), chains: chains,
                                                step: config.timeStep)
        let y0 = [Float](repeating: 2, count: n)
        chainsState.setState(y0)
        let ad = p.realized.converted(to: Double.self)
        let yStar = try LAPACK.solve(ad, c.map { Double($0) })
        let (lambda, q) = try LAPACK.symmetricEigen(ad)
        var taken = 0
        for t in [0.5, 2.0, 6.0] {
            let k = Int((t / config.timeStep).rounded())
            chainsState.step(k - taken)
            taken = k
            let h = config.timeStep
            // Mode-wise transient factor and variance.
            let decay = lambda.map { integrator.isExact ? exp(-$0 * h * Double(k)) : pow(1 - $0 * h, Double(k)) }
            let variance = lambda.map { l -> Double in
                integrator.isExact ? (1 - exp(-2 * l * h * Double(k))) / (config.beta * l)
                    : (1 - pow(1 - l * h, 2 * Double(k))) / (config.beta * l * (1 - l * h / 2))
            }
            let offset = (0..<n).map { Double(y0[$0]) - yStar[$0] }
            let offsetModes = BLAS.matvec(q, transpose: true, offset)
            let expected = zip(yStar, BLAS.matvec(q, (0..<n).map { decay[$0] * offsetModes[$0] })).map { $0 + $1 }
            let state = chainsState.state.converted(to: Double.self)
            for j in 0..<n {
                let mean = state.column(j).reduce(0, +) / Double(chains)
                let varJ = (0..<n).reduce(0.0) { $0 + q[j, $1] * q[j, $1] * variance[$1] }
                let z = (mean - expected[j]) / (varJ / Double(chains)).squareRoot()
                #expect(abs(z) < 4.5, "\(integrator) t = \(t), coordinate \(j): z = \(z)")
            }
        }
    }

    /// Exact and Euler–Maruyama integrators agree in distribution for small δt: covariance estimates
    /// at h = 0.05 and exact differ by no more than 4.5 × the combined statistical error
    /// (`Theory.covarianceErrorWeights`) plus EM's known bias `A⁻¹[(I − A'h/2)⁻¹ − I]` (≤ 2.5 % here).
    @Test func exactAndEulerMaruyamaAgreeForSmallSteps() throws {
        let n = 8, samples = 16384, interval = 2.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 8)
        var estimates: [Matrix<Double>] = []
        var predicted = 0.0
        var programmed: ProgrammedMatrix<Float>? = nil
        for (integrator, dt) in [(DeviceConfiguration.Integrator.exact, 2.0), (.eulerMaruyama, 0.05)] {
            let config = try DeviceConfiguration(timeStep: dt, integrator: integrator, seed: 21)
            var device = ThermodynamicDevice<Float>(configuration: config)
            let p = try device.program(a)
            programmed = p
            let r = try device.inverse(p, samples: samples, sampleInterval: interval)
            estimates.append(r.estimate.converted(to: Double.self))
            let f = pow(p.scale * config.beta, 2)
            predicted += Theory.covarianceErrorWeights(variances: p.eigenvalues.map { 1 / (config.beta * $0) },
                                                       rhos: p.eigenvalues.map { exp(-$0 * interval) },
                                                       total: r.settings.readoutsPerChain * r.settings.chains)
                .reduce(0, +) * f
        }
        let p = programmed!
        let h = 0.05
        let emBias = try Theory.function(p.realized.converted(to: Double.self)) { l in p.scale * (1 / (1 - l * h / 2) - 1) / l }
        let difference = (estimates[0] - estimates[1]).frobeniusNorm
        #expect(difference < 4.5 * predicted.squareRoot() + emBias.frobeniusNorm,
                "‖C_exact − C_EM‖ = \(difference), allowed \(4.5 * predicted.squareRoot()) + bias \(emBias.frobeniusNorm)")
    }

    /// The underdamped (inertial) dynamics has the same stationary law for x. Its semi-implicit EM
    /// discretisation has, per mode, the stationary covariance `P` of `(x, v)` solving the discrete
    /// Lyapunov equation `P = M P Mᵀ + Q` (M, Q from the update rule); `P_xx → 1/(βλ)` as h → 0.
    /// The test checks (1) the scheme's P_xx is within 5 % of 1/(βλ) (theory, h = 0.05), (2) the
    /// device's covariance estimate matches `αβ Q diag(P_xx) Qᵀ` within 4.5 × its batch-means error
    /// bar, and (3) the mean solves A x = b within 4.5 × its error bar.
    @Test func underdampedHasTheSameStationaryLaw() throws {
        let n = 8, m = 1.0, gamma = 1.0, h = 0.05
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 10)
        let b: [Float] = BenchmarkProblems.randomVector(n, seed: 10)
        let config = try DeviceConfiguration(timeStep: h, dynamics: .underdamped(mass: m, friction: gamma), seed: 31)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let p = try device.program(a)
        let (lambda, q) = try LAPACK.symmetricEigen(p.realized.converted(to: Double.self))
        let pxx = lambda.map { l -> Double in
            let w = l * h / m, g = gamma * h / m, s2 = 2 * gamma * h / config.beta / (m * m)
            let mm = [[1 - h * w, h * (1 - g)], [-w, 1 - g]]
            let qq = [[s2 * h * h, s2 * h], [s2 * h, s2]]
            var pp = [[0.0, 0.0], [0.0, 0.0]]
            for _ in 0..<20000 {   // contraction ≈ (1 − g) per step: 20000 steps converge fully
                var next = qq
                for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { for l2 in 0..<2 {
                    next[i][j] += mm[i][k] * pp[k][l2] * mm[j][l2]
                } } } }
                pp = next
            }
            return pp[0][0]
        }
        for (l, v) in zip(lambda, pxx) {
            #expect(abs(v * config.beta * l - 1) < 0.05, "scheme bias for λ = \(l): \(v * config.beta * l)")
        }
        var qd = q
        for j in 0..<n { for i in 0..<n { qd[i, j] *= pxx[j] * p.scale * config.beta } }
        let predictedCovariance = BLAS.matmul(qd, q, transposeB: true)
        let inv = try device.inverse(p, samples: 16384, sampleInterval: 2)
        let d = (inv.estimate.converted(to: Double.self) - predictedCovariance).frobeniusNorm
        #expect(d < 4.5 * inv.standardErrorFrobenius, "‖Ĉ − C_scheme‖ = \(d), error bar \(inv.standardErrorFrobenius)")
        let reference = try LAPACK.inverseSPD(a.converted(to: Double.self))
        #expect((predictedCovariance - reference).frobeniusNorm / reference.frobeniusNorm < 0.05)

        let solve = try device.solve(p, b, time: 16384, sampleInterval: 2)
        let exact = try LAPACK.solve(a.converted(to: Double.self), b.map { Double($0) })
        let e = zip(solve.solution, exact).map { Double($0.0) - $0.1 }
        let se = solve.standardError.map { Double($0) }
        #expect(BLAS.norm(e) < 4.5 * BLAS.norm(se), "‖x̂ − x*‖ = \(BLAS.norm(e)), error bar \(BLAS.norm(se))")
    }

    /// The device noise is standard normal: one EM step from 0 with a zero drift (a `MatrixFreeDrift`
    /// that adds nothing) gives `σ z` with `σ = sqrt(2h/β)`. For 10⁶ draws: mean within 5/sqrt(N),
    /// variance within 5 sqrt(2/N), fourth moment 3 within 5 sqrt(96/N), and the tail beyond 3
    /// within 5 binomial standard errors of 2Φ(−3) = 0.0026998.
    @Test func noiseIsStandardNormal() {
        let n = 10, chains = 100_000, h = 0.5, beta = 1.0
        let zero = MatrixFreeDrift<Float>(dimension: n) { _, _, _, _, _, _, _ in }
        let lc = LangevinChains<Float>(scheme: .eulerMaruyama(drift: zero), dimension: n, chains: chains,
                                       bias: Matrix(rows: 1, columns: n), timeStep: h, beta: beta, noiseStreams: 8, seed: 77)
        lc.step()
        let sigma = (2 * h / beta).squareRoot()
        let z = lc.state.storage.map { Double($0) / sigma }
        let N = Double(z.count)
        let mean = z.reduce(0, +) / N
        let m2 = z.reduce(0) { $0 + $1 * $1 } / N
        let m4 = z.reduce(0) { $0 + pow($1, 4) } / N
        let tail = Double(z.filter { abs($0) > 3 }.count) / N
        #expect(abs(mean) < 5 / N.squareRoot())
        #expect(abs(m2 - 1) < 5 * (2 / N).squareRoot())
        #expect(abs(m4 - 3) < 5 * (96 / N).squareRoot())
        #expect(abs(tail - 0.0026998) < 5 * (0.0026998 / N).squareRoot())
    }
}
