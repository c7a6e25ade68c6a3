import Foundation
import Linalg
import Testing
import ThermoDevice

/// Error mitigation in the device (docs/device.md#error-mitigation): the spectral-shift quantisation scheme and
/// the subtractively dithered ADC, each against the theory that motivates it.
@Suite struct MitigationTests {
    static func smallestEigenvalue(_ m: Matrix<Double>) throws -> Double { try LAPACK.symmetricEigen(m).values[0] }

    /// A dense activation-like factor: the Gram matrix `XᵀX/m + 0.01 I` of `m` rows with entries `N(0.5, 1)`
    /// (non-negative-mean activations make every coupling large), normalised to absmax 1 (the auto-ranged DAC).
    static func denseFactor(_ n: Int, rows: Int, seed: UInt64) -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: seed, stream: 3)
        var x: Matrix<Double> = rng.normalMatrix(rows: rows, columns: n)
        x.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] += 0.5 } }
        var a = Matrix<Double>(rows: n, columns: n)
        BLAS.syrk(x, transpose: true, alpha: 1 / Double(rows), into: &a)
        a.symmetrizeFromLower()
        a.addDiagonal(0.01)
        a.scale(by: 1 / a.maxAbs)
        return a
    }

    /// `Q(M) ⪰ M` with probability ≥ 1 − 10⁻⁹ per draw (matrix Bernstein), so over 4 × 3 draws no failure is
    /// allowed; the mean diagonal shift is at most the worst-case bound (`σ² = nΔ²/4`) plus the round-up (< Δ);
    /// on a wide dense factor it is well below the Gershgorin row sums (≈ nΔ/4 for nearest rounding): the
    /// bound grows like `Δ√(n log(n/δ))`, the row sums like `nΔ`, and at n = 400 the predicted ratio
    /// (σ² ≈ nΔ²/6) is ≈ 0.62; require < 0.8.
    @Test(arguments: [4, 6, 8])
    func spectralShiftPreservesDefinitenessWithASmallerShift(bits: Int) throws {
        let n = 400
        let m = Self.denseFactor(n, rows: 800, seed: UInt64(bits))
        let q = UniformQuantizer(bits: bits, range: 1)
        let d = q.step
        let worst = UniformQuantizer.spectralShift(order: n, maximumRowVariance: Double(n) * d * d / 4, largestError: d)
        for seed: UInt64 in 1...4 {
            var rng = Xoshiro256StarStar(seed: seed)
            let s = q.quantize(symmetric: m, scheme: .spectralShift, rng: &rng)
            let c = q.quantize(symmetric: m, scheme: .conservative, rng: &rng)
            let e = s - m
            #expect(try Self.smallestEigenvalue(e) > -1e-12, "bits \(bits), seed \(seed): Q(M) − M indefinite")
            let shift = (0..<n).reduce(0.0) { $0 + s[$1, $1] - m[$1, $1] } / Double(n)
            let gershgorin = (0..<n).reduce(0.0) { $0 + c[$1, $1] - m[$1, $1] } / Double(n)
            #expect(shift <= worst + d, "bits \(bits): mean shift \(shift / d)Δ above the bound \(worst / d)Δ")
            #expect(shift < 0.8 * gershgorin, "bits \(bits): spectral shift \(shift / d)Δ vs Gershgorin \(gershgorin / d)Δ")
        }
    }

    /// Nearest rounding of `M = (1 − cΔ)I + cΔ 11ᵀ` (c = 0.3) rounds every coupling down by 0.3Δ: the error
    /// `−0.3Δ(11ᵀ − I)` has `λ_min = −0.3Δ(n − 1)`, a worst case for any bound that assumes random signs. The
    /// spectral-shift scheme rounds stochastically (zero-mean errors whatever `M`), so it still holds; a narrow
    /// matrix (n = 6) takes the Gershgorin row sums, which are deterministic.
    @Test(arguments: [6, 200])
    func spectralShiftHoldsWhenNearestRoundingErrorsAllHaveOneSign(n: Int) throws {
        let q = UniformQuantizer(bits: 6, range: 1)
        let c = 0.3 * q.step
        var m = Matrix<Double>(rows: n, columns: n)
        for i in 0..<n { for j in 0..<n { m[i, j] = i == j ? 1 : c } }
        var rng = Xoshiro256StarStar(seed: 9)
        let plain = q.quantize(symmetric: m, scheme: .plainRounding, rng: &rng)
        #expect(try Self.smallestEigenvalue(plain - m) < -0.29 * q.step * Double(n - 1))
        for _ in 0..<5 {
            #expect(try Self.smallestEigenvalue(q.quantize(symmetric: m, scheme: .spectralShift, rng: &rng) - m) > -1e-12)
        }
    }

    /// Subtractive dither: a constant `x` read `N` times has mean error `N(0, Δ²/(12N))` per coordinate, so the
    /// error falls as `1/√N`; without dither every readout rounds the same way and the error stays. A nearly
    /// noiseless device (β = 10¹²) solving a well-conditioned system with a 4-bit ADC over a fixed ±8 (Δ = 1 in
    /// device units): ‖δx‖² / ((α/γ)² n Δ²/(12N)) is chi-square with n dof; 16× the readouts cut the dithered
    /// RMS error ≈ 4×, the plain one not at all.
    @Test func ditheredADCAveragesOut() throws {
        let n = 12, bits = 4, range = 8.0
        let a: Matrix<Double> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 21)
        let b: [Double] = BenchmarkProblems.randomVector(n, seed: 21)
        let exact = try LAPACK.solve(a, b)
        let gain = 1 / b.reduce(0.0) { max($0, abs($1)) }
        func error(_ rounding: DeviceConfiguration.Converter.Rounding, readouts: Int) throws -> (Double, Double) {
            let config = try DeviceConfiguration(beta: 1e12, timeStep: 0.5, integrator: .eigenbasis,
                                                 outputConverter: .init(bits: bits, range: range, rounding: rounding),
                                                 chains: 16, errorBarGroups: 4, seed: 8)
            var device = ThermodynamicDevice<Double>(configuration: config)
            let p = try device.program(a)
            let r = try device.solve(p, b, time: Double(readouts), sampleInterval: 1, burnIn: 40 * p.relaxationTime)
            let step = range / Double(1 << (bits - 1))
            let expected = pow(p.scale / gain, 2) * Double(n) * step * step / (12 * Double(readouts))
            return (zip(r.solution, exact).reduce(0.0) { $0 + pow($1.0 - $1.1, 2) }, expected)
        }
        let bounds = Theory.chiSquareBounds(dof: Double(n))
        var dithered: [Double] = []
        for readouts in [256, 4096] {
            let (e, expected) = try error(.subtractiveDither, readouts: readouts)
            #expect(e / expected > bounds.lower && e / expected < bounds.upper,
                    "N = \(readouts): ‖δx‖² / (n(α/γ)²Δ²/12N) = \(e / expected), bounds \(bounds)")
            dithered.append(e)
        }
        let plain = try [256, 4096].map { try error(.nearest, readouts: $0).0 }
        // Dithered: the mean-square error ratio is 16 × (χ²_12 ratio): 16 × [0.26, 3.9] at 3.5σ each side.
        #expect(dithered[0] / dithered[1] > 4, "dithered mean-square error ratio \(dithered[0] / dithered[1]) for 16× readouts")
        #expect(plain[0] / plain[1] < 2, "plain rounding should not average out: ratio \(plain[0] / plain[1])")
        #expect(plain[1] > 10 * dithered[1], "at 4096 readouts dither should win by far: \(plain[1]) vs \(dithered[1])")
    }

    /// The dithered covariance is `Cov(x) + (Δ²/12) I` exactly, and the device subtracts that: with the same noise
    /// (same seed) the dithered and ideal estimates agree on the diagonal on average, where plain 4-bit rounding
    /// adds Sheppard's αβΔ²/12 (QuantizationTests). The scatter of the corrected mean diagonal difference
    /// (cross term 2xu and u² − Δ²/12 over N = 16384 correlated readouts, 8 coordinates) is ≈ 3 % of αβΔ²/12:
    /// ±20 % is a > 5σ band.
    @Test func ditheredCovarianceIsCorrectedExactly() throws {
        let n = 8, bits = 4, range = 8.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 12)
        func estimate(_ adc: DeviceConfiguration.Converter) throws -> (Matrix<Double>, Double) {
            let config = try DeviceConfiguration(integrator: .eigenbasis, outputConverter: adc, seed: 5)
            var device = ThermodynamicDevice<Float>(configuration: config)
            let p = try device.program(a)
            return (try device.inverse(p, samples: 16384, sampleInterval: 2).estimate.converted(to: Double.self), p.scale)
        }
        let (ideal, alpha) = try estimate(.ideal)
        let (dithered, _) = try estimate(.init(bits: bits, range: range, rounding: .subtractiveDither))
        let step = range / Double(1 << (bits - 1))
        let shift = (0..<n).reduce(0.0) { $0 + dithered[$1, $1] - ideal[$1, $1] } / Double(n)
        let sheppard = alpha * step * step / 12
        #expect(abs(shift / sheppard) < 0.2, "corrected diagonal shift \(shift) vs Sheppard's \(sheppard)")
    }

    /// Bad values are refused with the field and the fix.
    @Test func aDACCannotSubtractADither() {
        #expect {
            _ = try DeviceConfiguration(inputConverter: .init(bits: 8, rounding: .subtractiveDither))
        } throws: { error in
            guard case let .invalidParameter(name, _, requirement) = error as? ThermoDeviceError else { return false }
            return name == "inputConverter" && requirement.contains("stochastic")
        }
    }
}
