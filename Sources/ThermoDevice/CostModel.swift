import Foundation

/// Timing and energy constants of the device beyond τ and the transfer rate (docs/device.md#cost-accounting).
///
/// The papers give τ = RC = 1 µs and 50 Gb/s; they are silent on how long writing a coupling takes
/// and on energy, so those defaults are our stated assumptions (change them, they are printed).
public struct CostModel: Sendable, Equatable, CustomStringConvertible {
    /// Seconds to program one coupling (a digital potentiometer / resistor-array write), with
    /// `parallelRows` rows written at once. Default 10 ns per coupling (assumption).
    public let programmingTimePerCoupling: Double
    /// Rows of the coupling array programmed in parallel. Default 1 (assumption: serial writes).
    public let parallelRows: Int
    /// Energy per transferred bit in joules (DAC/ADC and link). Default 10 pJ/bit (assumption).
    public let energyPerBit: Double
    /// Analog power per cell in watts while the device runs. Default 1 mW (assumption).
    public let powerPerCell: Double

    public init(programmingTimePerCoupling: Double = 10e-9, parallelRows: Int = 1,
                energyPerBit: Double = 10e-12, powerPerCell: Double = 1e-3) {
        self.programmingTimePerCoupling = programmingTimePerCoupling
        self.parallelRows = parallelRows
        self.energyPerBit = energyPerBit
        self.powerPerCell = powerPerCell
    }

    func validate() throws(ThermoDeviceError) {
        guard programmingTimePerCoupling >= 0, parallelRows >= 1, energyPerBit >= 0, powerPerCell >= 0,
              programmingTimePerCoupling.isFinite, energyPerBit.isFinite, powerPerCell.isFinite else {
            throw .invalidParameter(name: "costModel", value: "\(self)",
                                    requirement: "times and energies must be finite and non-negative, parallelRows ≥ 1")
        }
    }

    public var description: String {
        "CostModel(program: \(programmingTimePerCoupling) s/coupling × \(parallelRows) rows, "
            + "\(energyPerBit) J/bit, \(powerPerCell) W/cell)"
    }
}

/// What one device call cost, term by term, so that the bottleneck is visible.
///
/// Device times are seconds of modelled hardware time (τ-based terms converted with
/// `DeviceConfiguration.tau`); `wallSeconds` is the simulator's own run time on this machine.
public struct DeviceCost: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Sending the programmed values (couplings and inputs) through the DAC link: bits × count / rate.
    public var dacTransferSeconds: Double = 0
    /// Writing the couplings into the resistor array.
    public var programmingSeconds: Double = 0
    /// Burn-in before sampling (≈ relaxation time of the programmed spectrum, or as requested).
    public var equilibrationSeconds: Double = 0
    /// Analog time during which readouts are taken.
    public var samplingSeconds: Double = 0
    /// Sending the ADC readouts back: bits × values / rate.
    public var adcReadoutSeconds: Double = 0
    /// Modelled energy in joules (transfer bits × energy per bit + analog power × cells × run time).
    public var energyJoules: Double = 0
    /// Simulator wall time on this machine (not device time).
    public var wallSeconds: Double = 0
    /// Number of readouts (state vectors) taken.
    public var readouts: Int = 0
    /// Number of simulated integrator steps summed over chains.
    public var simulatedChainSteps: Int = 0

    public init() {}

    /// Total modelled device time: the sum of the five device terms.
    public var deviceSeconds: Double {
        dacTransferSeconds + programmingSeconds + equilibrationSeconds + samplingSeconds + adcReadoutSeconds
    }

    /// Term-by-term sum (for sequential calls on one device).
    public static func + (l: DeviceCost, r: DeviceCost) -> DeviceCost {
        var c = DeviceCost()
        c.dacTransferSeconds = l.dacTransferSeconds + r.dacTransferSeconds
        c.programmingSeconds = l.programmingSeconds + r.programmingSeconds
        c.equilibrationSeconds = l.equilibrationSeconds + r.equilibrationSeconds
        c.samplingSeconds = l.samplingSeconds + r.samplingSeconds
        c.adcReadoutSeconds = l.adcReadoutSeconds + r.adcReadoutSeconds
        c.energyJoules = l.energyJoules + r.energyJoules
        c.wallSeconds = l.wallSeconds + r.wallSeconds
        c.readouts = l.readouts + r.readouts
        c.simulatedChainSteps = l.simulatedChainSteps + r.simulatedChainSteps
        return c
    }

    public var description: String {
        func f(_ x: Double) -> String { String(format: "%.3g", x) }
        return "device \(f(deviceSeconds)) s [DAC \(f(dacTransferSeconds)), program \(f(programmingSeconds)), "
            + "equilibrate \(f(equilibrationSeconds)), sample \(f(samplingSeconds)), ADC \(f(adcReadoutSeconds))], "
            + "energy \(f(energyJoules)) J, wall \(f(wallSeconds)) s, \(readouts) readouts"
    }
}

extension DeviceCost {
    /// Several devices running in parallel (an ensemble, docs/device.md#ensembles): each device-time term is the
    /// slowest device's; energy, simulator wall time, readouts and chain steps add up.
    public static func parallel(_ costs: [DeviceCost]) -> DeviceCost {
        var c = DeviceCost()
        c.dacTransferSeconds = costs.map(\.dacTransferSeconds).max() ?? 0
        c.programmingSeconds = costs.map(\.programmingSeconds).max() ?? 0
        c.equilibrationSeconds = costs.map(\.equilibrationSeconds).max() ?? 0
        c.samplingSeconds = costs.map(\.samplingSeconds).max() ?? 0
        c.adcReadoutSeconds = costs.map(\.adcReadoutSeconds).max() ?? 0
        c.energyJoules = costs.map(\.energyJoules).reduce(0, +)
        c.wallSeconds = costs.map(\.wallSeconds).reduce(0, +)
        c.readouts = costs.map(\.readouts).reduce(0, +)
        c.simulatedChainSteps = costs.map(\.simulatedChainSteps).reduce(0, +)
        return c
    }
}
