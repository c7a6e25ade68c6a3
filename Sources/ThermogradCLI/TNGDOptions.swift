import ArgumentParser
import Curvature
import Optimizers
import Solvers

extension ThermodynamicNaturalGradientConfiguration.InitialState: ExpressibleByArgument {}
extension LossNormalization: ExpressibleByArgument {}

/// Options of `--optimizer tngd|tngd-adam` (thermodynamic natural gradient descent, docs/tngd.md); the
/// device's knobs are the device options (`DeviceOptions`). Every option is optional: one the user did not
/// pass keeps the default of `ThermodynamicNaturalGradientSettings` (the paper's MNIST settings), shown in
/// `--help`; ranges are checked there.
struct TNGDOptions: ParsableArguments {
    private static let d = ThermodynamicNaturalGradientSettings()

    @Option(name: .customLong("tngd-t"), help: defaulted("Analog time t per step, in τ = RC.", d.analogTime))
    var analogTime: Double?
    @Option(name: .customLong("tngd-damping"), help: defaulted("Damping λ of F = JᵀHJ/b + λI.", d.damping))
    var damping: Double?
    @Option(name: .customLong("tngd-delay"), help: defaulted("Delay t_d in τ (the device keeps running while the next gradient is computed).", d.delay))
    var delay: Double?
    @Option(name: .customLong("tngd-averaging"), help: defaulted("Average readouts over the last T τ of each run (0: one readout).", d.averagingTime))
    var averaging: Double?
    @Option(name: .customLong("tngd-start"), help: defaulted("Device start: warm (previous state, the paper) or gradient (∇ℓ; t = 0 is SGD/Adam).", d.initialState))
    var start: ThermodynamicNaturalGradientConfiguration.InitialState?
    @Option(name: .customLong("tngd-momentum"), help: defaulted("Momentum of the SGD applying g̃ (tngd).", d.momentum))
    var momentum: Double?
    @Option(name: .customLong("tngd-adam-betas"), parsing: .upToNextOption,
            help: defaulted("Adam β₁ β₂ for tngd-adam (the paper: 0 0).", "\(d.adamBeta1) \(d.adamBeta2)"))
    var adamBetas: [Double] = []
    @Option(name: .customLong("tngd-loss"), help: defaulted("Normalisation of F and ∇ℓ over the batch: mean (F = JᵀHJ/b + λ) or sum (F = JᵀHJ + λ).", d.lossNormalization ?? "mean"))
    var loss: LossNormalization?
    @Option(name: .customLong("tngd-ensemble"), help: "Error mitigation: average the readouts of K devices with their own noise and mismatch (default 1).")
    var ensemble: Int?
    @Flag(name: .customLong("tngd-adc-dither"), help: "Error mitigation: subtractive dither on the ADC (with --adc-bits).")
    var adcDither = false

    func validate() throws {
        if !adamBetas.isEmpty && adamBetas.count != 2 { throw ValidationError("--tngd-adam-betas takes two values, β₁ and β₂") }
    }

    /// The TNGD settings with the passed options and device knobs, validated (`configuration(seed:)`).
    func settings(device: DeviceOptions<some DeviceTargets>, seed: UInt64) throws -> ThermodynamicNaturalGradientSettings {
        var s = ThermodynamicNaturalGradientSettings()
        if let analogTime { s.analogTime = analogTime }
        if let damping { s.damping = damping }
        if let delay { s.delay = delay }
        if let averaging { s.averagingTime = averaging }
        if let start { s.initialState = start.rawValue }
        if let momentum { s.momentum = momentum }
        if adamBetas.count == 2 { (s.adamBeta1, s.adamBeta2) = (adamBetas[0], adamBetas[1]) }
        if let loss { s.lossNormalization = loss.rawValue }
        if let ensemble { s.ensemble = ensemble }
        if adcDither { s.adcDither = true }
        try device.apply(to: &s.device, target: .tngd)
        do { _ = try s.configuration(seed: seed) } catch { throw ValidationError(error.description) }
        return s
    }
}
