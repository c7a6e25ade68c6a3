/// The user-facing knobs of one simulated device as plain, codable data: what `thermograd simulate` varies
/// directly and what TK-FAC (`ThermodynamicKFACOptions.device`) and TNGD
/// (`ThermodynamicNaturalGradientSettings.device`) expose of their devices. `configuration()` validates
/// them into a `DeviceConfiguration`, the one place that checks ranges (docs/device.md).
///
/// The defaults are the standalone simulator's (`thermograd simulate`): the eigenbasis integrator, δt = 0.5τ,
/// β = 1, 64 chains, ideal converters (a quantised DAC over the fixed range ±1), conservative
/// quantisation, no mismatch, seed 1. TK-FAC and TNGD have their own defaults (their settings types).
public struct DeviceSettings: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The knobs by name (what a consumer supports, what an option sets).
    public enum Knob: String, Sendable, CaseIterable {
        case integrator, timeStep, beta, chains, dacBits, dacRange, adcBits, quantization, mismatch, seed
    }

    /// How trajectories are advanced (`DeviceConfiguration.Integrator`).
    public var integrator: DeviceConfiguration.Integrator = .eigenbasis
    /// Integrator step δt, in τ.
    public var timeStep: Double = 0.5
    /// Inverse temperature β (noise `sqrt(2/β) dW`; κ0 = 1/β).
    public var beta: Double = 1
    /// Chains simulated together.
    public var chains: Int = 64
    /// DAC bits for couplings and inputs (nil: ideal).
    public var dacBits: Int? = nil
    /// Full scale of the coupling DAC in coupling units; nil auto-ranges every matrix to its absmax.
    public var dacRange: Double? = 1
    /// ADC bits for readouts, auto-ranged (nil: ideal).
    public var adcBits: Int? = nil
    /// How couplings are quantised by the DAC.
    public var quantization: QuantizationScheme = .conservative
    /// Component mismatch ε.
    public var mismatch: Double = 0
    /// Device seed (noise, mismatch and rounding).
    public var seed: UInt64 = 1

    public init() {}

    /// The validated device; an invalid knob is named by its `DeviceConfiguration` parameter.
    public func configuration() throws(ThermoDeviceError) -> DeviceConfiguration {
        try DeviceConfiguration(beta: beta, timeStep: timeStep, integrator: integrator,
                                inputConverter: .init(bits: dacBits, range: dacRange), matrixQuantization: quantization,
                                outputConverter: .init(bits: adcBits, range: nil), mismatch: mismatch, chains: chains, seed: seed)
    }

    /// The `DeviceConfiguration` parameter each knob is checked as (for error messages that name options).
    public static let parameterNames: [String: Knob] = [
        "beta": .beta, "timeStep": .timeStep, "chains": .chains, "errorBarGroups": .chains, "mismatch": .mismatch,
        "inputConverter": .dacBits, "outputConverter": .adcBits,
    ]

    public var description: String {
        "\(integrator), δt \(timeStep)τ, β \(beta), \(chains) chains, DAC \(dacBits.map { "\($0) bits" } ?? "ideal")"
            + " over ±\(dacRange.map { "\($0)" } ?? "auto"), ADC \(adcBits.map { "\($0) bits" } ?? "ideal"), \(quantization),"
            + " mismatch \(mismatch), seed \(seed)"
    }
}

extension DeviceConfiguration.Integrator: Codable {}
extension QuantizationScheme: Codable {}
