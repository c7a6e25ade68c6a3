import Foundation
import Linalg
import Testing
import ThermoDevice

/// The coupling DAC's full-scale range (`DeviceConfiguration.couplingDACRange(for:)`): a fixed range against
/// per-matrix auto-ranging (absmax), on matrices shaped like K-FAC factors.
@Suite struct DACRangeTests {
    /// A K-FAC-like activation factor `A = (1/m) Σ ā āᵀ + λI` of width `n`: inputs with a common positive mean
    /// (pixel intensities in [0, 0.5]) plus noise, and the bias column 1. One eigenvalue ≈ `‖E ā‖²` dominates,
    /// so after scaling to `λ_max ≤ 1` every entry is `≈ 1/n`.
    static func activationFactor(n: Int, rows: Int = 512, damping: Double = 0.03, seed: UInt64) -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: seed, stream: 21)
        let mean = (0..<(n - 1)).map { _ in 0.5 * rng.nextUniform() }
        var x = Matrix<Double>(rows: rows, columns: n)
        for r in 0..<rows {
            for j in 0..<(n - 1) { x[r, j] = mean[j] + 0.3 * rng.nextNormal() }
            x[r, n - 1] = 1
        }
        var a = Matrix<Double>(rows: n, columns: n)
        BLAS.syrk(x, transpose: true, alpha: 1 / Double(rows), into: &a)
        a.addDiagonal(damping)
        return a
    }

    static func device(bits: Int, range: Double?, scheme: QuantizationScheme) throws -> ThermodynamicDevice<Double> {
        ThermodynamicDevice(configuration: try DeviceConfiguration(inputConverter: .init(bits: bits, range: range),
                                                                   matrixQuantization: scheme, seed: 3))
    }

    /// Auto-ranged, the DAC's grid is `Δ = absmax / 2^(bits−1)` with absmax the largest diagonal entry of the
    /// scaled PSD matrix, and the off-diagonal rounding error is uniform on `[−Δ/2, Δ/2]`: RMS `Δ/√12`
    /// relative to absmax at every width. The test matrix `BBᵀ/4 + 0.1 I` (`B` 64 × 4 normal) has
    /// off-diagonals of spread ≈ 0.5 against absmax ≈ 3, so even at 4 bits (Δ ≈ 0.4) the entries cover many
    /// steps and the uniform model holds (Widrow: the error's deviation from uniform is `~e^{−2π²σ²/Δ²}`).
    /// 2016 off-diagonal errors estimate the RMS to ≈ 1 % (sd of a mean square of uniforms: `sqrt(0.8/N)/2`);
    /// the band ±6 % is 6 standard deviations.
    @Test(arguments: [4, 6, 8, 12])
    func autoRangedErrorFollowsTheUniformRoundingTheory(bits: Int) throws {
        var rng = Xoshiro256StarStar(seed: UInt64(bits), stream: 5)
        let b: Matrix<Double> = rng.normalMatrix(rows: 64, columns: 4)
        var m = Matrix<Double>(rows: 64, columns: 64)
        BLAS.syrk(b, alpha: 0.25, into: &m)
        m.addDiagonal(0.1)
        let p = try Self.device(bits: bits, range: nil, scheme: .conservative).program(m)
        let stats = try #require(p.dacStatistics)
        var largestDiagonal = 0.0
        for i in 0..<64 { largestDiagonal = max(largestDiagonal, p.nominal[i, i]) }
        #expect(stats.range == largestDiagonal)            // absmax of a PSD matrix is on the diagonal
        #expect(stats.step == largestDiagonal / Double(1 << (bits - 1)))
        // The RMS relative to absmax: (Δ/absmax)/√12 = 2^{-(bits-1)}/√12.
        var squared = 0.0
        for i in 0..<64 { for j in 0..<i { let e = Double(p.realized[i, j]) - p.nominal[i, j]; squared += e * e } }
        let rmsOverAbsmax = (squared / Double(64 * 63 / 2)).squareRoot() / largestDiagonal
        let theory = 1 / (Double(1 << (bits - 1)) * 12.0.squareRoot())
        #expect(abs(rmsOverAbsmax / theory - 1) < 0.06, "bits \(bits): RMS/absmax \(rmsOverAbsmax), theory \(theory)")
        #expect(abs(stats.offDiagonalRMSErrorOverStep * 12.0.squareRoot() - 1) < 0.06)
        // Zeroed entries are the off-diagonals within Δ/2 of 0: for spread ≈ 0.5 a few % at 8 bits (≈ 30 % at 4).
        if bits >= 8 { #expect(stats.zeroedOffDiagonalFraction < 0.05) }
    }

    /// The diagnosis behind auto-ranging. A 300-wide activation factor scaled to `λ_max ≤ 1` has entries
    /// ≈ 1/n ≈ 0.003 < Δ/2 = 1/256 of a fixed ±1 8-bit DAC: (almost) every off-diagonal rounds to zero, and the
    /// conservative correction `r_i = Σ_j |err_ij|` = the row's absolute sum replaces the matrix by ≈ diag(r) —
    /// a diagonal shift of ≈ `n` times the mean diagonal. Auto-ranged, no off-diagonal is zeroed, the mean
    /// shift is `E r_i ≈ (n − 1) E|err| = (n − 1) Δ/4` (uniform error, plus at most Δ from rounding the
    /// diagonal up). That shift is still large against a small damping (measured here: the inverse's error
    /// 0.99 fixed vs 0.91 auto), so the Gershgorin-sized correction is the next limit, not the range.
    /// Both schemes of definiteness: conservative programming never fails and `Q(M) ⪰ M` (λ_min cannot drop).
    @Test func fixedRangeZeroesWideFactorsAndAutoRangeDoesNot() throws {
        let n = 300
        let a = Self.activationFactor(n: n, seed: 1)
        let fixed = try Self.device(bits: 8, range: 1, scheme: .conservative).program(a)
        let auto = try Self.device(bits: 8, range: nil, scheme: .conservative).program(a)
        let fs = try #require(fixed.dacStatistics), s = try #require(auto.dacStatistics)
        // Measured: 0.785 fixed (the rest are the entries of large-mean pixels), 0.105 auto (pixels with
        // mean ≈ 0 make genuinely small couplings).
        #expect(fs.zeroedOffDiagonalFraction > 0.5)
        #expect(fs.diagonalShiftOverMeanDiagonal > 50)
        #expect(s.zeroedOffDiagonalFraction < 0.2)
        // The programmed matrix itself: fixed ≈ diag(row sums), ‖·‖_F ≈ √n against ‖M‖_F ≈ λ_max = 1;
        // auto off by the diagonal shift ≈ √n · nΔ/4 with Δ = absmax/128 ≈ 1e-4: two orders of magnitude apart.
        #expect(fixed.programmingError > 1)
        #expect(auto.programmingError < 0.05 * fixed.programmingError)

        var meanDiagonal = 0.0
        for i in 0..<n { meanDiagonal += auto.nominal[i, i] / Double(n) }
        let predictedShift = Double(n - 1) * s.step / 4 / meanDiagonal
        #expect(s.diagonalShiftOverMeanDiagonal > predictedShift * 0.9)
        #expect(s.diagonalShiftOverMeanDiagonal < (predictedShift + s.step / meanDiagonal) * 1.1)

        // Q(M) ⪰ M: by Weyl, λ_min(Q(M)) ≥ λ_min(M) (round-off allowance 1e-12 of λ_max = 1).
        let nominalMin = try LAPACK.symmetricEigen(auto.nominal).values[0]
        #expect(auto.lambdaMin >= nominalMin - 1e-12)
        #expect(fixed.lambdaMin >= nominalMin - 1e-12)

        // The quantised matrix's inverse against the nominal inverse (test oracle, digital): fixed ≈ useless
        // (≈ diag(r)⁻¹), auto better but still far off because of the conservative shift (see above).
        func inverseError(_ p: ProgrammedMatrix<Double>) throws -> Double {
            let exact = try LAPACK.inverseSPD(p.nominal)
            let realized = try LAPACK.inverseSPD(p.realized)
            return (realized - exact).frobeniusNorm / exact.frobeniusNorm
        }
        let fixedError = try inverseError(fixed), autoError = try inverseError(auto)
        #expect(fixedError > 0.9, "fixed range inverse error \(fixedError)")
        #expect(autoError < fixedError - 0.03, "auto range inverse error \(autoError) vs fixed \(fixedError)")
    }

    /// Conservative quantisation stays PSD-preserving with auto-ranging at every width on the K-FAC-like
    /// factor (damped, so PD): programming succeeds and λ_min never drops below the nominal one.
    @Test(arguments: [4, 6, 8, 12, 16])
    func conservativeAutoRangedStaysPositiveDefinite(bits: Int) throws {
        let a = Self.activationFactor(n: 120, rows: 64, damping: 1e-3, seed: UInt64(bits))
        let p = try Self.device(bits: bits, range: nil, scheme: .conservative).program(a)
        let nominalMin = try LAPACK.symmetricEigen(p.nominal).values[0]
        #expect(p.lambdaMin >= nominalMin - 1e-12)
        #expect(p.lambdaMin > 0)
    }

    /// Cost: an auto-ranged DAC sends its full-scale value with the couplings (one 32-bit word per matrix).
    @Test func autoRangeSendsItsScale() throws {
        let a = Self.activationFactor(n: 20, rows: 64, seed: 2)
        let fixed = try Self.device(bits: 8, range: 1, scheme: .conservative).program(a)
        let auto = try Self.device(bits: 8, range: nil, scheme: .conservative).program(a)
        let rate = try DeviceConfiguration().transferRate
        #expect(abs((auto.programmingCost.dacTransferSeconds - fixed.programmingCost.dacTransferSeconds) * rate - 32) < 1e-6)
    }
}
