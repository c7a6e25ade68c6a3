import ArgumentParser
import Optimizers

/// Options of `--optimizer tngd|tngd-adam` (thermodynamic natural gradient descent, REFERENCE.md §4).
/// Defaults are the TNGD paper's MNIST settings (`ThermodynamicNaturalGradientSettings`).
struct TNGDTrainOptions: ParsableArguments {
    @Option(name: .customLong("tngd-t"), help: "Analog time t per step, in τ = RC.")
    var analogTime: Double = ThermodynamicNaturalGradientSettings().analogTime
    @Option(name: .customLong("tngd-damping"), help: "Damping λ of F = JᵀHJ/b + λI.")
    var damping: Double = ThermodynamicNaturalGradientSettings().damping
    @Option(name: .customLong("tngd-noise"), help: "Thermal noise κ0 of the device.")
    var noise: Double = ThermodynamicNaturalGradientSettings().noise
    @Option(name: .customLong("tngd-time-step"), help: "Euler–Maruyama step δt in τ (reduced automatically if unstable).")
    var timeStep: Double = ThermodynamicNaturalGradientSettings().timeStep
    @Option(name: .customLong("tngd-delay"), help: "Delay t_d in τ (the device keeps running while the next gradient is computed).")
    var delay: Double = 0
    @Option(name: .customLong("tngd-averaging"), help: "Average readouts over the last T τ of each run (0: one readout).")
    var averaging: Double = 0
    @Option(name: .customLong("tngd-start"), help: "Device start: warm (previous state, the paper) or gradient (∇ℓ; t = 0 is SGD/Adam).")
    var start: String = ThermodynamicNaturalGradientConfiguration.InitialState.warmStart.rawValue
    @Option(name: .customLong("tngd-momentum"), help: "Momentum of the SGD applying g̃ (tngd).")
    var momentum: Double = 0
    @Option(name: .customLong("tngd-adam-betas"), parsing: .upToNextOption, help: "Adam β₁ β₂ for tngd-adam (the paper: 0 0).")
    var adamBetas: [Double] = [0, 0]

    func validate() throws {
        guard adamBetas.count == 2 else { throw ValidationError("--tngd-adam-betas takes two values, β₁ and β₂") }
        guard ThermodynamicNaturalGradientConfiguration.InitialState(rawValue: start) != nil else {
            throw ValidationError("--tngd-start must be warm or gradient, got \(start)")
        }
    }

    var settings: ThermodynamicNaturalGradientSettings {
        var s = ThermodynamicNaturalGradientSettings()
        s.analogTime = analogTime
        s.damping = damping
        s.noise = noise
        s.timeStep = timeStep
        s.delay = delay
        s.averagingTime = averaging
        s.initialState = start
        s.momentum = momentum
        s.adamBeta1 = adamBetas.first ?? 0
        s.adamBeta2 = adamBetas.last ?? 0
        return s
    }
}
