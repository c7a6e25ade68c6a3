import Curvature
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// The exact TNGD integrator (eigenbasis of the realised `F`, `OrnsteinUhlenbeckRun` per mode) against closed
/// forms built here from the dense damped GGN: the Jacobian Gram against the dense Jacobian, the noise-free
/// readout against `e^{−Ft}`, the mean and covariance at time `t` and the joint law of the averaged readout
/// and the state against theory, and agreement in distribution with Euler–Maruyama as δt → 0.
@Suite("ExactNaturalGradient")
struct ExactNaturalGradientTests {
    typealias Base = ThermodynamicNaturalGradientTests

    /// Conv → ReLU → Conv → Flatten → Linear → LayerNorm (random γ, β) → Tanh → Linear: the transposes of
    /// a non-first convolution and of LayerNorm in the Gram.
    static func deepModel(seed: UInt64) -> Sequential<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        let conv1 = Conv2d<Double>(input: ImageShape(height: 4, width: 4, channels: 1), outChannels: 2, kernelSize: 3, padding: 1, rng: &rng)
        let conv2 = Conv2d<Double>(input: conv1.outputShape, outChannels: 3, kernelSize: 3, padding: 1, rng: &rng)
        let norm = LayerNorm<Double>(6)
        norm.weight.value = rng.normalMatrix(rows: 1, columns: 6)
        norm.bias.value = rng.normalMatrix(rows: 1, columns: 6)
        return Sequential(inputFeatures: 16, [conv1, ReLU<Double>(), conv2, Flatten<Double>(), Linear<Double>(48, 6, rng: &rng),
                                              norm, Tanh<Double>(), Linear<Double>(6, 3, rng: &rng)])
    }

    @Test("V Vᵀ from the layer Gram rules equals the dense (Cᵀ J)(Cᵀ J)ᵀ", arguments: [0, 1])
    func jacobianGram(model which: Int) throws {
        let model = which == 0 ? Base.convolutionalModel(seed: 3) : Self.deepModel(seed: 4)
        var rng = Xoshiro256StarStar(seed: 5)
        let (b, q) = (3, 2)
        let x: Matrix<Double> = rng.normalMatrix(rows: b, columns: 16)
        let j = ModelJacobian.dense(model, input: x)
        let lin = try LinearizedModel(model, input: x)
        let d = lin.outputDimension
        let seeds: Matrix<Double> = rng.normalMatrix(rows: b * q, columns: d)
        var v = Matrix<Double>(rows: b * q, columns: lin.parameterCount)
        for r in 0..<(b * q) { for c in 0..<d { for k in 0..<lin.parameterCount { v[r, k] += seeds[r, c] * j[(r / q) * d + c, k] } } }
        let dense = BLAS.matmul(v, v, transposeB: true)
        let gram = try #require(lin.jacobianGram(seeds: seeds, perExample: q))
        // Sums of ≤ 100 products of O(1) terms in Double: 1e-11 is far above round-off.
        #expect(relativeError(gram, dense) < 1e-11)
    }

    static func exactConfiguration(t: Double, damping: Double, delay: Double = 0, averaging: Double = 0,
                                   device: DeviceConfiguration) throws -> ThermodynamicNaturalGradientConfiguration {
        try ThermodynamicNaturalGradientConfiguration(analogTime: t, damping: damping, delay: delay, averagingTime: averaging,
                                                      integrator: .exact, device: device)
    }

    @Test("Noise-free: the readout is e^{−Ft}(g̃₀ − x*) + x*, the window average the mean over the readout times, the state the mean at t + t_d")
    func noiseFreeMean() throws {
        let p = try Base.Problem(damping: 0.2)
        let g0 = [Double](repeating: 0.1, count: p.f.dimension)
        let single = NaturalGradientDevice<Double>(configuration: try Self.exactConfiguration(t: 3, damping: 0.2, device: Base.noiseless()))
        single.restore(state: g0, runs: 0)
        let r = try single.run(p.f, gradient: p.gradient)
        #expect(r.integrator == .exact && r.rank > 0 && r.fallback == nil)
        let ou = Base.mean(try Base.propagator(p.dampedGGN) { exp(-$0 * 3) }, start: g0, solution: p.naturalGradient)
        #expect(relativeError(r.direction, ou) < 1e-10)
        #expect(relativeError(single.state!, ou) < 1e-10)
        // λ_max is reported exactly.
        let values = try LAPACK.symmetricEigen(p.dampedGGN).values
        #expect(abs(r.lambdaMaxBound - values.last!) < 1e-10 * values.last!)

        let windowed = NaturalGradientDevice<Double>(configuration: try Self.exactConfiguration(
            t: 2, damping: 0.2, delay: 0.5, averaging: 0.5, device: Base.noiseless(timeStep: 0.1)))
        windowed.restore(state: g0, runs: 0)
        let w = try windowed.run(p.f, gradient: p.gradient)
        var average = [Double](repeating: 0, count: g0.count)
        for s in [1.6, 1.7, 1.8, 1.9, 2.0] {
            BLAS.axpy(0.2, Base.mean(try Base.propagator(p.dampedGGN) { exp(-$0 * s) }, start: g0, solution: p.naturalGradient), &average)
        }
        #expect(relativeError(w.direction, average) < 1e-10)
        #expect(w.cost.readouts == 5)
        let carried = Base.mean(try Base.propagator(p.dampedGGN) { exp(-$0 * 2.5) }, start: g0, solution: p.naturalGradient)
        #expect(relativeError(windowed.state!, carried) < 1e-10)
    }

    /// Sample mean and covariance of rows, and cross-covariance of two sample sets.
    static func moments(_ a: [[Double]], _ b: [[Double]]) -> (meanA: [Double], meanB: [Double], covA: Matrix<Double>,
                                                            covB: Matrix<Double>, cross: Matrix<Double>) {
        let n = a[0].count, runs = Double(a.count)
        var ma = [Double](repeating: 0, count: n), mb = ma
        for (x, y) in zip(a, b) { BLAS.axpy(1 / runs, x, &ma); BLAS.axpy(1 / runs, y, &mb) }
        var ca = Matrix<Double>(rows: n, columns: n), cb = ca, cx = ca
        for (x, y) in zip(a, b) {
            for i in 0..<n {
                for j in 0..<n {
                    ca[i, j] += (x[i] - ma[i]) * (x[j] - ma[j]) / (runs - 1)
                    cb[i, j] += (y[i] - mb[i]) * (y[j] - mb[j]) / (runs - 1)
                    cx[i, j] += (x[i] - ma[i]) * (y[j] - mb[j]) / (runs - 1)
                }
            }
        }
        return (ma, mb, ca, cb, cx)
    }

    /// Largest |z| of sample (cross-)covariance entries: `Var(Ŝ_ij) = (Σ^a_ii Σ^b_jj + C_ij C_ji)/R` (Gaussian).
    static func worstCovarianceZ(_ sample: Matrix<Double>, _ theory: Matrix<Double>, a: Matrix<Double>, b: Matrix<Double>,
                                 runs: Int) -> Double {
        var worst = 0.0
        for i in 0..<theory.rows {
            for j in 0..<theory.columns {
                let se = ((a[i, i] * b[j, j] + theory[i, j] * theory[j, i]) / Double(runs)).squareRoot()
                worst = max(worst, abs(sample[i, j] - theory[i, j]) / se)
            }
        }
        return worst
    }

    @Test("κ0 = 0.05, averaged readouts: mean and covariance of the state at t (closed form) and the joint law of the average with it",
          arguments: [false, true])
    func jointLaw(throughADC: Bool) throws {
        let p = try Base.Problem(damping: 0.5)
        let (t, h, kappa, window) = (2.0, 0.25, 0.05, 1.0)
        // A 24-bit ADC over ±50 (steps 6e-6, far below the noise ~0.1) takes the readout-by-readout exact path.
        let adc: DeviceConfiguration.Converter = throughADC ? .init(bits: 24, range: 50) : .ideal
        let device = try DeviceConfiguration(beta: 1 / kappa, timeStep: h, outputConverter: adc, seed: 31)
        let dev = NaturalGradientDevice<Double>(configuration: try Self.exactConfiguration(t: t, damping: 0.5, averaging: window, device: device))
        let g0 = p.gradient.map { -$0 }
        let runs = 2500
        var readouts: [[Double]] = [], states: [[Double]] = []
        for r in 0..<runs {
            dev.restore(state: g0, runs: UInt64(r * 5 + 1))
            readouts.append(try dev.run(p.f, gradient: p.gradient).direction)
            states.append(dev.state!)
        }
        let m = Self.moments(readouts, states)
        // Theory: each eigenvalue ν of F is a scalar mode of the same schedule (k = 1 τ / 0.25 τ = 4 readouts, the
        // last at t).
        let run = try OrnsteinUhlenbeckRun(analogTime: t, readouts: 4, readoutSpacing: h, noise: kappa)
        func spectral(_ f: (OrnsteinUhlenbeckRun.Mode) -> Double) throws -> Matrix<Double> {
            try Base.propagator(p.dampedGGN) { f(run.mode(rate: $0)) }
        }
        func apply(_ a: Matrix<Double>, _ x: [Double]) -> [Double] { BLAS.matvec(a, x) }
        var meanA = apply(try spectral(\.averageFromStart), g0)
        BLAS.axpy(1, apply(try spectral(\.averageFromInput), p.gradient), &meanA)
        // The state at t: e^{−Ft}(g̃₀ − x*) + x* and κ0 F⁻¹(I − e^{−2Ft}), written here from the definition.
        let meanX = Base.mean(try Base.propagator(p.dampedGGN) { exp(-$0 * t) }, start: g0, solution: p.naturalGradient)
        let covX = try Base.propagator(p.dampedGGN) { kappa * (1 - exp(-2 * $0 * t)) / $0 }
        let covA = try spectral(\.varianceAverage), cross = try spectral(\.covariance)
        let n = p.f.dimension
        var worstMean = 0.0
        for i in 0..<n {
            worstMean = max(worstMean, abs(m.meanA[i] - meanA[i]) / (covA[i, i] / Double(runs)).squareRoot(),
                            abs(m.meanB[i] - meanX[i]) / (covX[i, i] / Double(runs)).squareRoot())
        }
        // 2·31 means, 3·961 covariance entries (correlated): P(any |z| > 5) < 3e-3 even if all were independent.
        #expect(worstMean < 5, "mean z \(worstMean)")
        #expect(Self.worstCovarianceZ(m.covB, covX, a: covX, b: covX, runs: runs) < 5)
        #expect(Self.worstCovarianceZ(m.covA, covA, a: covA, b: covA, runs: runs) < 5)
        #expect(Self.worstCovarianceZ(m.cross, cross, a: covA, b: covX, runs: runs) < 5)
        // Not vacuous: the average is markedly less noisy than the state, and correlated with it.
        #expect(covA.trace < 0.9 * covX.trace && cross.trace > 0.5 * covA.trace)
    }

    @Test("Agrees in distribution with Euler–Maruyama at δt = 0.01: per-coordinate means and variances (two-sample)")
    func eulerMaruyamaLimit() throws {
        let p = try Base.Problem(damping: 0.5)
        let (t, kappa, runs) = (1.0, 0.05, 1200)
        let g0 = p.gradient.map { -$0 }
        var samples: [[[Double]]] = []
        for integrator in ThermodynamicNaturalGradientConfiguration.Integrator.allCases {
            let device = try DeviceConfiguration(beta: 1 / kappa, timeStep: 0.01, seed: 41)
            let config = try ThermodynamicNaturalGradientConfiguration(analogTime: t, damping: 0.5, delay: 0.3, integrator: integrator,
                                                                       device: device)
            let dev = NaturalGradientDevice<Double>(configuration: config)
            var out: [[Double]] = []
            for r in 0..<runs {
                dev.restore(state: g0, runs: UInt64(r + 1))
                let readout = try dev.run(p.f, gradient: p.gradient)
                #expect(readout.integrator == integrator)
                out.append(readout.direction + dev.state!)
            }
            samples.append(out)
        }
        let e = Self.moments(samples[0], samples[0]), m = Self.moments(samples[1], samples[1])
        var worstMean = 0.0, worstVariance = 0.0
        for i in 0..<e.meanA.count {
            let (ve, vm) = (e.covA[i, i], m.covA[i, i])
            worstMean = max(worstMean, abs(e.meanA[i] - m.meanA[i]) / ((ve + vm) / Double(runs)).squareRoot())
            // se of a sample variance ≈ v sqrt(2/R); Euler–Maruyama's variance bias is ≈ hν/2 ≤ 1e-2 · λ_max.
            worstVariance = max(worstVariance, abs(ve - vm) / ((ve * ve + vm * vm) * 2 / Double(runs)).squareRoot())
        }
        // 62 readout and state coordinates each: P(max |z| > 4.5) ≈ 62 · 6.8e-6 ≈ 4e-4 per statistic.
        #expect(worstMean < 4.5 && worstVariance < 4.5, "mean z \(worstMean), variance z \(worstVariance)")
    }

    @Test("Mismatched arrays (non-symmetric drift) fall back to Euler–Maruyama and say so; quantised symmetric arrays run exactly")
    func nonSymmetricFallback() throws {
        let p = try Base.Problem(damping: 0.5)
        let mismatched = try Base.programmedReadout(p, mismatch: 1e-3, analogTime: 5)
        #expect(mismatched.integrator == .eulerMaruyama && mismatched.fallback?.contains("not symmetric") == true)
        let quantised = try Base.programmedReadout(p, dac: .init(bits: 8, range: 1), analogTime: 5)
        #expect(quantised.integrator == .exact && quantised.fallback == nil && quantised.rank > 0)
    }
}
