import ArgumentParser
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

    func configuration() throws -> DeviceConfiguration {
        try DeviceConfiguration(beta: beta, timeStep: dt, integrator: integrator,
                                inputConverter: .init(bits: dacBits, range: 1),
                                matrixQuantization: quantization,
                                outputConverter: .init(bits: adcBits, range: nil),
                                mismatch: mismatch, chains: chains, seed: deviceSeed)
    }
}
