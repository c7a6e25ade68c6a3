import Linalg
import Predictions
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// The cost model's device half against the simulator's own accounting (`DeviceCost`) for the same
/// device, matrix and sampling plan. DAC, programming, sampling and ADC terms follow the same formulas
/// and must agree to rounding; equilibration differs only through the simulator's spectral bound
/// (power iteration × safety factor 1.05 scales λ_max slightly below the coupling range, so its
/// relaxation time is up to 5 % longer than the model's κτ): 10 % tolerance. The DAC is ideal (32-bit
/// words on the wire) because quantising the couplings changes κ itself: 8-bit conservative rounding
/// adds `diag(r)`, `r_i ≈ nΔ/4`, which at n = 48 lifts λ_min from 0.05 to ≈ 0.14.
@Suite("Cost model vs simulator accounting")
struct DeviceAccountingTests {
    @Test func method1InversionTermsMatchTheSimulator() throws {
        let n = 48, kappa = 20.0, samples = 512, interval = 2.0
        var rng = Xoshiro256StarStar(seed: 31)
        let a: Matrix<Float> = try rng.randomSPD(n, condition: kappa)
        let config = try DeviceConfiguration(inputConverter: .ideal, outputConverter: .init(bits: 8, range: 4),
                                             chains: 64, seed: 5)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let programmed = try device.program(a)
        let simulated = try device.inverse(programmed, samples: samples, sampleInterval: interval).cost + programmed.programmingCost

        var analog = AnalogHardware()
        analog.inputBits = config.inputConverter.wireBits
        analog.outputBits = 8
        analog.conditionNumber = kappa
        analog.samples = samples
        analog.sampleSpacingRelaxationTimes = interval / kappa
        analog.tau = config.tau
        analog.transferRate = config.transferRate
        analog.programmingTimePerCoupling = config.costModel.programmingTimePerCoupling
        analog.parallelRows = config.costModel.parallelRows
        analog.burnInRelaxationTimes = config.burnInRelaxationTimes
        let model = try StepCostModel(digital: .a100, analog: analog).inversionTerms(order: n, rows: 1)

        func close(_ x: Double, _ y: Double, _ tol: Double) -> Bool { abs(x - y) <= tol * max(abs(y), 1e-30) }
        #expect(close(model.dac, simulated.dacTransferSeconds, 1e-9), "DAC \(model.dac) vs \(simulated.dacTransferSeconds)")
        #expect(close(model.program, simulated.programmingSeconds, 1e-9))
        #expect(close(model.sample, simulated.samplingSeconds, 1e-9))
        #expect(close(model.adc, simulated.adcReadoutSeconds, 1e-9))
        #expect(close(model.equilibrate, simulated.equilibrationSeconds, 0.10),
                "equilibration \(model.equilibrate) vs \(simulated.equilibrationSeconds)")
    }

    /// Method 2: the cost model's solve terms for TK-FAC's default protocol (`Method2Protocol.standard`, read by
    /// both) against the simulator's accounting of the same warm-started batched solve, called as TK-FAC's solver
    /// calls it. The ADC term is `R` readouts of `n` values per right-hand side (R = 2), not one; with the model's
    /// κ set to the programmed factor's relaxation time (its λ_min after the spectral bound), every term agrees to
    /// rounding. A model that read one readout per right-hand side would be off by 2× in the ADC term.
    @Test func method2SolveTermsMatchTheSimulator() throws {
        let n = 48, rhs = 5
        var rng = Xoshiro256StarStar(seed: 32)
        let a: Matrix<Float> = try rng.randomSPD(n, condition: 20)
        let b: Matrix<Float> = rng.normalMatrix(rows: n, columns: rhs)
        let config = try DeviceConfiguration(inputConverter: .init(bits: 8, range: 1), outputConverter: .init(bits: 8, range: 4),
                                             chains: 64, seed: 5)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let programmed = try device.program(a)
        let tkfac = try ThermodynamicKFACConfiguration()
        let relaxation = programmed.relaxationTime
        let time = tkfac.analogTime.inTau(relaxationTime: relaxation)
        let simulated = try device.solve(programmed, rightHandSides: b, time: time,
                                         sampleInterval: time / Double(tkfac.readoutsPerRightHandSide),
                                         burnIn: tkfac.warmStartBurnIn.inTau(relaxationTime: relaxation),
                                         chainsPerRightHandSide: tkfac.chainsPerRightHandSide,
                                         adcCalibration: tkfac.adcCalibration).cost

        var analog = AnalogHardware()
        analog.inputBits = 8
        analog.outputBits = 8
        analog.conditionNumber = relaxation   // λ_max scaled to 1: one relaxation time is κ τ
        analog.tau = config.tau
        analog.transferRate = config.transferRate
        let model = try StepCostModel(digital: .a100, analog: analog).solveTerms(order: n, rightHandSides: rhs)

        func close(_ x: Double, _ y: Double) -> Bool { abs(x - y) <= 1e-9 * max(abs(y), 1e-30) }
        #expect(simulated.readouts == rhs * analog.method2.readoutsPerRightHandSide)
        #expect(close(model.dac, simulated.dacTransferSeconds), "DAC \(model.dac) vs \(simulated.dacTransferSeconds)")
        #expect(close(model.equilibrate, simulated.equilibrationSeconds),
                "burn-in \(model.equilibrate) vs \(simulated.equilibrationSeconds)")
        #expect(close(model.sample, simulated.samplingSeconds), "sampling \(model.sample) vs \(simulated.samplingSeconds)")
        #expect(close(model.adc, simulated.adcReadoutSeconds), "ADC \(model.adc) vs \(simulated.adcReadoutSeconds)")
        #expect(model.adc == Double(rhs * 2 * n * 8) / config.transferRate)
    }
}
