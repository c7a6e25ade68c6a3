import ThermoDevice

/// Settings of thermodynamic natural gradient descent (TNGD, REFERENCE.md §4): an immutable value,
/// validated once by its initialiser and printed with every run (`description`).
///
/// The device integrates `dg̃ = -(F g̃ - ∇ℓ) dt + sqrt(2κ0) dW` with `F = J_fᵀ H_L J_f / b + λI` for an analog
/// time `t` (in τ) per optimiser step, then reads `g̃` out. Defaults are the paper's MNIST settings
/// (`t = 50τ`, `λ = 0.01`, `δt = 0.1τ`); κ0 defaults to 1e-3 (the paper: κ0 ≤ 0.01 is harmless).
///
/// The device side (κ0 = 1/β, δt, τ, link rate, converters, cost constants, seed) is a
/// `DeviceConfiguration`, the same value the rest of the simulator uses; TNGD needs its overdamped
/// Euler–Maruyama dynamics with ideal converters (quantised TNGD is not simulated).
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
    /// κ0, δt, τ, converters, link, cost constants and the noise seed.
    public let device: DeviceConfiguration

    /// Thermal-noise amplitude κ0 = 1/β.
    public var noise: Double { 1 / device.beta }
    /// Requested integrator step δt, in τ.
    public var timeStep: Double { device.timeStep }

    public init(analogTime: Double = 50, damping: Double = 0.01, delay: Double = 0, averagingTime: Double = 0,
                initialState: InitialState = .warmStart, powerIterations: Int = 8, stepSafety: Double = 0.8,
                device: DeviceConfiguration) throws(ThermodynamicNaturalGradientError) {
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
        guard device.integrator == .eulerMaruyama, device.dynamics == .overdamped else {
            throw .unsupportedDevice(detail: "\(device.integrator) integration of \(device.dynamics) dynamics; TNGD knows F "
                                     + "only through products, so use the overdamped Euler–Maruyama device")
        }
        guard device.inputConverter.bits == nil, device.outputConverter.bits == nil, device.mismatch == 0 else {
            throw .unsupportedDevice(detail: "quantising converters or component mismatch (not simulated for TNGD); "
                                     + "use ideal converters and mismatch 0")
        }
        self.analogTime = analogTime
        self.damping = damping
        self.delay = delay
        self.averagingTime = averagingTime
        self.initialState = initialState
        self.powerIterations = powerIterations
        self.stepSafety = stepSafety
        self.device = device
    }

    /// The device TNGD runs on: noise κ0 (β = 1/κ0), step δt in τ, noise seed; everything else at the
    /// simulator's defaults (τ = 1 µs, 50 Gb/s, ideal converters; `CostModel` for programming times).
    public static func device(noise: Double = 1e-3, timeStep: Double = 0.1, seed: UInt64 = 0,
                              costModel: CostModel = CostModel()) throws(ThermodynamicNaturalGradientError) -> DeviceConfiguration {
        guard noise > 0, noise.isFinite else {
            throw .invalidConfiguration(field: "noise", value: "\(noise)", requirement: "κ0 must be positive and finite (e.g. 1e-3)")
        }
        do { return try DeviceConfiguration(beta: 1 / noise, timeStep: timeStep, costModel: costModel, seed: seed) } catch {
            throw .invalidConfiguration(field: "device", value: "κ0 \(noise), δt \(timeStep)", requirement: error.description)
        }
    }

    public var description: String {
        "TNGD(t \(analogTime)τ, λ \(damping), κ0 \(noise), δt \(timeStep)τ, delay t_d \(delay)τ, averaging \(averagingTime)τ, "
            + "start \(initialState), λ_max power iterations \(powerIterations) × safety \(stepSafety), τ \(device.tau) s, "
            + "link \(device.transferRate) b/s, \(device.costModel), seed \(device.seed))"
    }
}
