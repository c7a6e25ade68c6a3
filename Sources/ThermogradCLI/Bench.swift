import ArgumentParser

/// `thermograd bench …`: performance measurements printed as JSON.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure performance; every benchmark prints JSON to standard output.",
        discussion: """
        Benchmarks report medians of repeated runs and ratios against a reference measured in the \
        same run (for example the machine's GEMM peak). Build with `swift build -c release` first: \
        debug builds are not representative.
        """,
        subcommands: [BenchBLAS.self, BenchTrainStep.self, BenchDevice.self, BenchCollectives.self]
    )
}
