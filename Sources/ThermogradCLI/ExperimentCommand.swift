import ArgumentParser
import Experiments
import Solvers

/// An `experiment` subcommand over a typed `ExperimentDefinition`: `makeExperiment` fills the fields the options
/// hold, the definition's `validate()` checks them, and both ArgumentParser's validation and `run` go through
/// `experiment()` — so every check lives in the definition and reads the same from the CLI.
protocol ExperimentCommand: ParsableCommand {
    associatedtype Definition: ExperimentDefinition
    /// The experiment as the options describe it, not yet validated.
    func makeExperiment() throws -> Definition
}

extension ExperimentCommand {
    /// The validated experiment; a failed check becomes a usage error naming the setting.
    func experiment() throws -> Definition {
        let e = try makeExperiment()
        do { try e.validate() } catch { throw ValidationError(error.description) }
        return e
    }

    func validate() throws { _ = try experiment() }
}

/// An experiment command of TK-FAC arms on the comparison harness: the comparison, TK-FAC method and device option
/// groups fill `comparison` and `device`; the command sets only its own sweep (`configure`).
protocol TKFACArmsCommand: ExperimentCommand where Definition: TKFACArmsExperiment {
    var comparison: ComparisonCommandOptions { get }
    var method: TKFACMethodOptions { get }
    var device: DeviceOptions<TKFACDevice> { get }
    /// The experiment's own settings (sweeps, flags) on top of the shared comparison and device settings.
    func configure(_ e: inout Definition) throws
}

extension TKFACArmsCommand {
    func makeExperiment() throws -> Definition {
        var e = Definition()
        e.comparison = comparison.comparison()
        e.device = try method.options(device: device)
        try configure(&e)
        return e
    }

    /// Runs the experiment's arms (`comparison.run`: CSV, SVGs, table under the output folder, default
    /// `runs/experiment-<name>`); returns the experiment, its results, the caption every figure carries and the
    /// folder, for the command's extra figures.
    func runArms(name: String, title: String) throws -> (experiment: Definition, results: ExperimentResults, caption: [String], folder: String) {
        let e = try experiment()
        let (results, caption) = try comparison.run(name: name, title: "\(title) · \(comparison.dataName)", header: e.description,
                                                    arms: try e.arms(), columns: Definition.tableColumns)
        return (e, results, caption, comparison.out ?? "runs/experiment-\(name)")
    }
}

/// The converter resolutions an experiment sweeps: DAC (inputs, with an ideal ADC) and ADC (outputs, with an
/// ideal DAC).
struct ConverterSweepOptions: ParsableArguments {
    @Option(name: .customLong("dac-bits-sweep"), parsing: .upToNextOption, help: "DAC resolutions to sweep (ideal ADC).")
    var inputBits: [Int] = [4, 8]
    @Option(name: .customLong("adc-bits-sweep"), parsing: .upToNextOption, help: "ADC resolutions to sweep (ideal DAC).")
    var outputBits: [Int] = [4, 8]
}
