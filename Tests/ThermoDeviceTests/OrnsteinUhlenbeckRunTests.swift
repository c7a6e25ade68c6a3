import Foundation
import Linalg
import Testing
import ThermoDevice

/// `OrnsteinUhlenbeckRun` (the exact law of one scalar OU mode over a device run) against the closed-form
/// double sums it accumulates recursively, and against a fine Euler–Maruyama simulation (δt → 0).
@Suite("OrnsteinUhlenbeckRun")
struct OrnsteinUhlenbeckRunTests {
    /// `v(s) = κ(1 − e^{−2μs})/μ` (`2κs` at μ = 0) and `φ(s) = (1 − e^{−μs})/μ` (with expm1: at μ = 1e-7 the
    /// plain difference would lose 9 digits).
    static func variance(_ mu: Double, _ s: Double, _ kappa: Double) -> Double { mu == 0 ? 2 * kappa * s : -kappa * expm1(-2 * mu * s) / mu }
    static func gain(_ mu: Double, _ s: Double) -> Double { mu == 0 ? s : -expm1(-mu * s) / mu }

    @Test("Coefficients equal the closed-form double sums, for decaying, vanishing and growing modes",
          arguments: [0.7, 1e-7, 0.0, -0.15])
    func closedForm(mu: Double) throws {
        let (t, k, h, td, kappa) = (5.0, 7, 0.3, 0.8, 0.05)
        let run = try OrnsteinUhlenbeckRun(analogTime: t, readouts: k, readoutSpacing: h, delay: td, noise: kappa)
        let m = run.mode(rate: mu)
        let times = (0..<k).map { t - Double(k - 1 - $0) * h }
        let kd = Double(k)
        let meanStart = times.map { exp(-mu * $0) }.reduce(0, +) / kd
        let meanInput = times.map { Self.gain(mu, $0) }.reduce(0, +) / kd
        var varA = 0.0
        for a in times { for b in times { varA += exp(-mu * abs(a - b)) * Self.variance(mu, min(a, b), kappa) } }
        varA /= kd * kd
        let cov = times.map { exp(-mu * (t - $0)) * Self.variance(mu, $0, kappa) }.reduce(0, +) / kd
        let varX = Self.variance(mu, t, kappa)
        // Recursion vs direct sums of O(1) terms: round-off ~1e-15; 1e-12 relative leaves a wide margin.
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(abs(b), 1e-300) }
        #expect(close(m.averageFromStart, meanStart) && close(m.averageFromInput, meanInput))
        #expect(close(m.stateFromStart, exp(-mu * t)) && close(m.stateFromInput, Self.gain(mu, t)))
        #expect(close(m.varianceAverage, varA) && close(m.covariance, cov) && close(m.varianceState, varX))
        // The Cholesky coefficients reproduce the joint covariance.
        #expect(close(m.averageNoise * m.averageNoise, varA))
        #expect(close(m.averageNoise * m.stateNoiseShared, cov))
        #expect(close(m.stateNoiseShared * m.stateNoiseShared + m.stateNoiseOwn * m.stateNoiseOwn, varX))
        #expect(close(m.delayDecay, exp(-mu * td)) && close(m.delayInput, Self.gain(mu, td))
                && close(m.delayNoise * m.delayNoise, Self.variance(mu, td, kappa)))
    }

    @Test("One readout: the average is the state (shared noise, no own noise)")
    func singleReadout() throws {
        let m = try OrnsteinUhlenbeckRun(analogTime: 3, noise: 0.2).mode(rate: 0.4)
        #expect(m.averageNoise == m.stateNoiseShared && m.stateNoiseOwn == 0)
        #expect(m.averageFromStart == m.stateFromStart && m.averageFromInput == m.stateFromInput)
        #expect(abs(m.averageNoise * m.averageNoise - 0.2 * (1 - exp(-2.4)) / 0.4) < 1e-15)
    }

    @Test("Agrees in distribution with Euler–Maruyama at δt = 1e-3: mean, variances and Cov(average, state)")
    func eulerMaruyamaLimit() throws {
        let (mu, c, x0, t, k, h, kappa) = (1.3, 0.4, -1.0, 2.0, 5, 0.25, 0.1)
        let run = try OrnsteinUhlenbeckRun(analogTime: t, readouts: k, readoutSpacing: h, noise: kappa)
        let m = run.mode(rate: mu)
        let dt = 1e-3, perReadout = Int((h / dt).rounded()), first = Int((run.firstReadout / dt).rounded())
        let paths = 20_000
        var rng = Xoshiro256StarStar(seed: 77)
        var sa = 0.0, sx = 0.0, saa = 0.0, sxx = 0.0, sax = 0.0
        let sigma = (2 * kappa * dt).squareRoot()
        for _ in 0..<paths {
            var x = x0, sum = 0.0
            for _ in 0..<first { x += -dt * (mu * x - c) + sigma * rng.nextNormal() }
            sum += x
            for _ in 1..<k {
                for _ in 0..<perReadout { x += -dt * (mu * x - c) + sigma * rng.nextNormal() }
                sum += x
            }
            let a = sum / Double(k)
            sa += a; sx += x; saa += a * a; sxx += x * x; sax += a * x
        }
        let n = Double(paths)
        let (ma, mx) = (sa / n, sx / n)
        let (va, vx, cax) = (saa / n - ma * ma, sxx / n - mx * mx, sax / n - ma * mx)
        let meanA = m.averageFromStart * x0 + m.averageFromInput * c, meanX = m.stateFromStart * x0 + m.stateFromInput * c
        // 4.5 standard errors (Gaussian: se(mean) = sqrt(v/n), se(variance) = v sqrt(2/n),
        // se(cov) = sqrt((v_a v_x + c²)/n)); Euler–Maruyama's own bias is O(μ δt) ≈ 1e-3 relative, far below.
        #expect(abs(ma - meanA) < 4.5 * (m.varianceAverage / n).squareRoot())
        #expect(abs(mx - meanX) < 4.5 * (m.varianceState / n).squareRoot())
        #expect(abs(va - m.varianceAverage) < 4.5 * m.varianceAverage * (2 / n).squareRoot())
        #expect(abs(vx - m.varianceState) < 4.5 * m.varianceState * (2 / n).squareRoot())
        #expect(abs(cax - m.covariance) < 4.5 * ((m.varianceAverage * m.varianceState + m.covariance * m.covariance) / n).squareRoot())
        // The averaging window matters: the average's variance is well below the state's (not vacuous).
        #expect(m.varianceAverage < 0.8 * m.varianceState)
    }

    @Test("Invalid schedules are refused with the field named")
    func validation() {
        #expect(throws: ThermoDeviceError.self) { try OrnsteinUhlenbeckRun(analogTime: -1, noise: 1) }
        #expect(throws: ThermoDeviceError.self) { try OrnsteinUhlenbeckRun(analogTime: 1, readouts: 5, readoutSpacing: 0.5, noise: 1) }
        #expect(throws: ThermoDeviceError.self) { try OrnsteinUhlenbeckRun(analogTime: 1, readouts: 2, readoutSpacing: 0, noise: 1) }
        #expect(throws: ThermoDeviceError.self) { try OrnsteinUhlenbeckRun(analogTime: 1, noise: 0) }
    }
}
