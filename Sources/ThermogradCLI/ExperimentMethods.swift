import ArgumentParser
import Experiments
import Foundation
import Predictions
import Reporting
import Solvers
import Training

/// `thermograd experiment methods`: TK-FAC Method 1 vs Method 2 at equal device time.
struct ExperimentMethods: TKFACArmsCommand {
    typealias Definition = MethodsExperiment
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
    @OptionGroup(title: "TK-FAC method") var method: TKFACMethodOptions
    @OptionGroup(title: "TK-FAC device (method and budget are set per arm)") var device: DeviceOptions<TKFACDevice>
    @Option(name: .customLong("samples-sweep"), parsing: .upToNextOption, help: "Method 1 readouts per factor inversion.")
    var samplesSweep: [Int] = [1024, 4096, 16384]
    @Option(name: .customLong("analog-time-sweep"), parsing: .upToNextOption, help: "Method 2 averaging times per right-hand side (--time-unit).")
    var analogTimeSweep: [Double] = [0.25, 1, 4]
    @Flag(name: .customLong("raw-feed"), help: "Also run each method's middle budget with the raw feed.")
    var rawFeed = false

    func configure(_ e: inout MethodsExperiment) {
        e.samples = samplesSweep
        e.analogTimes = analogTimeSweep
        e.includeRawFeed = rawFeed
    }

    func run() throws {
        let (e, results, caption, folder) = try runArms(name: "methods", title: "TK-FAC Method 1 vs Method 2")
        try MethodsExperiment.tradeOffPlot(results, title: "TK-FAC methods at equal device time", header: caption).write(to: "\(folder)/methods-tradeoff.svg")
        print("wrote \(folder)/methods-tradeoff.svg")
        let feeds = try feedCostTable(e)
        try AtomicFile.write(feeds + "\n", to: "\(folder)/methods-feed-cost.txt")
        print("\n" + feeds + "\nwrote \(folder)/methods-feed-cost.txt")
    }

    /// The cost model of each feeding mode (`Predictions.StepCostModel` with `ThermodynamicKFACConfiguration.Feed`
    /// factors | raw) for this experiment's model (derived from its definition), batch and T_inv, with the model's default analog hardware
    /// and A100 digital rates: predicted per-step device terms of TK-FAC Methods 1 and 2.
    func feedCostTable(_ e: MethodsExperiment) throws -> String {
        let c = e.comparison
        guard let workload = Workload.registered(c.model.rawValue, batch: c.batchSize, configuration: c.kfacTraining) else {
            throw ValidationError("--model \(c.model.rawValue) is not registered")
        }
        var table = TextTable(title: "Cost model per step by feeding mode (Predictions.StepCostModel, A100 digital rates, default analog hardware)",
                              headers: ["optimizer", "feed", "total s", "DAC s", "programming s", "equilibration s", "sampling s", "ADC s", "bottleneck"])
        for feed in ThermodynamicKFACConfiguration.Feed.allCases {
            var schedule = KFACSchedule()
            schedule.feed = feed
            schedule.inverseInterval = c.kfac.inverseUpdateInterval
            let prediction = try StepCostModel(digital: .a100, schedule: schedule).predict(workload)
            for name in ["tkfac-m1", "tkfac-m2"] {
                guard let p = prediction.optimizer(name) else { continue }
                func term(_ suffix: String) -> String {
                    formatEngineering(p.terms.filter { $0.name.hasSuffix(suffix) }.reduce(0) { $0 + $1.seconds })
                }
                table.append([name, feed.rawValue, formatEngineering(p.totalSeconds), term("DAC transfer"), term("programming"),
                              term("equilibration"), term("sampling"), term("ADC readout"), p.bottleneck?.name ?? "–"])
            }
        }
        return table.render()
    }
}
