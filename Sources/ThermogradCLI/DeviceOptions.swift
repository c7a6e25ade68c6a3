import ArgumentParser
import Linalg
import Experiments
import Optimizers
import Solvers
import ThermoDevice

extension DeviceConfiguration.Integrator: ExpressibleByArgument {
    /// Also accepts TNGD's spelling `euler-maruyama`.
    public init?(argument: String) { self.init(rawValue: argument == "euler-maruyama" ? "eulerMaruyama" : argument) }
}
extension QuantizationScheme: ExpressibleByArgument {}

/// A device whose knobs the device options set: its name in help and errors, its defaults (read from its
/// settings type's default instance) and the knobs it lets a user set.
struct DeviceTarget: Sendable {
    let name: String
    let defaults: DeviceSettings
    let knobs: Set<DeviceSettings.Knob>

    /// The standalone simulator (`simulate`): every knob, `DeviceSettings`' defaults.
    static let simulator = DeviceTarget(name: "", defaults: DeviceSettings(), knobs: Set(DeviceSettings.Knob.allCases))
    /// TK-FAC's devices (`--optimizer tkfac`, the TK-FAC experiments), with the defaults of `options`.
    static func tkfac(_ options: ThermodynamicKFACOptions = ThermodynamicKFACOptions()) -> DeviceTarget {
        DeviceTarget(name: "tkfac", defaults: options.device, knobs: ThermodynamicKFACOptions.deviceKnobs)
    }
    /// TNGD's device (`--optimizer tngd|tngd-adam`, the TNGD experiments).
    static let tngd = DeviceTarget(name: "tngd", defaults: ThermodynamicNaturalGradientSettings().device,
                                   knobs: ThermodynamicNaturalGradientSettings.deviceKnobs)
}

/// Which devices a command's device options may set (the targets' defaults are shown in `--help`).
protocol DeviceTargets { static var targets: [DeviceTarget] { get } }
enum SimulatorDevice: DeviceTargets { static let targets = [DeviceTarget.simulator] }
enum TKFACDevice: DeviceTargets { static let targets = [DeviceTarget.tkfac()] }
/// `experiment compare`: TK-FAC with the comparison's 8-bit converters (`KFACComparisonSettings.compareDevice`).
enum CompareDevice: DeviceTargets { static let targets = [DeviceTarget.tkfac(KFACComparisonSettings().compareDevice)] }
enum TNGDDevice: DeviceTargets { static let targets = [DeviceTarget.tngd] }
/// `train` and `bench train-step`: the device of the chosen optimiser (`tkfac`, or `tngd`/`tngd-adam`).
enum OptimizerDevices: DeviceTargets { static let targets = [DeviceTarget.tkfac(), DeviceTarget.tngd] }

/// The one device option group (docs/device.md): one flag per knob in `simulate`, `train`, `bench train-step`
/// and the experiments. Every option is optional: a knob the user did not pass keeps the default of the
/// device it applies to (`DeviceSettings`, `ThermodynamicKFACOptions`, `ThermodynamicNaturalGradientSettings`),
/// shown in `--help`. No command runs two kinds of device at once, so no prefixes are needed: in `train` the
/// options set the device of `--optimizer`.
struct DeviceOptions<Targets: DeviceTargets>: ParsableArguments {
    @Option(help: Self.help(.integrator, "Integrator: eigenbasis (exact OU transition per eigenmode, O(n) per chain step), exact (the same law by one dense GEMM per step) or eulerMaruyama (the papers' method, δt-biased; also euler-maruyama)."))
    var integrator: DeviceConfiguration.Integrator?
    @Option(help: Self.help(.timeStep, "Integrator step δt in τ (Euler–Maruyama is stable for δt < 2/λ_max)."))
    var dt: Double?
    @Option(help: Self.help(.beta, "Inverse temperature β: noise sqrt(2/β) dW (TNGD's κ0 = 1/β)."))
    var beta: Double?
    @Option(help: Self.help(.chains, "Independent chains simulated together."))
    var chains: Int?
    @Option(name: .customLong("dac-bits"), help: Self.help(.dacBits, "DAC bits for couplings and inputs."))
    var dacBits: Int?
    @Option(name: .customLong("dac-range"), help: Self.help(.dacRange, "Coupling DAC full scale: auto (per matrix: its absmax) or a number in coupling units (1 = the coupling range)."))
    var dacRange: DACRange?
    @Option(name: .customLong("adc-bits"), help: Self.help(.adcBits, "ADC bits for readouts (range auto-calibrated)."))
    var adcBits: Int?
    @Option(help: Self.help(.quantization, "Coupling quantisation: conservative (PSD-preserving, Gershgorin row sums), spectralShift (PSD-preserving with probability 1 − 1e-9, a shift ∝ √(n log n); stochastic rounding) or plainRounding."))
    var quantization: QuantizationScheme?
    @Option(help: Self.help(.mismatch, "Component mismatch ε of every coupling."))
    var mismatch: Double?
    @Option(name: .customLong("device-seed"), help: Self.help(.seed, "Device seed (noise, mismatch, rounding)."))
    var deviceSeed: UInt64?

    /// `text` with the default of every target that has the knob; hidden when none has it.
    static func help(_ knob: DeviceSettings.Knob, _ text: String) -> ArgumentHelp {
        let owners = Targets.targets.filter { $0.knobs.contains(knob) }
        let values = owners.map { t in (t.name.isEmpty ? "" : t.name + " ") + Self.shown(knob, of: t.defaults) }
        return ArgumentHelp(text + " (default: \(values.joined(separator: ", ")))", visibility: owners.isEmpty ? .private : .default)
    }

    /// A knob's value as `--help` shows it.
    static func shown(_ knob: DeviceSettings.Knob, of d: DeviceSettings) -> String {
        switch knob {
        case .integrator: return d.integrator.rawValue
        case .timeStep: return "\(d.timeStep)"
        case .beta: return "\(d.beta)"
        case .chains: return "\(d.chains)"
        case .dacBits: return d.dacBits.map { "\($0)" } ?? "ideal"
        case .dacRange: return d.dacRange.map { "\($0)" } ?? "auto"
        case .adcBits: return d.adcBits.map { "\($0)" } ?? "ideal"
        case .quantization: return d.quantization.rawValue
        case .mismatch: return "\(d.mismatch)"
        case .seed: return "\(d.seed)"
        }
    }

    /// A passed knob and the write of its value.
    typealias Override = (knob: DeviceSettings.Knob, write: (inout DeviceSettings) -> Void)

    /// The knobs the user passed, in `DeviceSettings.Knob` order, each with what it writes: the one list from
    /// which both `passed` and `apply` follow.
    var overrides: [Override] {
        var o: [Override] = []
        if let integrator { o.append((.integrator, { $0.integrator = integrator })) }
        if let dt { o.append((.timeStep, { $0.timeStep = dt })) }
        if let beta { o.append((.beta, { $0.beta = beta })) }
        if let chains { o.append((.chains, { $0.chains = chains })) }
        if let dacBits { o.append((.dacBits, { $0.dacBits = dacBits })) }
        if let dacRange { o.append((.dacRange, { $0.dacRange = dacRange.value })) }
        if let adcBits { o.append((.adcBits, { $0.adcBits = adcBits })) }
        if let quantization { o.append((.quantization, { $0.quantization = quantization })) }
        if let mismatch { o.append((.mismatch, { $0.mismatch = mismatch })) }
        if let deviceSeed { o.append((.seed, { $0.seed = deviceSeed })) }
        return o
    }

    /// The knobs the user passed.
    var passed: [DeviceSettings.Knob] { overrides.map(\.knob) }

    /// Writes the passed knobs over `settings` (the defaults of `target`); refuses a knob `target` does not
    /// have and names an invalid value by its option (`--dt -1 is invalid: …`).
    func apply(to settings: inout DeviceSettings, target: DeviceTarget) throws {
        if let knob = passed.first(where: { !target.knobs.contains($0) }) {
            let own = DeviceSettings.Knob.allCases.filter(target.knobs.contains).map(\.flag)
            throw ValidationError("\(knob.flag) does not apply to the \(target.name) device (it has \(own.joined(separator: ", ")))")
        }
        for o in overrides { o.write(&settings) }
        do { _ = try settings.configuration() } catch { throw ValidationError(Self.namingOption(error)) }
    }

    /// Refuses device options when the command's optimiser has no device (`train --optimizer adam --beta 2`).
    func requireNone(because reason: String) throws {
        if let knob = passed.first { throw ValidationError("\(knob.flag) \(reason)") }
    }

    static func namingOption(_ error: ThermoDeviceError) -> String {
        guard case let .invalidParameter(name, value, requirement) = error, let option = DeviceSettings.parameterNames[name]?.flag else {
            return error.description
        }
        if name == "errorBarGroups" {
            return "\(option) is too small: the error bar needs at least \(value) chains (\(requirement))"
        }
        return "\(option) \(value) is invalid: \(requirement)"
    }

    /// The simulator's device (`simulate`): `DeviceSettings`' defaults with the passed knobs.
    func simulatorConfiguration() throws -> DeviceConfiguration {
        var s = DeviceSettings()
        try apply(to: &s, target: .simulator)
        return try s.configuration()
    }
}

extension DeviceSettings.Knob {
    /// The knob's flag in every command.
    var flag: String {
        switch self {
        case .timeStep: return "--dt"
        case .dacBits: return "--dac-bits"
        case .dacRange: return "--dac-range"
        case .adcBits: return "--adc-bits"
        case .seed: return "--device-seed"
        case .integrator, .beta, .chains, .quantization, .mismatch: return "--" + rawValue
        }
    }
}

/// `--dac-range auto` or a full scale in coupling units.
struct DACRange: ExpressibleByArgument {
    /// nil: auto-ranged per matrix.
    let value: Double?
    init?(argument: String) {
        if argument == "auto" { value = nil } else if let v = Double(argument) { value = v } else { return nil }
    }
}

/// Refuses a simulation whose chains would not fit in memory: the state, the next state, the noise and
/// the running sums, each `chains × n` scalars, and the `n × n` matrices (problem, couplings, covariance).
func requireSimulationMemory(_ config: DeviceConfiguration, size n: Int, scalarBytes: Int) throws {
    let bytes = Double(scalarBytes) * (6 * Double(config.chains) * Double(n) + 8 * Double(n) * Double(n))
    do {
        try SystemMemory.require(bytes, for: "simulating \(config.chains) chains of \(n) cells", advice: "lower --chains")
    } catch { throw ValidationError(error.description) }
}
