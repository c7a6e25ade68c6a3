import Foundation
import Linalg
import Testing
import ThermoDevice

/// DAC quantisation of the couplings (docs/device.md#conservative-quantisation) and ADC quantisation of readouts.
@Suite struct QuantizationTests {
    static func smallestEigenvalue(_ m: Matrix<Double>) throws -> Double { try LAPACK.symmetricEigen(m).values[0] }

    /// Conservative scheme: `Q(M) − M` is diagonally dominant with a non-negative diagonal, hence PSD
    /// (Gershgorin), so `Q(M) ⪰ M ≻ 0` at every resolution, even for κ = 1000 where the rounding error
    /// (≈ Δ/√12 per entry) dwarfs λ_min = 1e-3. Plain rounding of the same matrix at 4 bits is indefinite.
    @Test(arguments: [2, 4, 6, 8, 12])
    func conservativeQuantisationPreservesDefiniteness(bits: Int) throws {
        let m: Matrix<Double> = try BenchmarkProblems.randomSPD(24, condition: 1000, seed: UInt64(bits))
        var rng = Xoshiro256StarStar(seed: 1)
        for rounding in [DeviceConfiguration.Converter.Rounding.nearest, .stochastic] {
            let q = UniformQuantizer(bits: bits, range: 1, rounding: rounding)
            let conservative = q.quantize(symmetric: m, scheme: .conservative, rng: &rng)
            // Round-off of the eigen-solver on a matrix of norm ~n·Δ: allow 1e-12.
            #expect(try Self.smallestEigenvalue(conservative - m) > -1e-12)
            #expect(try Self.smallestEigenvalue(conservative) > 0)
        }
        if bits == 4 {
            let plain = UniformQuantizer(bits: 4, range: 1).quantize(symmetric: m, scheme: .plainRounding, rng: &rng)
            #expect(try Self.smallestEigenvalue(plain) < 0)
        }
    }

    /// A constructed case: M = [[0.3, 0.4], [0.4, 0.6]] (det 0.02 > 0) at 3 bits over ±1 (Δ = 0.25)
    /// rounds to [[0.25, 0.5], [0.5, 0.5]] (det −0.125): indefinite. The device refuses to program
    /// it under plain rounding and accepts it under the conservative scheme (Gershgorin bound 1 keeps
    /// the scaling at exactly 1, so the programmed values are M itself).
    @Test func plainRoundingCanBreakDefinitenessAndTheDeviceRefuses() throws {
        let m = Matrix<Double>([[0.3, 0.4], [0.4, 0.6]])
        var rng = Xoshiro256StarStar(seed: 1)
        let plain = UniformQuantizer(bits: 3, range: 1).quantize(symmetric: m, scheme: .plainRounding, rng: &rng)
        #expect(plain == Matrix([[0.25, 0.5], [0.5, 0.5]]))
        #expect(try Self.smallestEigenvalue(plain) < 0)

        func configuration(_ scheme: QuantizationScheme) throws -> DeviceConfiguration {
            try DeviceConfiguration(spectralBound: .gershgorin, inputConverter: .init(bits: 3, range: 1),
                                    matrixQuantization: scheme)
        }
        let plainDevice = ThermodynamicDevice<Double>(configuration: try configuration(.plainRounding))
        #expect {
            _ = try plainDevice.program(m)
        } throws: { error in
            guard case .notPositiveDefinite = error as? ThermoDeviceError else { return false }
            return "\(error)".contains("conservative")
        }
        let safeDevice = ThermodynamicDevice<Double>(configuration: try configuration(.conservative))
        let p = try safeDevice.program(m)
        #expect(p.scale == 1)
        #expect(try Self.smallestEigenvalue(p.realized - m) >= -1e-15)
        #expect(p.lambdaMin > 0)
    }

    /// Output quantisation adds the rounding error's variance Δ²/12 to every readout variance
    /// (Sheppard's correction; accurate when Δ ≲ σ): with identical noise (same seed) the quantised
    /// and ideal covariance estimates differ on the diagonal by αβΔ²/12 on average. Statistical
    /// scatter of that average (cross term 2xe, N = 16384 correlated readouts, 8 coordinates) is
    /// ≈ 5 % of it, so ±25 % is a 5σ band.
    @Test(arguments: [DeviceConfiguration.Integrator.exact, .eigenbasis])
    func adcQuantisationAddsSheppardVariance(integrator: DeviceConfiguration.Integrator) throws {
        let n = 8, bits = 4, range = 8.0
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: 4, seed: 12)
        func estimate(_ adc: DeviceConfiguration.Converter) throws -> (Matrix<Double>, Double) {
            let config = try DeviceConfiguration(integrator: integrator, outputConverter: adc, seed: 5)
            var device = ThermodynamicDevice<Float>(configuration: config)
            let p = try device.program(a)
            return (try device.inverse(p, samples: 16384, sampleInterval: 2).estimate.converted(to: Double.self), p.scale)
        }
        let (ideal, alpha) = try estimate(.ideal)
        let (quantised, _) = try estimate(.init(bits: bits, range: range))
        let step = range / Double(1 << (bits - 1))
        let shift = (0..<n).reduce(0.0) { $0 + quantised[$1, $1] - ideal[$1, $1] } / Double(n)
        let expected = alpha * step * step / 12
        #expect(abs(shift / expected - 1) < 0.25, "diagonal shift \(shift), Sheppard \(expected)")
    }
}
