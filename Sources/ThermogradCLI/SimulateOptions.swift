import ArgumentParser
import Linalg
import ThermoDevice

extension DeviceConfiguration.Integrator: ExpressibleByArgument {}
extension QuantizationScheme: ExpressibleByArgument {}

/// Device settings shared by `simulate` and `bench device`.
struct DeviceOptions: ParsableArguments {
    @Option(help: "Integrator: eigenbasis (exact OU transition per eigenmode, O(n) per chain step; the default), exact (the same transition as one dense GEMM per step) or eulerMaruyama (the papers' method, δt-biased).")
    var integrator: DeviceConfiguration.Integrator = .eigenbasis
    @Option(help: "Integrator step δt in τ (EM is stable for δt < 2/λ_max = 2/couplingRange).")
    var dt: Double = 0.5
    @Option(help: "Inverse temperature β (noise sqrt(2/β) dW).")
    var beta: Double = 1
    @Option(help: "Independent chains simulated together.")
    var chains: Int = 64
    @Option(help: "DAC bits for A and b (omit for an ideal DAC).")
    var dacBits: Int?
    @Option(help: "ADC bits for readouts (omit for an ideal ADC; range auto-calibrated).")
    var adcBits: Int?
    @Option(help: "Coupling quantisation: conservative or plainRounding.")
    var quantization: QuantizationScheme = .conservative
    @Option(help: "Component mismatch ε.")
    var mismatch: Double = 0
    @Option(help: "Seed of the device (noise, mismatch, rounding).")
    var deviceSeed: UInt64 = 1

    /// The device these options describe; an invalid value is reported by its option (`--dt -1 is invalid: …`).
    func configuration() throws -> DeviceConfiguration {
        do {
            return try DeviceConfiguration(beta: beta, timeStep: dt, integrator: integrator,
                                           inputConverter: .init(bits: dacBits, range: 1),
                                           matrixQuantization: quantization,
                                           outputConverter: .init(bits: adcBits, range: nil),
                                           mismatch: mismatch, chains: chains, seed: deviceSeed)
        } catch let error as ThermoDeviceError {
            throw ValidationError(Self.namingOption(error))
        }
    }

    /// The device configuration's parameter names as the options that set them.
    static let optionNames = ["beta": "--beta", "timeStep": "--dt", "chains": "--chains", "mismatch": "--mismatch",
                              "inputConverter": "--dac-bits", "outputConverter": "--adc-bits"]

    static func namingOption(_ error: ThermoDeviceError) -> String {
        guard case let .invalidParameter(name, value, requirement) = error else { return error.description }
        if name == "errorBarGroups" {
            return "--chains is too small: the error bar needs at least \(value) chains (\(requirement))"
        }
        guard let option = optionNames[name] else { return error.description }
        return "\(option) \(value) is invalid: \(requirement)"
    }

    /// Refuses a simulation whose chains would not fit in memory: the state, the next state, the noise and
    /// the running sums, each `chains × n` scalars, and the `n × n` matrices (problem, couplings, covariance).
    func requireMemory(size n: Int, scalarBytes: Int) throws {
        let bytes = Double(scalarBytes) * (6 * Double(chains) * Double(n) + 8 * Double(n) * Double(n))
        do {
            try SystemMemory.require(bytes, for: "simulating \(chains) chains of \(n) cells", advice: "lower --chains")
        } catch { throw ValidationError(error.description) }
    }
}
