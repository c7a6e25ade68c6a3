import Curvature
import Solvers
import ThermoDevice

/// The TNGD settings of a training run as plain, codable data (saved in `config.json` with the run, part
/// of its resume fingerprint); `configuration(seed:)` validates them into a
/// `ThermodynamicNaturalGradientConfiguration`. Defaults: the paper's MNIST settings.
public struct ThermodynamicNaturalGradientSettings: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Analog time `t` per step, τ.
    public var analogTime: Double = ThermodynamicNaturalGradientConfiguration.Defaults.analogTime
    /// Damping `λ`.
    public var damping: Double = ThermodynamicNaturalGradientConfiguration.Defaults.damping
    /// Thermal noise κ0.
    public var noise: Double = ThermodynamicNaturalGradientConfiguration.Defaults.noise
    /// Euler–Maruyama step δt, τ.
    public var timeStep: Double = ThermodynamicNaturalGradientConfiguration.Defaults.timeStep
    /// Delay `t_d`, τ.
    public var delay: Double = 0
    /// Readout averaging window, τ.
    public var averagingTime: Double = 0
    /// `warm` (previous state, the paper) or `gradient` (∇ℓ each step; t = 0 is then SGD/Adam).
    public var initialState: String = ThermodynamicNaturalGradientConfiguration.InitialState.warmStart.rawValue
    /// Momentum of the SGD that applies `g̃` for `tngd` (the paper: 0).
    public var momentum: Double = 0
    /// Adam's β₁, β₂ for `tngd-adam` (the paper: 0, 0).
    public var adamBeta1: Double = 0
    public var adamBeta2: Double = 0
    /// `mean` (F = JᵀHJ/b + λ, mean-loss ∇ℓ; nil = mean) or `sum` (batch sums; see
    /// `ThermodynamicNaturalGradientConfiguration.LossNormalization`). Optional so that older
    /// `config.json` files still decode.
    public var lossNormalization: String? = ThermodynamicNaturalGradientConfiguration.LossNormalization.mean.rawValue
    /// DAC bits of the arrays `J_f`, `H_L`, `J_fᵀ` and of `∇ℓ` (nil: ideal).
    public var dacBits: Int?
    /// ADC bits of the readouts, auto-ranged (nil: ideal).
    public var adcBits: Int?
    /// Subtractive dither on the ADC (docs/device.md#dithered-adc); nil or false: rounding to nearest.
    public var adcDither: Bool? = nil
    /// Devices averaged (docs/device.md#ensembles); nil: 1.
    public var ensemble: Int? = nil
    /// Resistor mismatch ε (nil: 0).
    public var mismatch: Double? = 0
    /// `exact` (the default for new settings) or `euler-maruyama`; nil (a `config.json` written before the
    /// exact integrator existed) means `euler-maruyama`, so such a run resumes as it started.
    public var integrator: String? = ThermodynamicNaturalGradientConfiguration.Integrator.exact.rawValue

    public init() {}

    /// The validated configuration (the inner optimiser's momentum and Adam β's are checked too); the device
    /// noise seed derives from the run's `seed`; `costModel` prices the device's programming.
    public func configuration(seed: UInt64, costModel: CostModel = CostModel())
        throws(ThermodynamicNaturalGradientError) -> ThermodynamicNaturalGradientConfiguration {
        for (field, value) in [("momentum", momentum), ("adamBeta1", adamBeta1), ("adamBeta2", adamBeta2)] where !(0..<1).contains(value) {
            throw .invalidConfiguration(field: field, value: "\(value)", requirement: "must be in [0, 1)")
        }
        guard let start = ThermodynamicNaturalGradientConfiguration.InitialState(rawValue: initialState) else {
            throw .invalidConfiguration(field: "initialState", value: initialState, requirement: "use warm or gradient")
        }
        let normalization = lossNormalization ?? ThermodynamicNaturalGradientConfiguration.LossNormalization.mean.rawValue
        guard let loss = ThermodynamicNaturalGradientConfiguration.LossNormalization(rawValue: normalization) else {
            throw .invalidConfiguration(field: "lossNormalization", value: normalization, requirement: "use mean or sum")
        }
        let method = integrator ?? ThermodynamicNaturalGradientConfiguration.Integrator.eulerMaruyama.rawValue
        guard let chosen = ThermodynamicNaturalGradientConfiguration.Integrator(rawValue: method) else {
            throw .invalidConfiguration(field: "integrator", value: method, requirement: "use exact or euler-maruyama")
        }
        let device = try ThermodynamicNaturalGradientConfiguration.device(
            noise: noise, timeStep: timeStep, seed: seed &* 7919 &+ 17,
            inputConverter: dacBits.map { .init(bits: $0, range: 1) } ?? .ideal,
            outputConverter: adcBits.map { .init(bits: $0, range: nil, rounding: adcDither == true ? .subtractiveDither : .nearest) } ?? .ideal,
            mismatch: mismatch ?? 0, costModel: costModel)
        return try ThermodynamicNaturalGradientConfiguration(analogTime: analogTime, damping: damping, delay: delay,
                                                             averagingTime: averagingTime, initialState: start,
                                                             lossNormalization: loss, integrator: chosen, ensemble: ensemble ?? 1,
                                                             device: device)
    }

    /// The device knobs TNGD lets a user set; its DAC range is fixed (±1), its noise seed derives from the
    /// run's seed, and it simulates one trajectory (no chains, no coupling quantisation scheme).
    public static let deviceKnobs: Set<DeviceSettings.Knob> = [.integrator, .timeStep, .beta, .dacBits, .adcBits, .mismatch]

    /// The device fields above as `DeviceSettings` (the knobs in `deviceKnobs`): β = 1/κ0 (`noise`);
    /// integrator `exact` (TNGD's eigenbasis of F; `.eigenbasis` is stored as `exact` too) or `eulerMaruyama`.
    public var device: DeviceSettings {
        get {
            var d = DeviceSettings()
            d.integrator = integrator == ThermodynamicNaturalGradientConfiguration.Integrator.exact.rawValue ? .exact : .eulerMaruyama
            d.timeStep = timeStep
            d.beta = 1 / noise
            d.dacBits = dacBits
            d.adcBits = adcBits
            d.mismatch = mismatch ?? 0
            return d
        }
        set {
            let old = device
            typealias Integrator = ThermodynamicNaturalGradientConfiguration.Integrator
            if newValue.integrator != old.integrator {
                integrator = (newValue.integrator.isExact ? Integrator.exact : Integrator.eulerMaruyama).rawValue
            }
            timeStep = newValue.timeStep
            if newValue.beta != old.beta { noise = 1 / newValue.beta } // κ0 stays bit-exact unless β changed
            dacBits = newValue.dacBits
            adcBits = newValue.adcBits
            if newValue.mismatch != old.mismatch { mismatch = newValue.mismatch }
        }
    }

    public var description: String {
        "TNGD \(integrator ?? "euler-maruyama"), t \(analogTime)τ, λ \(damping), κ0 \(noise), δt \(timeStep)τ, t_d \(delay)τ, averaging \(averagingTime)τ, start \(initialState), momentum \(momentum), Adam β (\(adamBeta1), \(adamBeta2)), loss \(lossNormalization ?? "mean"), "
            + "DAC \(dacBits.map { "\($0) bits" } ?? "ideal"), ADC \(adcBits.map { "\($0) bits\(adcDither == true ? " dithered" : "")" } ?? "ideal"), "
            + "mismatch \(mismatch ?? 0)\(ensemble.map { $0 > 1 ? ", ensemble of \($0)" : "" } ?? "")"
    }
}
