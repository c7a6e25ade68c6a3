import ArgumentParser
import Experiments
import Optimizers
import Solvers

/// `thermograd experiment compare`: the main comparison (`make demo`) — Adam vs digital K-FAC vs TK-FAC
/// with 8-bit converters on the Fashion-MNIST MLP.
struct ExperimentCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Adam vs digital K-FAC vs TK-FAC (8-bit DAC and ADC by default) on Fashion-MNIST.",
        discussion: """
        The three share model, batch, data order and initial weights per seed; TK-FAC differs from digital \
        K-FAC only in its factor solver (simulated devices, Method 1 by default, conservative 8-bit input \
        and 8-bit output quantisation). Writes compare.csv, compare.svg and compare-table.txt.
        """
    )

    @OptionGroup(title: "Comparison") var comparison: ComparisonCommandOptions
    @OptionGroup(title: "TK-FAC method") var method: TKFACMethodOptions
    @OptionGroup(title: "TK-FAC device") var device: DeviceOptions<CompareDevice>

    func run() throws {
        let settings = comparison.comparison()
        let o = try method.options(base: settings.compareDevice, device: device)
        let c = try o.configuration()
        let arm = try ExperimentArm.thermodynamicKFAC(name: c.label, training: settings.kfacTraining, kfac: settings.kfac,
                                                      options: o, measureUpdateError: true)
        _ = try comparison.run(name: "compare", title: "Adam vs K-FAC vs TK-FAC · \(comparison.dataName)",
                               header: "\(settings)\nTK-FAC: \(c)", arms: settings.baselines() + [arm],
                               columns: QuantizationExperiment.tableColumns)
    }
}
