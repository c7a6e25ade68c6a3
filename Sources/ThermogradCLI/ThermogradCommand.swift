import ArgumentParser

/// The `thermograd` command: the root of every subcommand.
public struct ThermogradCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "thermograd",
        abstract: "Thermodynamic second-order optimisation, simulated on the CPU.",
        discussion: """
        Thermograd simulates a thermodynamic computer (coupled analog oscillators relaxing under \
        Ornstein–Uhlenbeck dynamics) that solves A x = b from the mean of its equilibrium state and \
        inverts A from its covariance, and uses it inside second-order optimisers (K-FAC, natural \
        gradient) to train neural networks on real data.

        Every matrix product and factorisation runs on OpenBLAS/LAPACKE. The number of OpenBLAS \
        threads is set by the environment variable OPENBLAS_NUM_THREADS (default: one per core) or \
        by a command's --threads option where it has one.

        Examples:
          thermograd bench blas               # GEMM GFLOP/s, this machine's peak
          thermograd bench blas --sizes 512   # one size only
        """,
        subcommands: [Bench.self, Simulate.self, Train.self, Predict.self, Experiment.self]
    )

    public init() {}

    /// `arguments` with every negative number that follows an option joined to it (`--train-subset -5` →
    /// `--train-subset=-5`). ArgumentParser reads a lone `-5` as an option and reports "Missing value for
    /// '--train-subset'", which hides the real problem; joined, the value reaches the option's own check
    /// ("train subset must be at least 1"). No Thermograd option or flag is spelled like a number.
    public static func joiningNegativeNumbers(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for argument in arguments {
            if let previous = out.last, previous.hasPrefix("--"), previous.count > 2, !previous.contains("="),
               argument.hasPrefix("-"), let next = argument.dropFirst().first, next.isNumber || next == "." || argument == "-inf" || argument == "-nan" {
                out[out.count - 1] = previous + "=" + argument
            } else {
                out.append(argument)
            }
        }
        return out
    }
}
