import ThermoDevice

/// A span of analog time, either absolute (in τ) or relative to the programmed matrix's slowest mode
/// (`k / λ_min`, i.e. `k` relaxation times). Relative spans follow the conditioning of each factor, which
/// is what equilibration physically needs (docs/device.md#relaxation-and-equilibration: relaxation time ≈ `1/λ_min` in τ).
public enum AnalogDuration: Sendable, Equatable, CustomStringConvertible {
    /// A fixed time in τ.
    case tau(Double)
    /// `k` relaxation times `1/λ_min` of the programmed (scaled) matrix.
    case relaxationTimes(Double)

    /// The duration in τ for a programmed matrix with relaxation time `relaxationTime` (τ).
    public func inTau(relaxationTime: Double) -> Double {
        switch self {
        case let .tau(t): return t
        case let .relaxationTimes(k): return k * relaxationTime
        }
    }

    var value: Double { switch self { case let .tau(t): return t; case let .relaxationTimes(k): return k } }

    public var description: String {
        switch self {
        case let .tau(t): return "\(t)τ"
        case let .relaxationTimes(k): return "\(k)/λ_min"
        }
    }
}

/// Every setting of thermodynamic K-FAC (TK-FAC, docs/tkfac.md): which method runs on the devices, how the
/// devices are fed, how long they run, and the device itself (noise β, DAC/ADC bits, quantisation scheme,
/// mismatch, integrator, timing constants). Immutable once validated, printed with every run.
///
/// - **Method 1 (inversion)**: each damped factor `A + λ_A I`, `G + λ_G I` is programmed into its own
///   device; the inverse is `β ×` the sample covariance of `N` readouts spaced `sampleSpacing` apart (relative
///   Frobenius error ≈ `sqrt((n+1)/N_eff)`); `N` is `samples` when set, otherwise derived per factor from
///   `targetRelativeError` by `CovarianceSampling` (`N ∝ (n+1)/ε²`, docs/device.md#how-many-samples), so narrow
///   factors take fewer readouts than wide ones; `U = Ĝ⁻¹ ∇ Â⁻¹` is formed digitally.
///   Device work happens at refreshes only (every `T_inv` steps).
/// - **Method 2 (linear systems)**: the damped factors are programmed at refreshes; every step solves
///   `(G + λ_G I) X = ∇` (one right-hand side per column of `∇`) and then `(A + λ_A I) Uᵀ = Xᵀ` from
///   device means over `analogTime` per right-hand side, warm-started from the previous step's `X`, `U`.
///   The statistical error of a mean is `≈ sqrt(2/(βT)) / λ` per mode (device units), so Method 2
///   profits from a cold (large-β) device, while Method 1's relative error does not depend on β.
public struct ThermodynamicKFACConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// TK-FAC's two ways of using the devices (the paper's open question 2).
    public enum Method: Int, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        /// Inverse from the stationary covariance, update formed digitally.
        case inversion = 1
        /// Two batched linear solves per layer from device means, warm-started.
        case linearSystems = 2
        public var description: String { self == .inversion ? "method 1 (inversion)" : "method 2 (linear systems)" }
    }

    /// What is sent to the device to program a factor (docs/tkfac.md#feeds, "What is sent").
    public enum Feed: String, Sendable, Equatable, Codable, CaseIterable, CustomStringConvertible {
        /// The EMA factors as `n(n+1)/2` couplings through the DAC (quantised with `matrixQuantization`).
        case factors
        /// The raw batch arrays `ā` (`b·R × n_A`) and `g` (`b·R × n_G`), each value through the DAC; the
        /// resistor arrays realise their outer products `(1/bR) āᵀā`, `b gᵀg`, so there is no EMA (the
        /// current batch's factor is used) and quantisation of the raw values keeps the factor PSD.
        case raw
        public var description: String { rawValue }
    }

    public var method: Method
    public var feed: Feed
    /// The device design: β, δt, integrator, DAC (`inputConverter`, `matrixQuantization`), ADC
    /// (`outputConverter`), mismatch, τ, transfer rate, chains, seed. Every factor of every layer gets its
    /// own device of this design with its own seed (own mismatch pattern).
    public var device: DeviceConfiguration
    /// Method 1: readouts per factor inversion (split over `device.chains` chains) for every factor; nil derives
    /// them per factor from `targetRelativeError` (`samples(order:relaxationTime:)`).
    public var samples: Int?
    /// Method 1: target relative Frobenius error `ε` of each inverse when `samples` is nil
    /// (`CovarianceSampling.standard`'s by default).
    public var targetRelativeError: Double
    /// Method 1: analog time between readouts of a chain.
    public var sampleSpacing: AnalogDuration
    /// Method 2: analog averaging time per right-hand side.
    public var analogTime: AnalogDuration
    /// Method 2: readouts per right-hand side over `analogTime` (sets the readout interval `T / readouts`).
    public var readoutsPerRightHandSide: Int
    /// Method 2: chains per right-hand side (≥ 2, for the error bar).
    public var chainsPerRightHandSide: Int
    /// Method 2: start each solve from the previous step's solution (the paper's warm start).
    public var warmStart: Bool
    /// Burn-in of a cold start (Method 1 always; Method 2 at the first step after a refresh without a warm start).
    public var burnIn: AnalogDuration
    /// Method 2: burn-in after a warm start (the residual `x₀ − x*` decays as `e^{-A t}`).
    public var warmStartBurnIn: AnalogDuration
    /// Raw feed: batch rows per array for the cost model when no capture is available (the layer's
    /// captured rows are used otherwise).
    public var batchSize: Int
    /// Error mitigation by ensembles (docs/device.md#ensembles): `K` devices per factor, each with its own seed
    /// (own mismatch and stochastic-rounding draws), all programmed with the same factor and run in parallel;
    /// their inverses (Method 1) or solutions (Method 2) are averaged. Unbiased per-device errors shrink in
    /// variance by `1/K`; device time is the slowest member's, energy `K` times. 1: one device per factor.
    public var ensemble: Int = 1
    /// Method 2 with an auto-ranged quantising ADC: which state sets the ADC's full scale in each solve
    /// (docs/tkfac.md#method-2-linear-systems). `.firstReadout` (the default) spends no conversion on calibration;
    /// `.endOfBurnIn` is the protocol of runs made before it existed (one extra device-basis state per chain).
    public var adcCalibration: ADCCalibration = .firstReadout
    /// Error mitigation by Jacobi equilibration (docs/device.md#equilibrated-programming): program `S M S` with
    /// `S = diag(M_ii^{-1/2})` instead of the damped factor `M` and map the answers back digitally, so that the
    /// DAC's step and the PSD-preserving diagonal shift are relative to every diagonal entry rather than to the
    /// largest. Factor feed only. false: program `M` itself.
    public var equilibrate = false

    /// Defaults: Method 1, factor feed, an exact-integrator device with β = 10⁶ (κ0 = 10⁻⁶, a real
    /// device's noise level per docs/device.md#non-idealities) and ideal converters; Method 1 readouts from
    /// `CovarianceSampling.standard` (target error 0.5, spaced one relaxation time apart); Method 2 as
    /// `Method2Protocol.standard` (averaging over one relaxation time with 2 readouts per right-hand side, a
    /// warm-started burn-in of one relaxation time; cold: 7).
    public init(method: Method = .inversion, feed: Feed = .factors, device: DeviceConfiguration? = nil,
                samples: Int? = nil,
                targetRelativeError: Double = CovarianceSampling.standard.targetRelativeError,
                sampleSpacing: AnalogDuration = .relaxationTimes(CovarianceSampling.standard.spacingRelaxationTimes),
                analogTime: AnalogDuration = .relaxationTimes(Method2Protocol.standard.analogRelaxationTimes),
                readoutsPerRightHandSide: Int = Method2Protocol.standard.readoutsPerRightHandSide,
                chainsPerRightHandSide: Int = Method2Protocol.standard.chainsPerRightHandSide, warmStart: Bool = true,
                burnIn: AnalogDuration = .relaxationTimes(Method2Protocol.standard.coldBurnInRelaxationTimes),
                warmStartBurnIn: AnalogDuration = .relaxationTimes(Method2Protocol.standard.warmStartBurnInRelaxationTimes),
                batchSize: Int = 128) throws(KFACError) {
        self.method = method
        self.feed = feed
        if let device { self.device = device } else { self.device = try Self.defaultDevice() }
        self.samples = samples
        self.targetRelativeError = targetRelativeError
        self.sampleSpacing = sampleSpacing
        self.analogTime = analogTime
        self.readoutsPerRightHandSide = readoutsPerRightHandSide
        self.chainsPerRightHandSide = chainsPerRightHandSide
        self.warmStart = warmStart
        self.burnIn = burnIn
        self.warmStartBurnIn = warmStartBurnIn
        self.batchSize = batchSize
        try validate()
    }

    /// The default TK-FAC device: exact OU transitions simulated per eigenmode (`.eigenbasis`: ill-conditioned
    /// factors equilibrate in one jump, in distribution exactly as the physical device, at O(n) per chain step;
    /// `.exact` gives the same law by one dense GEMM per step), δt = 10⁴ τ (a readout interval is then one
    /// integrator step), β = 10⁶, ideal DAC/ADC, 64 chains, seed 0. A quantised DAC is auto-ranged
    /// per matrix (`inputRange == nil`, full scale = the factor's absmax) unless a fixed range is given.
    public static func defaultDevice(beta: Double = 1e6, inputBits: Int? = nil, inputRange: Double? = nil,
                                     outputBits: Int? = nil,
                                     quantization: QuantizationScheme = .conservative, mismatch: Double = 0,
                                     seed: UInt64 = 0,
                                     integrator: DeviceConfiguration.Integrator = .eigenbasis) throws(KFACError) -> DeviceConfiguration {
        do {
            return try DeviceConfiguration(beta: beta, timeStep: 1e4, integrator: integrator,
                                           inputConverter: DeviceConfiguration.Converter(bits: inputBits, range: inputRange),
                                           matrixQuantization: quantization,
                                           outputConverter: DeviceConfiguration.Converter(bits: outputBits, range: nil),
                                           mismatch: mismatch, seed: seed)
        } catch {
            throw .invalidConfiguration(field: "device", value: "\(error)", requirement: "a valid DeviceConfiguration")
        }
    }

    /// Throws the first setting out of range, saying what is allowed.
    public func validate() throws(KFACError) {
        func fail(_ field: String, _ value: Any, _ requirement: String) -> KFACError {
            .invalidConfiguration(field: "tkfac.\(field)", value: "\(value)", requirement: requirement)
        }
        if let samples, samples < 2 * device.chains {
            throw fail("samples", samples, "Method 1 needs at least 2 readouts per chain: ≥ \(2 * device.chains) with \(device.chains) chains")
        }
        if let samples, samples > CovarianceSampling.largestSampleCount {
            throw fail("samples", samples, "at most \(CovarianceSampling.largestSampleCount) readouts per inversion")
        }
        do { try sampling.validate() } catch {
            throw fail("targetRelativeError", targetRelativeError,
                       "must be at least \(CovarianceSampling.smallestTargetError) and finite (the relative error of each inverse)")
        }
        for (name, d) in [("sampleSpacing", sampleSpacing), ("analogTime", analogTime)] {
            guard d.value > 0, d.value.isFinite else { throw fail(name, d, "must be a positive time (τ or relaxation times)") }
        }
        for (name, d) in [("burnIn", burnIn), ("warmStartBurnIn", warmStartBurnIn)] {
            guard d.value >= 0, d.value.isFinite else { throw fail(name, d, "must be a non-negative time") }
        }
        guard readoutsPerRightHandSide <= Method2Protocol.largestReadoutsPerRightHandSide else {
            throw fail("readoutsPerRightHandSide", readoutsPerRightHandSide,
                       "at most \(Method2Protocol.largestReadoutsPerRightHandSide) readouts per right-hand side")
        }
        guard readoutsPerRightHandSide >= chainsPerRightHandSide else {
            throw fail("readoutsPerRightHandSide", readoutsPerRightHandSide,
                       "need at least one readout per chain (≥ chainsPerRightHandSide = \(chainsPerRightHandSide))")
        }
        guard chainsPerRightHandSide >= 2 else { throw fail("chainsPerRightHandSide", chainsPerRightHandSide, "at least 2 (error bar)") }
        guard batchSize >= 1 else { throw fail("batchSize", batchSize, "must be ≥ 1") }
        guard (1...64).contains(ensemble) else {
            throw fail("ensemble", ensemble, "devices per factor must be 1…64 (1: no ensemble)")
        }
        if equilibrate && feed == .raw {
            throw fail("equilibrate", equilibrate, "equilibration scales the factor before programming: use the factor feed")
        }
    }

    /// Short label for tables and plots, e.g. `"TK-FAC M1 in8c/out8"` (`c`/`s`/`p`: conservative, spectral-shift or
    /// plain quantisation; `out4d`: dithered ADC; `×4`: ensemble of 4).
    public var label: String {
        let fixed = device.inputConverter.range.map { " fixed ±\($0)" } ?? ""
        let scheme = [QuantizationScheme.conservative: "c", .spectralShift: "s", .plainRounding: "p"][device.matrixQuantization] ?? ""
        let inBits = device.inputConverter.bits.map { "in\($0)\(scheme)\(fixed)" } ?? "in∞"
        let dither = device.outputConverter.rounding == .subtractiveDither ? "d" : ""
        let outBits = device.outputConverter.bits.map { "out\($0)\(dither)" } ?? "out∞"
        return "TK-FAC M\(method.rawValue) \(inBits)/\(outBits)\(feed == .raw ? " raw" : "")\(ensemble > 1 ? " ×\(ensemble)" : "")\(equilibrate ? " eq" : "")"
    }

    public var description: String {
        var parts = ["\(method)", "feed \(feed)"]
        switch method {
        case .inversion:
            parts += [samples.map { "samples \($0)" } ?? "samples for target error \(targetRelativeError)",
                      "spacing \(sampleSpacing)", "burn-in \(burnIn)"]
        case .linearSystems:
            parts += ["analog time \(analogTime)/rhs", "\(readoutsPerRightHandSide) readouts/rhs",
                      "\(chainsPerRightHandSide) chains/rhs", "warm start \(warmStart ? "on, burn-in \(warmStartBurnIn)" : "off")",
                      "cold burn-in \(burnIn)"]
            if device.outputConverter.bits != nil && device.outputConverter.range == nil {
                parts.append("ADC range from the \(adcCalibration == .firstReadout ? "first readout" : "end of burn-in")")
            }
        }
        if feed == .raw { parts.append("batch \(batchSize)") }
        if ensemble > 1 { parts.append("ensemble of \(ensemble) devices per factor") }
        if equilibrate { parts.append("Jacobi-equilibrated factors") }
        return "TK-FAC(" + parts.joined(separator: ", ") + "; \(device))"
    }
}


extension ThermodynamicKFACConfiguration {
    /// The readout rule when `samples` is nil: `targetRelativeError` at the default spacing, at least two readouts
    /// per chain.
    public var sampling: CovarianceSampling {
        CovarianceSampling(targetRelativeError: targetRelativeError, minimumSamples: 2 * device.chains)
    }

    /// Method 1 readouts for a programmed factor of order `n` whose relaxation time is `relaxationTime` τ:
    /// `samples` when set, else `CovarianceSampling`'s `⌈(n+1)/ε² · (1+ρ)/(1−ρ)⌉` with `ρ = e^{−2s}` at this
    /// configuration's spacing `s` in relaxation times (docs/device.md#how-many-samples).
    public func samples(order n: Int, relaxationTime: Double) -> Int {
        if let samples { return samples }
        let spacingTau = sampleSpacing.inTau(relaxationTime: relaxationTime)
        let s = relaxationTime > 0 && relaxationTime.isFinite ? spacingTau / relaxationTime : sampling.spacingRelaxationTimes
        return sampling.samples(order: n, spacingRelaxationTimes: s)
    }

    /// The same count when the relaxation time is not known yet (work planning): a spacing given in τ is taken
    /// as the default spacing in relaxation times.
    public func samples(order n: Int) -> Int {
        if case let .relaxationTimes(k) = sampleSpacing { return samples ?? sampling.samples(order: n, spacingRelaxationTimes: k) }
        return samples ?? sampling.samples(order: n)
    }
}
