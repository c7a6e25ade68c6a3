import Curvature
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// The error-mitigation knobs of TK-FAC and TNGD (docs/device.md#error-mitigation) against their theory:
/// an ensemble of `K` devices with independent errors cuts the mean-square error by `K`; a dithered ADC makes
/// averaged readouts converge; bad values are refused naming the field.
@Suite struct MitigationKnobTests {
    typealias Problem = ThermodynamicKFACTests.Problem

    /// Mean and standard error of the mean of `xs`.
    static func meanAndError(_ xs: [Double]) -> (mean: Double, error: Double) {
        let n = Double(xs.count), m = xs.reduce(0, +) / n
        let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        return (m, (v / n).squareRoot())
    }

    /// The mean-square error of single devices over that of `k`-device ensembles is `k` within 3.5 standard errors
    /// (delta method on the two means) and above `k/2`.
    static func expectEnsembleRatio(single: [Double], ensemble: [Double], k: Int, label: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        let (m1, s1) = meanAndError(single), (mk, sk) = meanAndError(ensemble)
        let ratio = m1 / mk
        let se = ratio * ((s1 / m1) * (s1 / m1) + (sk / mk) * (sk / mk)).squareRoot()
        #expect(abs(ratio - Double(k)) < 3.5 * se && ratio > Double(k) / 2,
                "\(label): mean-square error ratio \(ratio) ± \(se) for an ensemble of \(k)", sourceLocation: sourceLocation)
    }

    /// `K` independent members: the ensemble's update error has `1/K` of a single device's mean square (every
    /// per-device error — mismatch pattern, sampling noise — is independent and zero-mean to first order; the
    /// O(ε²) mismatch bias is ~(0.05·κ)² ≈ 1e-2 of it here). The ratio of the two means over 12 seeds is
    /// checked against K within 3.5 standard errors (delta method from the seeds' spread) and must exceed K/2.
    @Test(arguments: [ThermodynamicKFACConfiguration.Method.inversion, .linearSystems])
    func tkfacEnsembleCutsTheMeanSquareErrorByK(method: ThermodynamicKFACConfiguration.Method) throws {
        let k = 4
        var single: [Double] = [], ensemble: [Double] = []
        for seed: UInt64 in 1...12 {
            let p = Problem(seed: seed)
            let digital = try p.digital()
            for members in [1, k] {
                let device = try ThermodynamicKFACConfiguration.defaultDevice(beta: 1e3, mismatch: 0.05, seed: seed)
                var c = try ThermodynamicKFACConfiguration(method: method, device: device, samples: 1024,
                                                           readoutsPerRightHandSide: 16, warmStart: false)
                c.ensemble = members
                try c.validate()
                let e = relativeError(try ThermodynamicKFACTests.update(p, c), digital)
                if members == 1 { single.append(e * e) } else { ensemble.append(e * e) }
            }
        }
        Self.expectEnsembleRatio(single: single, ensemble: ensemble, k: k, label: "\(method)")
    }

    /// TNGD: `K` devices with their own noise read the same `F`, `∇ℓ`; the thermal error of the averaged readout
    /// (`κ0 F⁻¹(1 − e^{−2Ft})` per device, independent) has `1/K` of the mean square. Checked as above over 16 seeds.
    @Test func tngdEnsembleCutsTheMeanSquareErrorByK() throws {
        let model = makeNetwork([3, 4, 3], activation: .tanh, seed: 31)
        let data = TestBatch(model: model, loss: .crossEntropy, examples: 4, seed: 32)
        let g = ModelJacobian.flattenedGradients(model)
        let lambda = 0.5
        let reference = try LAPACK.solve(LinearSolverTests.loopGGN(data, damping: lambda, dataScale: 1), g)
        let k = 4
        var single: [Double] = [], ensemble: [Double] = []
        for seed: UInt64 in 1...16 {
            for members in [1, k] {
                let c = try ThermodynamicNaturalGradientConfiguration(
                    analogTime: 60, damping: lambda, initialState: .gradient, ensemble: members,
                    device: ThermodynamicNaturalGradientConfiguration.device(noise: 1e-4, seed: seed))
                let solver = ThermodynamicLinearSolver<Double>(configuration: c)
                let x = try solver.solve(GaussNewtonOperator(batch: data.batch, damping: lambda), rhs: g, warmStart: nil)
                let e = relativeError(x, reference)
                if members == 1 { single.append(e * e) } else { ensemble.append(e * e) }
                #expect(solver.members.count == members)
            }
        }
        Self.expectEnsembleRatio(single: single, ensemble: ensemble, k: k, label: "TNGD")
    }

    /// TK-FAC Method 2 on a cold device with a 4-bit ADC: every readout of a right-hand side rounds the same way,
    /// so more readouts do not help; with the dither they do (error ∝ 1/√readouts).
    @Test func tkfacDitheredADCAveragesOut() throws {
        let p = Problem(seed: 3)
        let digital = try p.digital()
        func error(dither: Bool, readouts: Int) throws -> Double {
            var o = ThermodynamicKFACOptions()
            o.method = 2
            o.outputBits = 4
            o.outputDither = dither
            o.beta = 1e12
            o.readouts = readouts
            o.analogTime = Double(readouts)
            o.warmStart = false
            o.burnIn = 30
            return relativeError(try ThermodynamicKFACTests.update(p, try o.configuration()), digital)
        }
        let plain = try [32, 512].map { try error(dither: false, readouts: $0) }
        let dithered = try [32, 512].map { try error(dither: true, readouts: $0) }
        // 16× the readouts: √16 = 4 for the dithered error (χ² scatter of a few dozen dof: > 2.5), ≈ 1 without.
        #expect(dithered[0] / dithered[1] > 2.5, "dithered \(dithered)")
        #expect(plain[0] / plain[1] < 1.5, "plain \(plain)")
        #expect(dithered[1] < plain[1] / 3, "dithered \(dithered) vs plain \(plain)")
    }

    @Test func badMitigationValuesAreRefused() throws {
        var o = ThermodynamicKFACOptions()
        o.ensemble = 0
        #expect(throws: KFACError.invalidConfiguration(field: "tkfac.ensemble", value: "0",
                                                       requirement: "devices per factor must be 1…64 (1: no ensemble)")) {
            try o.configuration()
        }
        o.ensemble = 1
        o.quantization = "gershgorin"
        #expect { try o.configuration() } throws: { "\($0)".contains("spectralShift") }
        var t = ThermodynamicNaturalGradientSettings()
        t.ensemble = 65
        #expect { try t.configuration(seed: 0) } throws: { error in
            guard case let .invalidConfiguration(field, _, _) = error as? ThermodynamicNaturalGradientError else { return false }
            return field == "ensemble"
        }
    }
}
