import Foundation
import Linalg
import Testing
import ThermoDevice

/// Batched solves with warm starts, the lag-autocovariance exponential, and the timing model.
@Suite struct ProtocolTests {
    /// Column-by-column solves (TK-FAC Method 2): each column agrees with LAPACK within 5.5 of its own
    /// standard errors (21 chains per column, so t-distributed with 20 dof: P(|t| > 5.5) ≈ 2e-5, times
    /// 48 coordinates). A warm start at the answer with zero burn-in is unbiased (same check); a
    /// warm start far away with zero burn-in leaves the bias `A'⁻¹(I − e^{−A'T})(x₀ − x*)/T`,
    /// far outside the error bars.
    @Test(arguments: [DeviceConfiguration.Integrator.eulerMaruyama, .eigenbasis])
    func batchedSolveWithWarmStart(integrator: DeviceConfiguration.Integrator) throws {
        let n = 16, m = 3
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 10, seed: 15)
        var rng = Xoshiro256StarStar(seed: 16)
        let b: Matrix<Float> = rng.normalMatrix(rows: n, columns: m)
        let exact = try LAPACK.solve(a.converted(to: Double.self), b.converted(to: Double.self))
        var device = ThermodynamicDevice<Float>(configuration: try DeviceConfiguration(timeStep: 0.5, integrator: integrator, seed: 3))
        let p = try device.program(a)
        func maxZ(_ r: BatchedSolveResult<Float>) -> Double {
            var z = 0.0
            for j in 0..<n { for k in 0..<m {
                z = max(z, abs(Double(r.solutions[j, k]) - exact[j, k]) / Double(r.standardErrors[j, k]))
            } }
            return z
        }
        let cold = try device.solve(p, rightHandSides: b, time: 4096)
        #expect(cold.settings.chains == 21)
        #expect(maxZ(cold) < 5.5)
        let warm = try device.solve(p, rightHandSides: b, time: 4096, burnIn: 0, warmStart: exact.converted(to: Float.self))
        #expect(maxZ(warm) < 5.5)
        #expect(warm.cost.equilibrationSeconds == 0)
        var far = exact
        far.scale(by: 50)
        let biased = try device.solve(p, rightHandSides: b, time: 256, burnIn: 0, warmStart: far.converted(to: Float.self))
        #expect(maxZ(biased) > 10)
        // Cost of m sequential solves: m × (burn-in + sampling) device time.
        #expect(abs(cold.cost.equilibrationSeconds - Double(m) * cold.settings.burnIn * 1e-6) < 1e-12)
    }

    /// `e^{−As}` from the lag covariance (exact integrators, dense and eigenbasis): agrees with the eigendecomposition value
    /// within 4.5 × its batch-means error bar, and that bar is small (< 10 % of ‖e^{−As}‖).
    @Test(arguments: [DeviceConfiguration.Integrator.exact, .eigenbasis])
    func exponentialFromLagAutocovariance(integrator: DeviceConfiguration.Integrator) throws {
        let n = 6, s = 1.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 3, seed: 17)
        var device = ThermodynamicDevice<Float>(configuration: try DeviceConfiguration(integrator: integrator, seed: 4))
        let p = try device.program(a)
        let (exp, lagCov) = try device.exponential(p, lag: s, samples: 32768)
        let reference = try Theory.function(a.converted(to: Double.self)) { Foundation.exp(-$0 * s) }
        let d = (exp.estimate.converted(to: Double.self) - reference).frobeniusNorm
        #expect(d < 4.5 * exp.standardErrorFrobenius, "‖Ê − e^{−As}‖ = \(d), bar \(exp.standardErrorFrobenius)")
        #expect(exp.relativeErrorBar < 0.1)
        let lagReference = try Theory.function(a.converted(to: Double.self)) { Foundation.exp(-$0 * s) / $0 }
        #expect((lagCov.converted(to: Double.self) - lagReference).frobeniusNorm / lagReference.frobeniusNorm < 0.15)
    }

    /// The cost record, term by term: DAC = (bits × values + 32 for the input's gain γ) / rate (the fixed-range
    /// DAC sends no scale word for the couplings); programming = couplings × 10 ns;
    /// equilibration = burn-in × τ; sampling = readouts × interval × τ; ADC = readouts × n × bits / rate.
    @Test func timingModelTerms() throws {
        let n = 10, tau = 2e-6, rate = 1e9
        let config = try DeviceConfiguration(timeStep: 0.5, inputConverter: .init(bits: 8), outputConverter: .init(bits: 12, range: 20),
                                             tau: tau, transferRate: rate, chains: 8, errorBarGroups: 2)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 5, seed: 1)
        let r = try device.solve(a, BenchmarkProblems.randomVector(n, seed: 1), time: 800, sampleInterval: 2, burnIn: 30)
        let couplings = Double(n * (n + 1) / 2)
        #expect(abs(r.cost.dacTransferSeconds - ((couplings + Double(n)) * 8 + 32) / rate) < 1e-15)
        #expect(abs(r.cost.programmingSeconds - couplings * 10e-9) < 1e-15)
        #expect(abs(r.cost.equilibrationSeconds - 30 * tau) < 1e-15)
        #expect(r.cost.readouts == 400)
        #expect(abs(r.cost.samplingSeconds - 400 * 2 * tau) < 1e-12)
        #expect(abs(r.cost.adcReadoutSeconds - 400 * Double(n) * 12 / rate) < 1e-15)
        #expect(abs(r.cost.deviceSeconds - (r.cost.dacTransferSeconds + r.cost.programmingSeconds + r.cost.equilibrationSeconds
                                           + r.cost.samplingSeconds + r.cost.adcReadoutSeconds)) < 1e-15)
        #expect(r.cost.wallSeconds > 0)
    }
}
