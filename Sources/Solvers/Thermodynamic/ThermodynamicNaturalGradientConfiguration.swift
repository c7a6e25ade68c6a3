import Curvature
import ThermoDevice

/// Settings of thermodynamic natural gradient descent (TNGD, docs/tngd.md): an immutable value,
/// validated once by its initialiser and printed with every run (`description`).
///
/// The device integrates `dg̃ = -(F g̃ - ∇ℓ) dt + sqrt(2κ0) dW` with `F = J_fᵀ H_L J_f / b + λI` for an analog
/// time `t` (in τ) per optimiser step, then reads `g̃` out. Defaults are the paper's MNIST settings
/// (`t = 50τ`, `λ = 0.01`, `δt = 0.1τ`); κ0 defaults to 1e-3 (the paper: κ0 ≤ 0.01 is harmless).
///
/// The device side (κ0 = 1/β, δt, τ, link rate, converters, cost constants, seed) is a
/// `DeviceConfiguration`, the same value the rest of the simulator uses; TNGD needs its overdamped
/// Euler–Maruyama dynamics. Its DAC (`inputConverter`) quantises the three resistor arrays `J_f`, `H_L`,
/// `J_fᵀ` and `∇ℓ`, its ADC (`outputConverter`) the readouts, and `mismatch` perturbs every resistor
/// (`ProgrammedGaussNewton`); with ideal converters and no mismatch `F` stays matrix-free.
///
/// Noise and the loss convention (issue 7): the stationary state is `N(F⁻¹∇ℓ, κ0 F⁻¹)`. `∇ℓ = J_fᵀ r / b`
/// has no component in the null space of `J_fᵀ H_L J_f` (at least `N − b(d_z − 1)` directions, 98 % of them
/// for the Fashion-MNIST model), where `F = λ`: there the state is pure noise of variance
/// `κ0 (1 − e^{−2λT})/λ` per coordinate after a warm-started analog time `T` (correlation time `1/λ`,
/// 100 τ at λ = 0.01), whichever normalisation is used. `TNGDNoiseProbe` measures it (it matches to 1 %).
/// The normalisation changes the signal: with summed `F` and `∇ℓ` (`LossNormalization.sum`) the damping is
/// effectively `λ/b`, the readout larger in weakly curved directions, so the same κ0 is relatively weaker.
public struct ThermodynamicNaturalGradientConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Where each device run starts.
    public enum InitialState: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        /// From the previous step's state (the paper; the first step starts at `∇ℓ`). With `t = 0` this
        /// freezes `g̃` at the first gradient.
        case warmStart = "warm"
        /// From the current gradient `∇ℓ` at every step: `t = 0` is then exactly SGD / Adam.
        case gradient
        public var description: String { rawValue }
    }

    /// How `F` and `∇ℓ` are normalised over the batch before they are programmed (`Curvature.LossNormalization`).
    public typealias LossNormalization = Curvature.LossNormalization

    /// The one home of TNGD's defaults (the paper's MNIST settings; κ0 ours): the initialiser, `device(…)`,
    /// `ThermodynamicNaturalGradientSettings`, the experiments' knobs and the CLI options refer to these.
    public enum Defaults {
        /// `t`, τ.
        public static let analogTime = 50.0
        /// `λ`.
        public static let damping = 0.01
        /// κ0.
        public static let noise = 1e-3
        /// δt, τ.
        public static let timeStep = 0.1
        /// Power iterations for the `λ_max` bound and the fraction of `2/λ_max` the integrator step may use.
        public static let powerIterations = 8
        public static let stepSafety = 0.8
    }

    /// How the device's trajectory is simulated.
    public enum Integrator: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        /// Exact in continuous time (the default): `F` in its eigenbasis, `λI` plus a rank-≤ `b d_z` term, every
        /// mode a scalar Ornstein–Uhlenbeck process sampled from its exact law over `t`, the averaging window
        /// and the delay (`GaussNewtonEigenbasis`, `ExactNaturalGradientRun`; cost independent of `t`). Readouts
        /// of the averaging window are `δt` apart (`t` split into equal intervals ≤ δt). A realised matrix whose
        /// drift is not symmetric (resistor mismatch, separately stochastically rounded `J_f` arrays) is run
        /// with Euler–Maruyama instead, and the readout says so (`NaturalGradientReadout.integrator`).
        case exact
        /// Euler–Maruyama with step `min(δt, stepSafety · 2/λ̂_max)` (the TNGD paper's simulation).
        case eulerMaruyama = "euler-maruyama"
        public var description: String { rawValue }
    }

    /// Analog time `t` per step, in τ (0: no device run, the readout is the initial state).
    public let analogTime: Double
    /// Tikhonov damping `λ` of `F`.
    public let damping: Double
    /// Delay `t_d` in τ: after the readout the device keeps running on the old `F`, `∇ℓ` while the next
    /// gradient is computed; the next run starts from that state (acts like momentum). Overlaps digital
    /// work, so it is not added to the device time.
    public let delay: Double
    /// Readouts are averaged over the last `averagingTime` τ of the run, one per integrator step
    /// (0: one readout at `t`).
    public let averagingTime: Double
    public let initialState: InitialState
    /// Power iterations per step for the `λ_max(F)` bound that keeps Euler–Maruyama stable: the integrator
    /// step is `min(δt, stepSafety · 2/λ̂_max)`, with `t` split into equal steps.
    public let powerIterations: Int
    /// Fraction of the stability limit `2/λ_max` the integrator step may use.
    public let stepSafety: Double
    /// Mean- or sum-normalised `F` and `∇ℓ`.
    public let lossNormalization: LossNormalization
    /// Exact (default) or Euler–Maruyama simulation of the device.
    public let integrator: Integrator
    /// κ0, δt, τ, converters, link, cost constants and the noise seed.
    public private(set) var device: DeviceConfiguration
    /// Error mitigation by ensembles (docs/device.md#ensembles): `K` devices, each with its own seed (own noise,
    /// mismatch and stochastic-rounding draws) and its own carried state, run on the same `F` and `∇ℓ` in
    /// parallel; the readouts are averaged. Independent errors shrink in variance by `1/K`. 1: one device.
    public let ensemble: Int

    /// Whether the resistor arrays are realised with finite-resolution DACs or mismatch (dense
    /// `ProgrammedGaussNewton`) rather than ideally (matrix-free `GaussNewtonOperator`).
    public var programsArrays: Bool { device.inputConverter.bits != nil || device.mismatch > 0 }

    /// Thermal-noise amplitude κ0 = 1/β.
    public var noise: Double { 1 / device.beta }
    /// Requested integrator step δt, in τ.
    public var timeStep: Double { device.timeStep }

    public init(analogTime: Double = Defaults.analogTime, damping: Double = Defaults.damping, delay: Double = 0, averagingTime: Double = 0,
                initialState: InitialState = .warmStart, powerIterations: Int = Defaults.powerIterations,
                stepSafety: Double = Defaults.stepSafety, lossNormalization: LossNormalization = .mean,
                integrator: Integrator = .exact, ensemble: Int = 1, device: DeviceConfiguration) throws(ThermodynamicNaturalGradientError) {
        func require(_ ok: Bool, _ field: String, _ value: Any, _ rule: String) throws(ThermodynamicNaturalGradientError) {
            if !ok { throw .invalidConfiguration(field: field, value: "\(value)", requirement: rule) }
        }
        try require(analogTime >= 0 && analogTime.isFinite, "analogTime", analogTime, "t must be non-negative τ (the paper: 50τ)")
        try require(damping > 0 && damping.isFinite, "damping", damping, "λ must be positive (the paper: 0.01)")
        try require(delay >= 0 && delay.isFinite, "delay", delay, "t_d must be non-negative τ")
        try require(averagingTime >= 0 && averagingTime <= analogTime, "averagingTime", averagingTime,
                    "the averaging window must lie within the run, 0…t = \(analogTime) τ")
        try require(powerIterations >= 1, "powerIterations", powerIterations, "at least 1")
        try require(stepSafety > 0 && stepSafety < 1, "stepSafety", stepSafety, "a fraction in (0, 1), e.g. 0.8")
        try require((1...64).contains(ensemble), "ensemble", ensemble, "devices averaged must be 1…64 (1: no ensemble)")
        guard device.integrator == .eulerMaruyama, device.dynamics == .overdamped else {
            throw .unsupportedDevice(detail: "\(device.integrator) integration of \(device.dynamics) dynamics; TNGD chooses "
                                     + "its integrator itself (`integrator:`), so use the overdamped Euler–Maruyama device")
        }
        self.analogTime = analogTime
        self.damping = damping
        self.delay = delay
        self.averagingTime = averagingTime
        self.initialState = initialState
        self.powerIterations = powerIterations
        self.stepSafety = stepSafety
        self.lossNormalization = lossNormalization
        self.integrator = integrator
        self.ensemble = ensemble
        self.device = device
    }

    /// The same settings on a device with noise seed `seed` (one device per training seed).
    public func withSeed(_ seed: UInt64) -> ThermodynamicNaturalGradientConfiguration {
        var copy = self
        copy.device = device.withSeed(seed)
        return copy
    }

    /// The device TNGD runs on: noise κ0 (β = 1/κ0), step δt in τ, noise seed, DAC (arrays and `∇ℓ`), ADC
    /// (readouts) and mismatch ε; everything else at the simulator's defaults (τ = 1 µs, 50 Gb/s; `CostModel`
    /// for programming times).
    public static func device(noise: Double = Defaults.noise, timeStep: Double = Defaults.timeStep, seed: UInt64 = 0,
                              inputConverter: DeviceConfiguration.Converter = .ideal,
                              outputConverter: DeviceConfiguration.Converter = .ideal, mismatch: Double = 0,
                              costModel: CostModel = CostModel()) throws(ThermodynamicNaturalGradientError) -> DeviceConfiguration {
        guard noise > 0, noise.isFinite else {
            throw .invalidConfiguration(field: "noise", value: "\(noise)", requirement: "κ0 must be positive and finite (e.g. 1e-3)")
        }
        do {
            return try DeviceConfiguration(beta: 1 / noise, timeStep: timeStep, inputConverter: inputConverter,
                                           outputConverter: outputConverter, mismatch: mismatch, costModel: costModel, seed: seed)
        } catch {
            throw .invalidConfiguration(field: "device", value: "κ0 \(noise), δt \(timeStep), DAC \(inputConverter), ADC \(outputConverter), "
                                        + "mismatch \(mismatch)", requirement: error.description)
        }
    }

    public var description: String {
        "TNGD(\(integrator), t \(analogTime)τ, λ \(damping), κ0 \(noise), δt \(timeStep)τ, delay t_d \(delay)τ, averaging \(averagingTime)τ, "
            + "start \(initialState), loss \(lossNormalization), DAC \(device.inputConverter), ADC \(device.outputConverter), "
            + "mismatch ε \(device.mismatch), λ_max power iterations \(powerIterations) × safety \(stepSafety), τ \(device.tau) s, "
            + "link \(device.transferRate) b/s, \(device.costModel), seed \(device.seed)\(ensemble > 1 ? ", ensemble of \(ensemble)" : ""))"
    }
}
