import Foundation
import Experiments
import Testing

/// `experiment mitigation`'s arms: the right mitigations per resolution, and bad settings refused by name.
@Suite struct MitigationExperimentTests {
    @Test func armsCoverEveryMitigationPerResolution() throws {
        var e = MitigationExperiment()
        e.inputBits = [4]
        e.outputBits = [4, 6]
        e.ensemble = 3
        let names = try e.arms().map(\.name)
        #expect(names == ["K-FAC (digital)",
                          "TK-FAC out 4b", "TK-FAC out 4b dither", "TK-FAC out 4b ×3", "TK-FAC out 4b dither ×3",
                          "TK-FAC out 6b", "TK-FAC out 6b dither", "TK-FAC out 6b ×3", "TK-FAC out 6b dither ×3",
                          "TK-FAC in 4b cons.", "TK-FAC in 4b spectral", "TK-FAC in 4b cons. stoch. ×3",
                          "TK-FAC out 16b (reference)"])
        // Each arm's printed settings carry its mitigation.
        let settings = try e.arms().map(\.settings)
        #expect(settings[2].contains("subtractiveDither") && settings[3].contains("ensemble of 3"))
        #expect(settings[10].contains("spectralShift") && settings[11].contains("(stochastic)"))
    }

    @Test func badSettingsAreRefused() {
        var e = MitigationExperiment()
        e.ensemble = 1
        #expect(throws: ExperimentError.self) { try e.validate() }
        e.ensemble = 4
        e.outputBits = [0]
        #expect { try e.validate() } throws: { "\($0)".contains("bits") }
    }
}

/// `experiment methods-width`: the log-log interpolation, the equal-cost comparison, and a small run whose
/// Method 1 error falls with the target error (`√((n+1)/N)`, N ∝ 1/ε²) and Method 2's with the analog time.
@Suite struct MethodsWidthExperimentTests {
    typealias Point = MethodsWidthExperiment.Point

    static func point(_ n: Int, _ m: Int, time: Double, error: Double) -> Point {
        Point(width: n, method: m, budget: 0, deviceSecondsPerStep: time, energyJoulesPerStep: 2 * time, updateError: error,
              digitalFlopsPerStep: 0, wallSeconds: 0)
    }

    @Test func equalCostComparisonInterpolatesLogLog() {
        // M1: error ∝ time^{-1/2} through (1, 0.4) and (100, 0.04); M2: constant 0.1 from 10 to 1000.
        let points = [Self.point(8, 1, time: 1, error: 0.4), Self.point(8, 1, time: 100, error: 0.04),
                      Self.point(8, 2, time: 10, error: 0.1), Self.point(8, 2, time: 1000, error: 0.1)]
        let c = MethodsWidthExperiment.compare(points)
        let time = c.first { $0.axis == "device time" }!
        // Overlap [10, 100]: compared at √1000 ≈ 31.6, where M1 = 0.4 · 31.6^{-1/2} ≈ 0.0711.
        #expect(abs(time.at - 1000.0.squareRoot()) < 1e-9)
        #expect(abs(time.method1Error! - 0.4 / pow(1000.0.squareRoot(), 0.5)) < 1e-9 && abs(time.method2Error! - 0.1) < 1e-12)
        #expect(time.winner == "Method 1")
        let apart = MethodsWidthExperiment.compare([Self.point(8, 1, time: 1, error: 0.4), Self.point(8, 2, time: 10, error: 0.1)])
        #expect(apart.allSatisfy { $0.winner == "no overlap" })
    }

    @Test func smallRunFollowsTheBudgets() throws {
        var e = MethodsWidthExperiment()
        e.widths = [40]
        e.targetErrors = [1, 0.25]
        e.analogTimes = [0.25, 4]
        let points = try e.run()
        let m1 = points.filter { $0.method == 1 }, m2 = points.filter { $0.method == 2 }
        #expect(points.allSatisfy { $0.updateError.isFinite && $0.deviceSecondsPerStep > 0 && $0.energyJoulesPerStep > 0 })
        // 16× the readouts (ε 1 → 0.25): the error falls ≈ 4× (≥ 2× allowed: the minimum of 128 readouts and
        // correlated slow modes flatten the cheap end); Method 2 at 16× the time: lower error too.
        #expect(m1[0].updateError / m1[1].updateError > 2, "\(m1)")
        #expect(m1[1].deviceSecondsPerStep > m1[0].deviceSecondsPerStep && m2[1].updateError < m2[0].updateError, "\(m2)")
        e.widths = [1]
        #expect(throws: ExperimentError.self) { try e.validate() }
    }
}
