import Foundation
import Linalg
import Testing
import ThermoDevice

/// The readout rule `N = ⌈(n+1)/ε² · (1+ρ)/(1−ρ)⌉`, `ρ = e^{−2s}` (docs/device.md#how-many-samples): its
/// arithmetic, and that a device inversion with that many readouts meets the target error.
@Suite("Covariance sampling rule")
struct CovarianceSamplingTests {
    @Test func countScalesAsOrderOverErrorSquared() {
        let rule = CovarianceSampling(targetRelativeError: 0.2, minimumSamples: 2)
        let inflation = CovarianceSampling.correlationInflation(spacingRelaxationTimes: 1)
        #expect(abs(inflation - (1 + exp(-2.0)) / (1 - exp(-2.0))) < 1e-12)
        for n in [10, 100, 1000] {
            let exact = Double(n + 1) / 0.04 * inflation
            #expect(rule.samples(order: n) == Int(exact.rounded(.up)), "n = \(n)")
            // Half the error: four times the readouts (up to the ceiling).
            let half = CovarianceSampling(targetRelativeError: 0.1, minimumSamples: 2).samples(order: n)
            #expect(abs(Double(half) / Double(rule.samples(order: n)) - 4) < 4.0 / Double(rule.samples(order: n)) + 1e-9)
            // The count reaches the target it was derived for.
            #expect(rule.relativeError(order: n, samples: rule.samples(order: n)) <= 0.2)
        }
        // Narrow factors stop at the minimum; closer readouts need more of them (→ 1/s as s → 0).
        #expect(CovarianceSampling.standard.samples(order: 3) == CovarianceSampling.standard.minimumSamples)
        #expect(rule.samples(order: 100, spacingRelaxationTimes: 0.25) > rule.samples(order: 100, spacingRelaxationTimes: 1))
        #expect(abs(CovarianceSampling.correlationInflation(spacingRelaxationTimes: 1e-4) * 1e-4 - 1) < 1e-3)
    }

    @Test func invalidRulesAreRefusedByName() {
        for (rule, field) in [(CovarianceSampling(targetRelativeError: 0), "targetRelativeError"),
                              (CovarianceSampling(targetRelativeError: .nan), "targetRelativeError"),
                              (CovarianceSampling(targetRelativeError: 0.5, spacingRelaxationTimes: 0), "spacingRelaxationTimes"),
                              (CovarianceSampling(targetRelativeError: 0.5, minimumSamples: 1), "minimumSamples")] {
            #expect {
                try rule.validate()
            } throws: { error in
                guard case let .invalidParameter(name, _, _)? = error as? ThermoDeviceError else { return false }
                return name == field
            }
        }
    }

    /// A device inversion with the derived count: the theoretical squared error (the per-entry variances of
    /// `Theory.covarianceErrorWeights` at the spacing used) lies below `ε² ‖A⁻¹‖_F²` (the rule is an upper bound:
    /// `(tr C)² ≤ n ‖C‖_F²`, and every product of correlations `ρ_iρ_j ≤ ρ_min²`), and the measured error lies within
    /// the chi-square bounds of that theory, hence below `ε √upper`.
    @Test(arguments: [0.3, 0.15])
    func derivedCountMeetsTheTargetError(target: Double) throws {
        let n = 24
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 10, seed: 12)
        let reference = try LAPACK.inverseSPD(a.converted(to: Double.self))
        let config = try DeviceConfiguration(beta: 2, integrator: .eigenbasis, chains: 64, seed: 3)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let p = try device.program(a)
        let rule = CovarianceSampling(targetRelativeError: target)
        let samples = rule.samples(order: n)
        let interval = rule.spacingRelaxationTimes * p.relaxationTime
        let result = try device.inverse(p, samples: samples, sampleInterval: interval)
        let err2 = pow((result.estimate.converted(to: Double.self) - reference).frobeniusNorm, 2)
        let weights = Theory.inverseErrorWeights(eigenvalues: p.eigenvalues, beta: config.beta, scale: p.scale, interval: interval,
                                                    total: result.settings.readoutsPerChain * result.settings.chains)
        let predicted = weights.reduce(0, +)
        let norm2 = pow(reference.frobeniusNorm, 2)
        #expect(predicted <= target * target * norm2, "theory \(sqrt(predicted / norm2)) above the target \(target)")
        let bounds = Theory.chiSquareBounds(dof: Theory.effectiveDOF(weights))
        #expect(err2 / predicted > bounds.lower && err2 / predicted < bounds.upper, "‖error‖²/theory = \(err2 / predicted), bounds \(bounds)")
        #expect(sqrt(err2 / norm2) < target * sqrt(bounds.upper), "relative error \(sqrt(err2 / norm2)) for target \(target)")
    }
}
