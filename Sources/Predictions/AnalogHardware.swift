import Foundation
import Solvers
import ThermoDevice

/// The analog side of a thermodynamic step (docs/cost-model.md#analog-side): one or more devices (stochastic
/// processing units) with their converters, link, time constant and the rules for how long they run.
///
/// Defaults are read from the simulator's (`ThermoDevice.DeviceConfiguration`, `ThermoDevice.CostModel`)
/// so that the two cannot drift apart: τ = RC = 1 µs, 50 Gb/s, 10 ns per coupling write with one row at
/// a time, 10 pJ/bit, 1 mW per cell, burn-in 7 relaxation times. The papers are silent on programming
/// time and energy: those are the simulator's stated assumptions.
public struct AnalogHardware: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Number of devices working in parallel; the factors (Method 1) or right-hand sides (Method 2)
    /// of all layers are spread evenly over them.
    public var devices: Int = 64
    /// Largest matrix order one device holds. The papers assume each K-FAC factor fits on one device;
    /// 65536 covers the widest factor of the width sweep (MLP 4n + 1 at n = 8192 is 32769).
    public var deviceSize: Int = 65536
    /// τ = RC in seconds.
    public var tau: Double = AnalogHardware.simulatorDefaults.tau
    /// DAC resolution for programmed couplings and inputs, in bits.
    public var inputBits: Int = 8
    /// ADC resolution for readouts, in bits.
    public var outputBits: Int = 8
    /// Digital ↔ device link in bits per second.
    public var transferRate: Double = AnalogHardware.simulatorDefaults.transferRate
    /// Seconds to write one coupling, with `parallelRows` rows written at once.
    public var programmingTimePerCoupling: Double = AnalogHardware.simulatorDefaults.costModel.programmingTimePerCoupling
    public var parallelRows: Int = AnalogHardware.simulatorDefaults.costModel.parallelRows
    /// Condition number κ of the damped factors (after scaling λ_max to the coupling range, λ_min = 1/κ,
    /// so one relaxation time is κ·τ). K-FAC's Tikhonov damping bounds it; 100 is our default.
    public var conditionNumber: Double = 100
    /// Burn-in in relaxation times (κ·τ each): e^{-7} ≈ 1e-3 of the initial offset remains.
    public var burnInRelaxationTimes: Double = AnalogHardware.simulatorDefaults.burnInRelaxationTimes
    /// Method 1: readouts per factor inversion, the same for every factor; nil (the default) derives them per
    /// factor from `targetRelativeError` (`samples(order:)`).
    public var samples: Int? = nil
    /// Method 1: target relative Frobenius error `ε` of each device inverse; the simulator's
    /// (`CovarianceSampling.standard`, 0.5).
    public var targetRelativeError: Double = CovarianceSampling.standard.targetRelativeError
    /// Method 1: analog time between readouts in relaxation times; the simulator's (`CovarianceSampling.standard`,
    /// one relaxation time: the slowest mode's squares then correlate by `e^{−2}`).
    public var sampleSpacingRelaxationTimes: Double = CovarianceSampling.standard.spacingRelaxationTimes
    /// Method 2: the protocol per right-hand side — averaging window, readouts (each read out through the ADC),
    /// chains, warm-start burn-in — the simulator's TK-FAC default (`Method2Protocol.standard`: one relaxation
    /// time, 2 readouts over 2 chains, a warm-started burn-in of one relaxation time).
    public var method2 = Method2Protocol.standard
    /// Energy per transferred bit (J) and analog power per cell (W).
    public var energyPerBit: Double = AnalogHardware.simulatorDefaults.costModel.energyPerBit
    public var powerPerCell: Double = AnalogHardware.simulatorDefaults.costModel.powerPerCell

    /// The simulator's default device, the source of the defaults above.
    public static let simulatorDefaults = try! DeviceConfiguration()

    public init() {}

    /// The readout rule both the simulator and this model use (docs/device.md#how-many-samples).
    public var sampling: CovarianceSampling {
        CovarianceSampling(targetRelativeError: targetRelativeError, spacingRelaxationTimes: sampleSpacingRelaxationTimes)
    }

    /// Method 1 readouts for a factor of order `n`: `samples` if set, else
    /// `N = ⌈(n+1)/ε² · (1+ρ)/(1−ρ)⌉`, `ρ = e^{−2s}` (s the spacing in relaxation times), at least 128.
    public func samples(order n: Int) -> Int { samples ?? sampling.samples(order: n) }

    /// One relaxation time of a programmed factor, in seconds: `κ τ`.
    public var relaxationSeconds: Double { conditionNumber * tau }

    public func validate() throws(PredictionError) {
        func require(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws(PredictionError) {
            if !ok { throw .invalidParameter(name: name, value: "\(value)", requirement: rule) }
        }
        try require(devices >= 1, "devices", devices, "at least one device")
        try require(deviceSize >= 1, "deviceSize", deviceSize, "at least 1")
        try require(tau > 0 && tau.isFinite, "tau", tau, "τ must be positive seconds")
        try require((1...32).contains(inputBits), "inputBits", inputBits, "1…32 bits")
        try require((1...32).contains(outputBits), "outputBits", outputBits, "1…32 bits")
        try require(transferRate > 0 && transferRate.isFinite, "transferRate", transferRate, "positive bits/s")
        try require(programmingTimePerCoupling >= 0 && programmingTimePerCoupling.isFinite, "programmingTimePerCoupling",
                    programmingTimePerCoupling, "non-negative and finite seconds")
        try require(parallelRows >= 1, "parallelRows", parallelRows, "at least 1")
        try require(conditionNumber >= 1 && conditionNumber.isFinite, "conditionNumber", conditionNumber, "κ ≥ 1")
        try require((2...CovarianceSampling.largestSampleCount).contains(samples ?? 2), "samples", samples.map(String.init) ?? "nil",
                    "2…\(CovarianceSampling.largestSampleCount) samples for a covariance")
        try require(targetRelativeError >= CovarianceSampling.smallestTargetError && targetRelativeError.isFinite,
                    "targetRelativeError", targetRelativeError, "at least \(CovarianceSampling.smallestTargetError) and finite")
        try require(burnInRelaxationTimes >= 0 && sampleSpacingRelaxationTimes > 0 && method2.analogRelaxationTimes > 0
                        && method2.warmStartBurnInRelaxationTimes >= 0,
                    "relaxation-time rules",
                    "\(burnInRelaxationTimes), \(sampleSpacingRelaxationTimes), \(method2.analogRelaxationTimes), \(method2.warmStartBurnInRelaxationTimes)",
                    "burn-in ≥ 0, spacing and averaging > 0, warm-start burn-in ≥ 0")
        try require((1...Method2Protocol.largestReadoutsPerRightHandSide).contains(method2.readoutsPerRightHandSide),
                    "readoutsPerRightHandSide", method2.readoutsPerRightHandSide,
                    "1…\(Method2Protocol.largestReadoutsPerRightHandSide) readouts per right-hand side")
        try require(method2.chainsPerRightHandSide >= 1, "chainsPerRightHandSide", method2.chainsPerRightHandSide, "at least 1 chain")
    }

    public var description: String {
        "\(devices) devices of ≤ \(deviceSize) cells, τ = \(formatEngineering(tau))s, DAC \(inputBits) b, ADC \(outputBits) b, "
            + "link \(formatEngineering(transferRate))b/s, program \(formatEngineering(programmingTimePerCoupling))s/coupling × \(parallelRows) rows, "
            + "κ = \(conditionNumber), burn-in \(burnInRelaxationTimes) κτ, Method 1: \(samples.map { "\($0) samples" } ?? "(n+1)/ε²·\(String(format: "%.2f", CovarianceSampling.correlationInflation(spacingRelaxationTimes: sampleSpacingRelaxationTimes))) samples for ε = \(targetRelativeError)") every "
            + "\(sampleSpacingRelaxationTimes) κτ, Method 2: average \(method2.analogRelaxationTimes) κτ and "
            + "\(method2.convertedReadoutsPerRightHandSide) readouts per RHS, warm-start burn-in \(method2.warmStartBurnInRelaxationTimes) κτ"
    }
}
