import Curvature
import Foundation
import Linalg
import Optimizers
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// Jacobi equilibration of the programmed factors (docs/device.md#equilibrated-programming): exact for ideal converters
/// (a congruence mapped back digitally), and at 8 bits it removes the extra damping that a diagonal spanning
/// orders of magnitude makes the PSD-preserving quantisation add.
@Suite struct EquilibrationTests {
    typealias Problem = ThermodynamicKFACTests.Problem
    static let layer = ThermodynamicKFACTests.layer

    /// A problem whose activation factor's diagonal spans two orders of magnitude (input columns scaled by
    /// 1 … 10, so `A_ii` by 1 … 100), like an activation factor with nearly dead inputs.
    static func spreadProblem(seed: UInt64, damping: Double = 1e-2) -> Problem {
        let p = Problem(nA: 12, nG: 6, rows: 48, damping: damping, seed: seed)
        let n = p.factors.activation.rows
        var a = p.factors.activation
        for i in 0..<n {
            for j in 0..<n {
                let si = pow(10, Double(i) / Double(n - 1)), sj = pow(10, Double(j) / Double(n - 1))
                a[i, j] *= si * sj
            }
        }
        return Problem(factors: KroneckerFactors(activation: a, gradient: p.factors.gradient), damping: p.damping,
                       gradient: p.gradient)
    }

    @Test("S M S maps back: S (S M S)⁻¹ S = M⁻¹, and (S M S) y = S b gives x = S y")
    func congruenceIsExact() throws {
        let p = Self.spreadProblem(seed: 3)
        var m = p.factors.activation
        m.addDiagonal(0.01)
        let e = DiagonalEquilibration(diagonalOf: m)
        let equilibrated = e.congruence(m)
        for i in 0..<m.rows { #expect(abs(equilibrated[i, i] - 1) < 1e-12) }
        let inverse = try LAPACK.inverseSPD(m)
        #expect(relativeError(e.congruence(try LAPACK.inverseSPD(equilibrated)), inverse) < 1e-10)
        var rng = Xoshiro256StarStar(seed: 4)
        let bRows: Matrix<Double> = rng.normalMatrix(rows: 3, columns: m.rows)
        let y = try LAPACK.solve(equilibrated, e.scaledRows(bRows).transposed()).transposed()
        let x = try LAPACK.solve(m, bRows.transposed()).transposed()
        #expect(relativeError(e.scaledRows(y), x) < 1e-10)
        #expect(relativeError(e.unscaledRows(e.scaledRows(bRows)), bRows) < 1e-14)
        // A diagonal entry that is not positive keeps scale 1 (the device refuses such a matrix itself).
        var bad = m
        bad[2, 2] = -1
        #expect(DiagonalEquilibration(diagonalOf: bad).scales[2] == 1)
    }

    /// Method 2 with ideal converters at β = 10⁸ is a deterministic solve (noise `sqrt(2/β)`): equilibrated or
    /// not, it equals digital K-FAC's update to 10⁻³ — at the cold first step and at warm-started later steps
    /// with a burn-in of one relaxation time, which a warm start in the wrong coordinates (off by `S`) would
    /// leave `e⁻¹` of the way from the solution.
    @Test func method2IsExactWithWarmStarts() throws {
        let p = Self.spreadProblem(seed: 5)
        let digital = try p.digital()
        var c = try ThermodynamicKFACConfiguration(method: .linearSystems, device: ThermodynamicKFACTests.device(beta: 1e8, seed: 5),
                                                   analogTime: .relaxationTimes(0.2), warmStart: true, burnIn: .relaxationTimes(25),
                                                   warmStartBurnIn: .relaxationTimes(1))
        c.equilibrate = true
        let s = try ThermodynamicFactorSolver<Double>(configuration: c)
        try s.refresh(layer: Self.layer, factors: p.factors, damping: p.damping)
        for step in 0..<3 {
            let u = try s.precondition(layer: Self.layer, gradient: p.gradient)
            #expect(relativeError(u, digital) < 1e-3, "step \(step)")
        }
        // The same after a checkpoint: the scales follow from the saved damped factors.
        let resumed = try ThermodynamicFactorSolver<Double>(configuration: c)
        try resumed.importState(s.exportState())
        let next = try s.precondition(layer: Self.layer, gradient: p.gradient)
        #expect(try resumed.precondition(layer: Self.layer, gradient: p.gradient) == next)
    }

    /// Method 1 with ideal converters: `S Ĉov S` converges to `M⁻¹` like `1/√N` — the mean error over 8 seeds
    /// falls by 4 (within [2.5, 6.4]) from N = 2048 to 32768, and is below 0.1 at 32768.
    @Test func method1ConvergesLikeOneOverRootN() throws {
        var errors: [Double] = []
        for n in [2048, 32768] {
            var sum = 0.0
            for seed: UInt64 in 1...8 {
                let p = Self.spreadProblem(seed: seed)
                var c = try ThermodynamicKFACConfiguration(method: .inversion, device: ThermodynamicKFACTests.device(seed: seed),
                                                           samples: n, sampleSpacing: .relaxationTimes(3))
                c.equilibrate = true
                sum += relativeError(try ThermodynamicKFACTests.update(p, c), try p.digital())
            }
            errors.append(sum / 8)
        }
        #expect(errors[0] / errors[1] > 2.5 && errors[0] / errors[1] < 6.4, "errors \(errors)")
        #expect(errors[1] < 0.1, "errors \(errors)")
    }

    /// At 8 bits with the conservative scheme, the diagonal shift is about `nΔ/4` with `Δ = max_i M_ii / 128`;
    /// relative to the mean diagonal that is ≈ 12·100/(4·128·28) ≈ 0.08 for this spread (max/mean ≈ 3.6 over
    /// the log-spaced diagonal … measured, not assumed) without equilibration and ≈ 12/(4·128) ≈ 0.02 with it.
    /// Checked: the shift falls at least 2.5-fold and the deterministic (β = 10⁸, Method 2) update error against
    /// digital K-FAC falls with it, on every one of 6 seeds.
    @Test func equilibrationCutsTheQuantisationShiftAndError() throws {
        for seed: UInt64 in 1...6 {
            let p = Self.spreadProblem(seed: seed, damping: 1e-3)
            let digital = try p.digital()
            var results: [(shift: Double, error: Double)] = []
            for equilibrate in [false, true] {
                var c = try ThermodynamicKFACConfiguration(method: .linearSystems,
                                                           device: ThermodynamicKFACTests.device(beta: 1e8, inputBits: 8, seed: seed),
                                                           analogTime: .relaxationTimes(0.2), warmStart: false,
                                                           burnIn: .relaxationTimes(25))
                c.equilibrate = equilibrate
                let s = try ThermodynamicFactorSolver<Double>(configuration: c)
                try s.refresh(layer: Self.layer, factors: p.factors, damping: p.damping)
                let u = try s.precondition(layer: Self.layer, gradient: p.gradient)
                results.append((try #require(s.metrics.extra["device_dac_diagonal_shift_max"]), relativeError(u, digital)))
            }
            #expect(results[1].shift * 2.5 < results[0].shift, "seed \(seed): shifts \(results.map(\.shift))")
            #expect(results[1].error < results[0].error, "seed \(seed): errors \(results.map(\.error))")
        }
    }

    @Test func rawFeedIsRefused() throws {
        var c = try ThermodynamicKFACConfiguration(feed: .raw)
        c.equilibrate = true
        #expect(throws: KFACError.self) { try c.validate() }
        do { try c.validate() } catch { #expect("\(error)".contains("tkfac.equilibrate")) }
    }
}
