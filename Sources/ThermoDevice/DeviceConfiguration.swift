/// Everything that defines one simulated thermodynamic device (stochastic processing unit, SPU)
/// and how it is simulated: an immutable value, validated once by its initialiser and printed with
/// every result (`description`), so that an estimate always carries its settings.
///
/// Units: time in τ = RC (the device's relaxation unit; `tau` converts to seconds), noise as the
/// inverse temperature β of `dx = -(A x - b) dt + sqrt(2/β) dW` (docs/device.md#dynamics; κ0 = 1/β in the
/// TNGD paper's notation), converter resolutions in bits, the transfer rate in bits per second.
///
/// Defaults follow the papers where they say something (τ = 1 µs from R = 1 kΩ, C = 1 nF; 50 Gb/s;
/// δt = 0.1τ from the TNGD paper) and are our own stated choices otherwise.
public struct DeviceConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Largest `n` the device holds (number of cells).
    public let maximumSize: Int
    /// Coupling range: the programmed matrix is scaled so that its largest eigenvalue is at most this
    /// (in units of 1/τ); the scale is undone on readout.
    public let couplingRange: Double
    /// How `λ_max(A)` is bounded for that scaling (without an eigendecomposition).
    public let spectralBound: SpectralBound
    /// Inverse temperature β: the noise is `sqrt(2/β) dW`, the stationary covariance `β⁻¹A⁻¹`.
    public let beta: Double
    /// Integrator step δt, in τ (Euler–Maruyama: the protocols use `interval / ceil(interval/δt)` ≤ δt).
    /// The exact integrators are exact for any step, so the protocols take one step per readout interval
    /// and one for the whole burn-in; δt then only matters for `makeChains` callers.
    public let timeStep: Double
    /// How trajectories are advanced: Euler–Maruyama, or the exact OU transition (dense, or per eigenmode).
    /// The library default stays Euler–Maruyama (the papers' method, and the only one TNGD's matrix-free
    /// drift and the underdamped dynamics support); the CLI and TK-FAC default to `.eigenbasis`.
    public let integrator: Integrator
    /// Overdamped (first-order) or underdamped (inertial) dynamics.
    public let dynamics: Dynamics
    /// Input converter (DAC) for the couplings `A` and the inputs `b`.
    public let inputConverter: Converter
    /// How the coupling matrix is quantised by the DAC (docs/device.md#conservative-quantisation).
    public let matrixQuantization: QuantizationScheme
    /// Output converter (ADC) for the readouts of the state `x`.
    public let outputConverter: Converter
    /// Component mismatch ε: each realised coupling is `a_ij (1 + ε η_ij)`, `η_ij = η_ji ~ N(0, 1)`
    /// drawn once per device (from `seed`), so the same device repeats the same error.
    public let mismatch: Double
    /// τ = RC in seconds.
    public let tau: Double
    /// Digital ↔ device transfer rate in bits per second (DAC inputs and ADC readouts).
    public let transferRate: Double
    /// Timing and energy constants beyond τ and the transfer rate.
    public let costModel: CostModel
    /// Number of independent chains the simulator advances together (rows of the state matrix);
    /// more chains make each step a larger, more efficient GEMM.
    public let chains: Int
    /// Number of independent noise streams (blocks of chains filled in parallel). Fixed here rather
    /// than taken from the core count so that results do not depend on the machine.
    public let noiseStreams: Int
    /// Number of groups of chains used for batch-means error bars (≥ 2).
    public let errorBarGroups: Int
    /// Default burn-in, in relaxation times `1/λ_min` of the programmed matrix (residual of the
    /// slowest mode `e^{-k}`; 7 leaves ≈ 1e-3 of the initial offset).
    public let burnInRelaxationTimes: Double
    /// Seed of this device: mismatch draws, stochastic rounding and all noise derive from it.
    public let seed: UInt64

    /// Creates and validates a configuration; every argument has a documented default.
    public init(maximumSize: Int = 4096,
                couplingRange: Double = 1,
                spectralBound: SpectralBound = .powerIteration(iterations: 30, safetyFactor: 1.05),
                beta: Double = 1,
                timeStep: Double = 0.1,
                integrator: Integrator = .eulerMaruyama,
                dynamics: Dynamics = .overdamped,
                inputConverter: Converter = .ideal,
                matrixQuantization: QuantizationScheme = .conservative,
                outputConverter: Converter = .ideal,
                mismatch: Double = 0,
                tau: Double = 1e-6,
                transferRate: Double = 50e9,
                costModel: CostModel = CostModel(),
                chains: Int = 64,
                noiseStreams: Int = 8,
                errorBarGroups: Int = 8,
                burnInRelaxationTimes: Double = 7,
                seed: UInt64 = 0) throws(ThermoDeviceError) {
        func require(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws(ThermoDeviceError) {
            if !ok { throw .invalidParameter(name: name, value: "\(value)", requirement: rule) }
        }
        try require(maximumSize >= 1, "maximumSize", maximumSize, "must be at least 1")
        try require(couplingRange > 0 && couplingRange.isFinite, "couplingRange", couplingRange, "must be positive and finite")
        try require(beta > 0 && beta.isFinite, "beta", beta, "the inverse temperature must be positive and finite")
        try require(timeStep > 0 && timeStep.isFinite, "timeStep", timeStep, "δt must be positive and finite (in τ)")
        try require(mismatch >= 0 && mismatch < 1, "mismatch", mismatch, "ε must be in [0, 1)")
        try require(tau > 0 && tau.isFinite, "tau", tau, "τ = RC must be positive (seconds)")
        try require(transferRate > 0 && transferRate.isFinite, "transferRate", transferRate, "must be positive (bits/s)")
        try require(chains >= 2, "chains", chains, "at least 2 chains are needed for an error bar")
        try require(noiseStreams >= 1, "noiseStreams", noiseStreams, "must be at least 1")
        try require(errorBarGroups >= 2 && errorBarGroups <= chains, "errorBarGroups", errorBarGroups,
                    "must be between 2 and the number of chains (\(chains))")
        try require(burnInRelaxationTimes >= 0, "burnInRelaxationTimes", burnInRelaxationTimes, "must be non-negative")
        try inputConverter.validate(name: "inputConverter")
        try require(inputConverter.rounding != .subtractiveDither, "inputConverter", inputConverter,
                    "a coupling DAC cannot subtract a dither from a programmed value: use stochastic rounding (a non-subtractive dither)")
        try outputConverter.validate(name: "outputConverter")
        try spectralBound.validate()
        try dynamics.validate()
        try costModel.validate()
        if case .underdamped = dynamics, integrator != .eulerMaruyama {
            throw .unsupported(detail: "the \(integrator) integrator is implemented for the overdamped dynamics only; "
                               + "use .eulerMaruyama with .underdamped")
        }
        self.maximumSize = maximumSize
        self.couplingRange = couplingRange
        self.spectralBound = spectralBound
        self.beta = beta
        self.timeStep = timeStep
        self.integrator = integrator
        self.dynamics = dynamics
        self.inputConverter = inputConverter
        self.matrixQuantization = matrixQuantization
        self.outputConverter = outputConverter
        self.mismatch = mismatch
        self.tau = tau
        self.transferRate = transferRate
        self.costModel = costModel
        self.chains = chains
        self.noiseStreams = noiseStreams
        self.errorBarGroups = errorBarGroups
        self.burnInRelaxationTimes = burnInRelaxationTimes
        self.seed = seed
    }

    /// The same configuration with another seed (another physical device of the same design: new
    /// mismatch and rounding draws). Used by `DeviceEnsemble`.
    public func withSeed(_ newSeed: UInt64) -> DeviceConfiguration { Self.unchecked(self, seed: newSeed) }

    private static func unchecked(_ c: DeviceConfiguration, seed: UInt64) -> DeviceConfiguration {
        // All other fields were validated when `c` was made; the seed has no constraint.
        try! DeviceConfiguration(maximumSize: c.maximumSize, couplingRange: c.couplingRange, spectralBound: c.spectralBound,
                                 beta: c.beta, timeStep: c.timeStep, integrator: c.integrator, dynamics: c.dynamics,
                                 inputConverter: c.inputConverter, matrixQuantization: c.matrixQuantization,
                                 outputConverter: c.outputConverter, mismatch: c.mismatch, tau: c.tau,
                                 transferRate: c.transferRate, costModel: c.costModel, chains: c.chains,
                                 noiseStreams: c.noiseStreams, errorBarGroups: c.errorBarGroups,
                                 burnInRelaxationTimes: c.burnInRelaxationTimes, seed: seed)
    }

    public var description: String {
        "DeviceConfiguration(maximumSize: \(maximumSize), couplingRange: \(couplingRange), spectralBound: \(spectralBound), "
            + "β: \(beta), δt: \(timeStep)τ, integrator: \(integrator), dynamics: \(dynamics), DAC: \(inputConverter), "
            + "matrixQuantization: \(matrixQuantization), ADC: \(outputConverter), mismatch ε: \(mismatch), "
            + "τ: \(tau) s, transferRate: \(transferRate) b/s, chains: \(chains), noiseStreams: \(noiseStreams), "
            + "errorBarGroups: \(errorBarGroups), burnIn: \(burnInRelaxationTimes)/λ_min, seed: \(seed))"
    }
}

extension DeviceConfiguration {
    /// How the trajectories are advanced by one step δt.
    public enum Integrator: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        /// `x ← x − δt (A x − b) + sqrt(2δt/β) z`: one GEMM per step; stable only for `δt < 2/λ_max`.
        /// Its stationary mean is exactly `A⁻¹b`; its stationary covariance is `β⁻¹A⁻¹(I − Aδt/2)⁻¹`.
        case eulerMaruyama
        /// `x ← e^{-Aδt} x + φ(A) b + L z` with `φ(λ) = (1 − e^{-λδt})/λ`, `L Lᵀ = β⁻¹A⁻¹(I − e^{-2Aδt})`:
        /// exact in distribution for any δt (set-up: one eigendecomposition; each step one GEMM of depth 2n).
        case exact
        /// The same exact transition, simulated in the eigenbasis `A = Q Λ Qᵀ` of the programmed matrix: every
        /// chain is `n` independent scalar OU processes `y_k ← e^{-λ_k δt} y_k + φ(λ_k)(Qᵀc)_k + s_k z_k`,
        /// `s_k² = (1 − e^{-2λ_k δt})/(βλ_k)`, O(n) per chain step; readouts are rotated back `x = Q y` only where
        /// the observable needs it (see `LangevinChains`). Set-up: one eigendecomposition. The fastest exact choice.
        case eigenbasis
        /// Whether the integrator is exact in distribution for every step (no δt bias, no stability limit).
        public var isExact: Bool { self != .eulerMaruyama }
        public var description: String { rawValue }
    }

    /// Overdamped `dx = -(A x - b) dt + sqrt(2/β) dW`, or the inertial circuit
    /// `m ẍ = -γ ẋ - (A x - b) + sqrt(2γ/β) ξ(t)`, whose stationary law for `x` is the same.
    public enum Dynamics: Sendable, Equatable, CustomStringConvertible {
        case overdamped
        /// Mass `m` and friction `γ` in device units (τ² and τ scaled); simulated by semi-implicit
        /// Euler–Maruyama (velocity first, then position).
        case underdamped(mass: Double, friction: Double)

        func validate() throws(ThermoDeviceError) {
            if case let .underdamped(m, g) = self, !(m > 0 && g > 0 && m.isFinite && g.isFinite) {
                throw .invalidParameter(name: "dynamics", value: "\(self)", requirement: "mass and friction must be positive")
            }
        }

        public var description: String {
            switch self {
            case .overdamped: return "overdamped"
            case let .underdamped(m, g): return "underdamped(m: \(m), γ: \(g))"
            }
        }
    }

    /// How `λ_max(A)` is bounded before scaling `A` into the coupling range. Both read only `A`
    /// through products, as the device's digital front end would; neither is an eigendecomposition.
    public enum SpectralBound: Sendable, Equatable, CustomStringConvertible {
        /// `λ_max ≤ max_i Σ_j |a_ij|` (Gershgorin): a guaranteed bound, but loose by up to ~√n for dense
        /// matrices, which slows the device by the same factor.
        case gershgorin
        /// `iterations` power iterations from a fixed start vector; the Rayleigh quotient (a lower
        /// bound that converges to λ_max) times `safetyFactor`, capped by the Gershgorin bound.
        /// Our default: tight for the spectra we meet; if the estimate falls short, the programmed
        /// λ_max slightly exceeds the coupling range (reported in `ProgrammedMatrix.lambdaMax`).
        case powerIteration(iterations: Int, safetyFactor: Double)

        func validate() throws(ThermoDeviceError) {
            if case let .powerIteration(k, f) = self, !(k >= 1 && f >= 1 && f.isFinite) {
                throw .invalidParameter(name: "spectralBound", value: "\(self)",
                                        requirement: "needs at least 1 iteration and a safety factor ≥ 1")
            }
        }

        public var description: String {
            switch self {
            case .gershgorin: return "gershgorin"
            case let .powerIteration(k, f): return "powerIteration(\(k), ×\(f))"
            }
        }
    }

    /// A converter (DAC or ADC): `bits` of resolution over `[-range, range]`; the step is
    /// `Δ = range / 2^(bits−1)` and values outside the range saturate. `bits == nil` is an ideal
    /// converter (32-bit floats on the wire for the transfer cost).
    public struct Converter: Sendable, Equatable, CustomStringConvertible {
        /// Resolution in bits (1…24), or nil for an ideal converter.
        public let bits: Int?
        /// Full-scale range (symmetric). For the DAC, inputs are scaled to this range, and nil means
        /// per-matrix auto-ranging of the couplings (full scale = the scaled matrix's absmax, see
        /// `couplingDACRange(for:)`); a number is a fixed range in coupling units (1 = `couplingRange`'s
        /// default). For the ADC, nil means auto-ranging: `2 × max|x|` over a calibration readout at the
        /// end of burn-in.
        public let range: Double?
        /// Rounding of the DAC: to nearest, or stochastic (unbiased; drawn once per programming
        /// from the device seed, which is what makes an ensemble of devices average rounding out).
        public let rounding: Rounding

        public enum Rounding: String, Sendable, Equatable {
            case nearest, stochastic
            /// ADC only (docs/device.md#dithered-adc): a pseudo-random dither `u ~ U[−Δ/2, Δ/2)`, known digitally
            /// from the device seed, is added before conversion and subtracted after, so every readout's error is
            /// uniform, zero-mean, of variance `Δ²/12` and independent of the signal: averages of `k` readouts then
            /// converge as `Δ/√(12k)`, and a covariance is biased by exactly `(Δ²/12) I`, which is subtracted.
            case subtractiveDither
        }

        public init(bits: Int?, range: Double? = 1, rounding: Rounding = .nearest) {
            self.bits = bits
            self.range = range
            self.rounding = rounding
        }

        /// No quantisation, 32-bit values on the wire.
        public static let ideal = Converter(bits: nil, range: 1)

        /// Bits per transferred value.
        public var wireBits: Int { bits ?? 32 }

        func validate(name: String) throws(ThermoDeviceError) {
            if let b = bits, !(1...24).contains(b) {
                throw .invalidParameter(name: name, value: "\(b) bits", requirement: "resolution must be 1…24 bits")
            }
            if let r = range, !(r > 0 && r.isFinite) {
                throw .invalidParameter(name: name, value: "range \(r)", requirement: "range must be positive and finite")
            }
        }

        public var description: String {
            guard let b = bits else { return "ideal" }
            return "\(b) bits over ±\(range.map { "\($0)" } ?? "auto") (\(rounding.rawValue))"
        }
    }
}
