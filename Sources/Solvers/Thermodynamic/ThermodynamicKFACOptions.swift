import ThermoDevice

/// The TK-FAC knobs as plain, codable data (what `thermograd train --optimizer tkfac` and the experiments
/// vary, saved in a run's `config.json`); `configuration()` turns them into a validated
/// `ThermodynamicKFACConfiguration` on the default TK-FAC device (`ThermodynamicKFACConfiguration.defaultDevice`).
///
/// Durations are in relaxation times `1/λ_min` of each programmed factor when `timeUnit == .relaxationTimes`
/// (the default: the device's natural clock), in τ otherwise.
public struct ThermodynamicKFACOptions: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum TimeUnit: String, Sendable, Equatable, Codable, CaseIterable { case relaxationTimes = "relaxation", tau }

    /// 1: inversion from the covariance; 2: linear systems from the mean.
    public var method: Int = 1
    /// `factors` (EMA, `n(n+1)/2` couplings) or `raw` (batch arrays, no EMA).
    public var feed: String = ThermodynamicKFACConfiguration.Feed.factors.rawValue
    /// DAC bits for couplings and inputs (nil: ideal).
    public var inputBits: Int? = nil
    /// Full-scale range of the coupling DAC: nil (the default) auto-ranges every matrix to its absmax
    /// (largest diagonal entry of a PSD factor) before sending; a number is a fixed range in the device's
    /// coupling units (1 = the coupling range, the old behaviour, which zeroes the off-diagonals of wide
    /// factors at 8 bits: see `DeviceConfiguration.couplingDACRange(for:)`).
    public var inputRange: Double? = nil
    /// `conservative` (PSD-preserving) or `plainRounding`.
    public var quantization: String = QuantizationScheme.conservative.rawValue
    /// Stochastic instead of nearest rounding in the DAC.
    public var stochasticRounding = false
    /// ADC bits for readouts (nil: ideal), auto-ranged.
    public var outputBits: Int? = nil
    /// Subtractive dither on the ADC (docs/device.md#dithered-adc); nil or false: plain rounding to nearest.
    public var outputDither: Bool? = nil
    /// Devices per factor whose answers are averaged (docs/device.md#ensembles); nil: 1.
    public var ensemble: Int? = nil
    /// Program the Jacobi-equilibrated factors (docs/device.md#equilibrated-programming); nil or false: the factors themselves.
    public var equilibrate: Bool? = nil
    /// Inverse temperature β (noise `sqrt(2/β)`; κ0 = 1/β).
    public var beta: Double = 1e6
    /// Component mismatch ε.
    public var mismatch: Double = 0
    /// Method 1 readouts per factor inversion, the same for every factor; nil (the default) derives them per
    /// factor from `targetError` (`CovarianceSampling`: `N ∝ (n+1)/ε²`, docs/device.md#how-many-samples).
    /// Configurations saved before the target existed hold a number and keep it.
    public var samples: Int? = nil
    /// Method 1 target relative error `ε` of each inverse when `samples` is nil; nil is
    /// `CovarianceSampling.standard`'s (0.5).
    public var targetError: Double? = nil
    /// Method 1 spacing between readouts (`CovarianceSampling.standard`'s: one relaxation time).
    public var sampleSpacing: Double = CovarianceSampling.standard.spacingRelaxationTimes
    /// Method 2 averaging time per right-hand side (`Method2Protocol.standard`'s: one relaxation time).
    public var analogTime: Double = Method2Protocol.standard.analogRelaxationTimes
    /// Method 2 readouts per right-hand side (`Method2Protocol.standard`'s: 2).
    public var readouts: Int = Method2Protocol.standard.readoutsPerRightHandSide
    /// Method 2 with an auto-ranged quantising ADC: which state sets the ADC's range (`ADCCalibration` raw value:
    /// `first-readout`, the default, or `burn-in`). nil — configurations saved before the choice existed —
    /// is `burn-in`, their protocol, so they resume unchanged.
    public var adcCalibration: String? = ADCCalibration.firstReadout.rawValue
    /// Method 2 warm start.
    public var warmStart = true
    /// Burn-in of a cold start and after a warm start.
    public var burnIn: Double = Method2Protocol.standard.coldBurnInRelaxationTimes
    public var warmStartBurnIn: Double = Method2Protocol.standard.warmStartBurnInRelaxationTimes
    public var timeUnit: TimeUnit = .relaxationTimes
    /// Device seed (each factor of each layer derives its own device from it).
    public var seed: UInt64 = 0
    /// How the devices' trajectories are simulated (`DeviceConfiguration.Integrator` raw value): nil is the
    /// default, `eigenbasis` (exact, O(n) per chain step); `exact` is the same law by a dense GEMM per step
    /// (bit-for-bit the results of runs made before `eigenbasis` existed). Optional so that older saved
    /// configurations decode.
    public var integrator: String? = nil

    public init() {}

    /// The validated configuration; errors name the setting and the valid range.
    public func configuration() throws(KFACError) -> ThermodynamicKFACConfiguration {
        guard let m = ThermodynamicKFACConfiguration.Method(rawValue: method) else {
            throw .invalidConfiguration(field: "tkfac.method", value: "\(method)", requirement: "use 1 (inversion) or 2 (linear systems)")
        }
        guard let f = ThermodynamicKFACConfiguration.Feed(rawValue: feed) else {
            throw .invalidConfiguration(field: "tkfac.feed", value: feed, requirement: "use factors or raw")
        }
        guard let q = QuantizationScheme(rawValue: quantization) else {
            throw .invalidConfiguration(field: "tkfac.quantization", value: quantization,
                                        requirement: "use conservative, spectralShift or plainRounding")
        }
        guard let integration = DeviceConfiguration.Integrator(rawValue: integrator ?? DeviceConfiguration.Integrator.eigenbasis.rawValue),
              integration.isExact else {
            throw .invalidConfiguration(field: "tkfac.integrator", value: integrator ?? "nil",
                                        requirement: "use eigenbasis (the default) or exact: TK-FAC's readout intervals are one exact step")
        }
        let device: DeviceConfiguration
        do {
            device = try DeviceConfiguration(
                beta: beta, timeStep: 1e4, integrator: integration,
                inputConverter: DeviceConfiguration.Converter(bits: inputBits, range: inputRange,
                                                          rounding: stochasticRounding ? .stochastic : .nearest),
                matrixQuantization: q,
                outputConverter: DeviceConfiguration.Converter(bits: outputBits, range: nil,
                                                               rounding: outputDither == true ? .subtractiveDither : .nearest),
                mismatch: mismatch, seed: seed)
        } catch {
            throw .invalidConfiguration(field: "tkfac.device", value: "\(error)", requirement: "see the device's message")
        }
        func d(_ x: Double) -> AnalogDuration { timeUnit == .tau ? .tau(x) : .relaxationTimes(x) }
        var c = try ThermodynamicKFACConfiguration(
            method: m, feed: f, device: device, samples: samples,
            targetRelativeError: targetError ?? CovarianceSampling.standard.targetRelativeError, sampleSpacing: d(sampleSpacing), analogTime: d(analogTime),
            readoutsPerRightHandSide: readouts, chainsPerRightHandSide: Method2Protocol.standard.chainsPerRightHandSide, warmStart: warmStart, burnIn: d(burnIn),
            warmStartBurnIn: d(warmStartBurnIn))
        c.ensemble = ensemble ?? 1
        c.equilibrate = equilibrate ?? false
        guard let calibration = ADCCalibration(rawValue: adcCalibration ?? ADCCalibration.endOfBurnIn.rawValue) else {
            throw .invalidConfiguration(field: "tkfac.adcCalibration", value: adcCalibration ?? "nil",
                                        requirement: "use first-readout or burn-in")
        }
        c.adcCalibration = calibration
        try c.validate()
        return c
    }

    public var description: String { (try? configuration().description) ?? "TK-FAC(invalid options)" }

    /// The device knobs TK-FAC lets a user set; δt (one exact step per readout interval) and the chains
    /// (`chainsPerRightHandSide`) are TK-FAC's own choices.
    public static let deviceKnobs: Set<DeviceSettings.Knob> = [.integrator, .beta, .dacBits, .dacRange, .adcBits, .quantization,
                                                               .mismatch, .seed]

    /// The device fields above as `DeviceSettings` (the knobs in `deviceKnobs`; the others read as
    /// `DeviceSettings`' defaults and are not stored). Integrator `eigenbasis` is stored as nil.
    public var device: DeviceSettings {
        get {
            var d = DeviceSettings()
            d.integrator = DeviceConfiguration.Integrator(rawValue: integrator ?? "") ?? .eigenbasis
            d.beta = beta
            d.dacBits = inputBits
            d.dacRange = inputRange
            d.adcBits = outputBits
            d.quantization = QuantizationScheme(rawValue: quantization) ?? .conservative
            d.mismatch = mismatch
            d.seed = seed
            return d
        }
        set {
            integrator = newValue.integrator == .eigenbasis ? nil : newValue.integrator.rawValue
            beta = newValue.beta
            inputBits = newValue.dacBits
            inputRange = newValue.dacRange
            outputBits = newValue.adcBits
            quantization = newValue.quantization.rawValue
            mismatch = newValue.mismatch
            seed = newValue.seed
        }
    }
}
