import ArgumentParser
import Solvers
import ThermoDevice

extension ThermodynamicKFACOptions.TimeUnit: ExpressibleByArgument {}
extension ThermodynamicKFACConfiguration.Feed: ExpressibleByArgument {}
extension ADCCalibration: ExpressibleByArgument {}

/// The TK-FAC method and its budget (`--method`, `--feed`, `--samples`, `--analog-time`, …), shared by
/// `thermograd train --optimizer tkfac`, `bench train-step` and the TK-FAC experiments; the devices' own
/// knobs are the device options (`DeviceOptions`). Every option is optional: one the user did not pass
/// keeps the default of `ThermodynamicKFACOptions`, shown in `--help`.
struct TKFACMethodOptions: ParsableArguments {
    private static let d = ThermodynamicKFACOptions()

    @Option(help: defaulted("TK-FAC method: 1 (inverse from the device covariance) or 2 (linear solves from the device mean).", d.method))
    var method: Int?
    @Option(help: defaulted("What the device receives: factors (EMA, n(n+1)/2 couplings) or raw (batch arrays, no EMA).", d.feed))
    var feed: ThermodynamicKFACConfiguration.Feed?
    @Option(name: .customLong("analog-time"), help: defaulted("Method 2: averaging time per right-hand side (in --time-unit).", d.analogTime))
    var analogTime: Double?
    @Option(help: defaulted("Method 1: readouts per factor inversion, the same for every factor.", d.samples,
                            none: "derived per factor from --target-error"))
    var samples: Int?
    @Option(name: .customLong("target-error"),
            help: defaulted("Method 1: target relative error ε of each inverse; readouts per factor of order n: ⌈(n+1)/ε²·(1+ρ)/(1−ρ)⌉, ρ = e^{-2s}, at least 2 per chain (ignored with --samples).",
                            d.targetError, none: "\(CovarianceSampling.standard.targetRelativeError)"))
    var targetError: Double?
    @Option(name: .customLong("sample-spacing"), help: defaulted("Method 1: time between readouts (in --time-unit).", d.sampleSpacing))
    var sampleSpacing: Double?
    @Option(help: defaulted("Method 2: readouts per right-hand side.", d.readouts))
    var readouts: Int?
    @Option(name: .customLong("adc-calibration"),
            help: defaulted("Method 2, auto-ranged ADC: the state that sets the ADC range in each solve: first-readout (no extra conversion) or burn-in (an extra conversion at the end of burn-in, the older protocol).",
                            d.adcCalibration ?? ADCCalibration.endOfBurnIn.rawValue))
    var adcCalibration: ADCCalibration?
    @Flag(name: .customLong("no-warm-start"), help: "Method 2: start every solve cold.")
    var noWarmStart = false
    @Option(name: .customLong("time-unit"), help: defaulted("Unit of the analog times: relaxation (1/λ_min of each factor) or tau.", d.timeUnit.rawValue))
    var timeUnit: ThermodynamicKFACOptions.TimeUnit?
    @Option(help: "Error mitigation: devices per factor whose answers are averaged (default 1).")
    var ensemble: Int?
    @Flag(name: .customLong("adc-dither"), help: "Error mitigation: subtractive dither on the ADC (with --adc-bits).")
    var adcDither = false
    @Flag(help: "Error mitigation: program each damped factor M as D^(-1/2) M D^(-1/2) (D its diagonal) and scale the answers back, so that the DAC step and the PSD shift are relative to every diagonal entry (factor feed).")
    var equilibrate = false

    /// The TK-FAC options with the passed method settings and device knobs (validated by `configuration()`).
    func options(base: ThermodynamicKFACOptions = ThermodynamicKFACOptions(),
                 device: DeviceOptions<some DeviceTargets>) throws -> ThermodynamicKFACOptions {
        var o = base
        if let method { o.method = method }
        if let feed { o.feed = feed.rawValue }
        if let analogTime { o.analogTime = analogTime }
        if let samples { o.samples = samples }
        if let targetError { o.targetError = targetError }
        if let sampleSpacing { o.sampleSpacing = sampleSpacing }
        if let readouts { o.readouts = readouts }
        if let adcCalibration { o.adcCalibration = adcCalibration.rawValue }
        if noWarmStart { o.warmStart = false }
        if let timeUnit { o.timeUnit = timeUnit }
        if let ensemble { o.ensemble = ensemble }
        if adcDither { o.outputDither = true }
        if equilibrate { o.equilibrate = true }
        try device.apply(to: &o.device, target: .tkfac(base))
        do { _ = try o.configuration() } catch { throw ValidationError(error.description) }
        return o
    }
}
