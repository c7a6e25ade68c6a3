import ArgumentParser
import Curvature
import Optimizers
import Solvers

/// Options of `--optimizer tngd|tngd-adam` (thermodynamic natural gradient descent, docs/tngd.md).
/// Defaults are the TNGD paper's MNIST settings (`ThermodynamicNaturalGradientSettings`).
extension ThermodynamicNaturalGradientConfiguration.Integrator: ExpressibleByArgument {}

struct TNGDTrainOptions: ParsableArguments {
    @Option(name: .customLong("tngd-t"), help: "Analog time t per step, in τ = RC.")
    var analogTime: Double = ThermodynamicNaturalGradientSettings().analogTime
    @Option(name: .customLong("tngd-damping"), help: "Damping λ of F = JᵀHJ/b + λI.")
    var damping: Double = ThermodynamicNaturalGradientSettings().damping
    @Option(name: .customLong("tngd-noise"), help: "Thermal noise κ0 of the device.")
    var noise: Double = ThermodynamicNaturalGradientSettings().noise
    @Option(name: .customLong("tngd-integrator"), help: "Device simulation: exact (continuous time, eigenbasis of F) or euler-maruyama.")
    var integrator: ThermodynamicNaturalGradientConfiguration.Integrator = .exact
    @Option(name: .customLong("tngd-time-step"), help: "Euler–Maruyama step δt in τ (reduced automatically if unstable); exact: readout spacing.")
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
    @Option(name: .customLong("tngd-loss"), help: "Normalisation of F and ∇ℓ over the batch: mean (F = JᵀHJ/b + λ) or sum (F = JᵀHJ + λ).")
    var lossNormalization: String = ThermodynamicNaturalGradientConfiguration.LossNormalization.mean.rawValue
    @Option(name: .customLong("tngd-dac-bits"), help: "DAC bits of the arrays J_f, H_L, J_fᵀ and of ∇ℓ (default: ideal).")
    var dacBits: Int?
    @Option(name: .customLong("tngd-adc-bits"), help: "ADC bits of the readouts, auto-ranged (default: ideal).")
    var adcBits: Int?
    @Option(name: .customLong("tngd-mismatch"), help: "Resistor mismatch ε: each resistor is g(1 + ε η), η ~ N(0, 1).")
    var mismatch: Double = 0

    func validate() throws {
        guard analogTime >= 0, analogTime.isFinite else { throw ValidationError("--tngd-t must be a non-negative number of τ, got \(analogTime)") }
        guard damping > 0, damping.isFinite else { throw ValidationError("--tngd-damping must be positive, got \(damping)") }
        guard noise > 0, noise.isFinite else { throw ValidationError("--tngd-noise (κ0) must be positive, got \(noise)") }
        guard timeStep > 0, timeStep.isFinite else { throw ValidationError("--tngd-time-step must be positive, got \(timeStep)") }
        guard delay >= 0, delay.isFinite else { throw ValidationError("--tngd-delay must be non-negative, got \(delay)") }
        guard averaging >= 0, averaging <= analogTime else {
            throw ValidationError("--tngd-averaging must lie in 0…--tngd-t (\(analogTime)), got \(averaging)")
        }
        guard (0..<1).contains(momentum) else { throw ValidationError("--tngd-momentum must be in [0, 1), got \(momentum)") }
        guard adamBetas.count == 2 else { throw ValidationError("--tngd-adam-betas takes two values, β₁ and β₂") }
        guard adamBetas.allSatisfy({ (0..<1).contains($0) }) else { throw ValidationError("--tngd-adam-betas must be in [0, 1)") }
        guard ThermodynamicNaturalGradientConfiguration.InitialState(rawValue: start) != nil else {
            throw ValidationError("--tngd-start must be warm or gradient, got \(start)")
        }
        guard ThermodynamicNaturalGradientConfiguration.LossNormalization(rawValue: lossNormalization) != nil else {
            throw ValidationError("--tngd-loss must be mean or sum, got \(lossNormalization)")
        }
        for (name, bits) in [("--tngd-dac-bits", dacBits), ("--tngd-adc-bits", adcBits)] {
            if let b = bits, !(1...24).contains(b) { throw ValidationError("\(name) must be 1…24, got \(b)") }
        }
        guard mismatch >= 0, mismatch < 1 else { throw ValidationError("--tngd-mismatch must be in [0, 1), got \(mismatch)") }
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
        s.lossNormalization = lossNormalization
        s.dacBits = dacBits
        s.adcBits = adcBits
        s.mismatch = mismatch
        s.integrator = integrator.rawValue
        return s
    }
}
