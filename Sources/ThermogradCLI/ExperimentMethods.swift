import ArgumentParser
import Experiments
import Foundation

/// `thermograd experiment methods`: TK-FAC Method 1 vs Method 2 at equal device time.
struct ExperimentMethods: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods",
        abstract: "TK-FAC Method 1 (inversion) vs Method 2 (linear systems) over device-time budgets.",
        discussion: """
        Arms: Adam, digital K-FAC, Method 1 at each --samples-sweep, Method 2 at each --analog-time-sweep \
        (and with --raw-feed each method's middle budget fed with raw batch arrays). Writes methods.csv, \
        methods.svg (accuracy and loss against step), methods-tradeoff.svg (update error against digital \
        K-FAC and final accuracy against device time per step, one line per method) and methods-table.txt. \
        Read the answer off the trade-off plot: at a given device time per step, the lower error wins.
        """
    )

    @OptionGroup(title: "Comparison") var comparison: ComparisonCommandOptions
    @OptionGroup(title: "TK-FAC device (method and budget are set per arm)") var device: ThermodynamicKFACCommandOptions
    @Option(name: .customLong("samples-sweep"), parsing: .upToNextOption, help: "Method 1 readouts per factor inversion.")
    var samplesSweep: [Int] = [1024, 4096, 16384]
    @Option(name: .customLong("analog-time-sweep"), parsing: .upToNextOption, help: "Method 2 averaging times per right-hand side (--time-unit).")
    var analogTimeSweep: [Double] = [0.25, 1, 4]
    @Flag(name: .customLong("raw-feed"), help: "Also run each method's middle budget with the raw feed.")
    var rawFeed = false

    func experiment() throws -> MethodsExperiment {
        var e = MethodsExperiment()
        e.comparison = comparison.comparison()
        e.device = device.options()
        e.samples = samplesSweep
        e.analogTimes = analogTimeSweep
        e.includeRawFeed = rawFeed
        do { try e.validate() } catch { throw ValidationError(error.description) }
        return e
    }

    func validate() throws { _ = try experiment() }

    func run() throws {
        let e = try experiment()
        let results = try comparison.run(name: "methods", title: "TK-FAC Method 1 vs Method 2 · Fashion-MNIST",
                                         header: e.description, arms: try e.arms(), columns: MethodsExperiment.tableColumns)
        let folder = comparison.out ?? "runs/experiment-methods"
        try MethodsExperiment.tradeOffPlot(results, title: "TK-FAC methods at equal device time").write(to: "\(folder)/methods-tradeoff.svg")
        print("wrote \(folder)/methods-tradeoff.svg")
    }
}
