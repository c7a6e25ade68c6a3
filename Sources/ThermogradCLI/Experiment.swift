import ArgumentParser

/// `thermograd experiment NAME`: the papers' experiments. Each writes CSV, an SVG plot and a table
/// into `--out`, and prints the table with the settings it ran with.
struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce the papers' experiments (CSV, SVG plots and a summary table for each).",
        subcommands: [ExperimentCompare.self, ExperimentQuantization.self, ExperimentMethods.self,
                      ExperimentTNGDMnist.self, ExperimentTNGDTime.self, ExperimentTNGDDelay.self, ExperimentTNGDNoise.self,
                      ExperimentRuntime.self, ExperimentLoRA.self, ExperimentMitigation.self,
                      ExperimentMethodsWidth.self, ExperimentPlot.self]
    )
}
