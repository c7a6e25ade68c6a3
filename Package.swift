// swift-tools-version: 6.0
// Thermograd: thermodynamic second-order optimisation, simulated on the CPU.
// The pipeline, one module per idea:
//   forward/backward (NeuralNet) → curvature: Kronecker factors, GGN products (Curvature)
//   → solver: digital (Linalg, OpenBLAS/LAPACKE) or thermodynamic (ThermoDevice) (Solvers)
//   → update (Optimizers) → training loop (Training).
import PackageDescription

let package = Package(
    name: "Thermograd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "thermograd", targets: ["ThermogradTool"]),
        // One import for everything: `import Thermograd` re-exports the public modules below.
        .library(name: "Thermograd", targets: ["Thermograd"]),
        .library(name: "Linalg", targets: ["Linalg"]),
        .library(name: "ThermoDevice", targets: ["ThermoDevice"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Curvature", targets: ["Curvature"]),
        .library(name: "Solvers", targets: ["Solvers"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        // For the fuzz targets in fuzz/ (a separate package that builds these with -sanitize=fuzzer).
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Text", targets: ["Text"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Predictions", targets: ["Predictions"]),
        .library(name: "Chemistry", targets: ["Chemistry"]),  // also for fuzz/ (FuzzSMILES)
        .library(name: "Reporting", targets: ["Reporting"]),
        .library(name: "Communication", targets: ["Communication"]),
        .library(name: "MPICommunication", targets: ["MPICommunication"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        // `swift package generate-documentation` for the DocC catalogues (Sources/*/*.docc); build-time only.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // System libraries. Debian: libopenblas-dev (CBLAS), liblapacke-dev (LAPACKE), zlib1g-dev.
        // Include folders come from pkg-config; never hard-code openblas-pthread.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev", "pkg-config"])]),
        .systemLibrary(name: "CLAPACKE", pkgConfig: "lapacke",
                       providers: [.apt(["liblapacke-dev", "pkg-config"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Open MPI (Debian libopenmpi-dev, openmpi-bin; scripts/install-deps.sh installs them).
        // Vector square roots for the optimisers' SIMD update loops (a header, nothing to link).
        .systemLibrary(name: "CVectorMath"),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // Dense matrices, BLAS/LAPACK wrappers, seeded randomness.
        .target(name: "Linalg", dependencies: [
            "CBLAS", "CLAPACKE",
            .product(name: "RealModule", package: "swift-numerics"),
        ]),
        // Ranks and collectives (all-reduce, broadcast, gather) for multi-process training; one process by default.
        .target(name: "Communication", dependencies: ["Linalg"]),
        // The communicator on Open MPI.
        .target(name: "MPICommunication", dependencies: ["CMPI", "Communication"]),
        // CSV, SVG plots, tables, progress lines, JSON for benchmarks.
        .target(name: "Reporting"),
        // The simulated thermodynamic computer (stochastic processing unit).
        .target(name: "ThermoDevice", dependencies: ["CVectorMath", "Linalg"]),
        // Layers with explicit forward/backward, losses, models.
        .target(name: "NeuralNet", dependencies: ["Linalg"]),
        // Real data sets (Fashion-MNIST IDX files, …).
        .target(name: "Datasets", dependencies: ["Linalg", "CZlib"]),
        // Text: BERT's WordPiece tokenizer (vocab.txt), text data sets as token batches.
        .target(name: "Text", dependencies: ["Linalg", "Datasets", "Reporting"]),
        // Molecules: SMILES parser, OGB-style atom/bond features, scaffold split, molecule data sources.
        .target(name: "Chemistry", dependencies: ["Linalg", "NeuralNet", "Datasets"]),
        // Curvature of a model on a batch: output curvature, Kronecker factors, the linearised model (JVP/VJP),
        // the generalised Gauss–Newton operator F·v. Digital only.
        .target(name: "Curvature", dependencies: ["CBLAS", "Linalg", "NeuralNet", "Communication"]),
        // Solvers of the curvature systems, digital and thermodynamic side by side: K-FAC block (factor)
        // solvers (Cholesky, eigen, device) and natural-gradient linear solvers (dense, CG, Woodbury, device).
        .target(name: "Solvers", dependencies: ["CBLAS", "Linalg", "NeuralNet", "Curvature", "ThermoDevice"]),
        // First-order (SGD, Adam) and preconditioned optimisers (K-FAC, NGD, TK-FAC, TNGD).
        .target(name: "Optimizers", dependencies: ["CVectorMath", "Linalg", "NeuralNet", "Curvature", "Solvers", "ThermoDevice", "Communication"]),
        // Trainer, metrics, checkpoints.
        .target(name: "Training", dependencies: ["Linalg", "NeuralNet", "Curvature", "Solvers", "Optimizers", "Datasets", "Chemistry", "Reporting", "Communication"]),
        // Per-iteration runtime/memory predictions for real hardware (the cost model); workloads are derived from
        // the model definitions (NeuralNet modules, Training's ModelRegistry).
        // step-ratios.json: the steps each optimiser needed to reach a target in runs measured here (time to target).
        .target(name: "Predictions", dependencies: ["Linalg", "Reporting", "ThermoDevice", "NeuralNet", "Curvature", "Solvers", "Training"],
                resources: [.copy("step-ratios.json")]),
        // The papers' experiments.
        .target(name: "Experiments", dependencies: [
            "Linalg", "NeuralNet", "Curvature", "Solvers", "Optimizers", "Datasets", "Training", "ThermoDevice", "Reporting", "Text",
        ]),
        // Command-line interface as a library so that tests can parse commands.
        .target(name: "ThermogradCLI", dependencies: [
            "Linalg", "ThermoDevice", "NeuralNet", "Curvature", "Solvers", "Optimizers", "Datasets", "Training", "Experiments", "Reporting",
            "Predictions", "Communication", "MPICommunication", "Text",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The `thermograd` executable (a module name distinct from the `Thermograd` umbrella on
        // case-insensitive file systems).
        .executableTarget(name: "ThermogradTool", dependencies: ["ThermogradCLI", "Linalg"]),
        // The umbrella module: `@_exported import` of every public module.
        .target(name: "Thermograd", dependencies: [
            "Linalg", "ThermoDevice", "NeuralNet", "Curvature", "Solvers", "Optimizers", "Datasets", "Training",
            "Reporting", "Predictions", "Experiments", "Communication", "Text",
        ]),

        // Shared test helpers: finite differences, approximate equality, statistics.
        .target(name: "_TestSupport", dependencies: [
            "Linalg", "Datasets", "Chemistry", .product(name: "RealModule", package: "swift-numerics"),
        ]),

        .testTarget(name: "CommunicationTests", dependencies: ["Communication", "Linalg"]),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg", "_TestSupport"]),
        .testTarget(name: "ThermoDeviceTests", dependencies: ["ThermoDevice", "Linalg", "_TestSupport"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Linalg", "_TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Linalg", "_TestSupport"]),
        .testTarget(name: "TextTests", dependencies: ["Text", "Datasets", "Linalg", "NeuralNet", "Training", "_TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers", "Solvers", "Curvature", "NeuralNet", "Linalg", "_TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: [
            "Training", "Optimizers", "Solvers", "Curvature", "NeuralNet", "Datasets", "Chemistry", "Linalg", "_TestSupport",
        ]),
        .testTarget(name: "ExperimentsTests", dependencies: [
            "Experiments", "Training", "Optimizers", "Solvers", "Curvature", "NeuralNet", "Datasets", "Chemistry", "Linalg", "_TestSupport",
        ]),
        .testTarget(name: "ChemistryTests", dependencies: ["Chemistry", "NeuralNet", "Datasets", "Linalg", "_TestSupport"]),
        .testTarget(name: "PredictionsTests", dependencies: ["Predictions", "ThermoDevice", "Solvers", "Linalg", "NeuralNet", "Training", "Experiments", "_TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "ThermogradCLITests", dependencies: ["ThermogradCLI", "_TestSupport"]),
        // The getting-started article's code, compiled and run through the umbrella module.
        // The re-exported modules are listed too: a module seen only through `@_exported import` is not an
        // input of this target's compile step, and an API change there would leave stale objects to link.
        .testTarget(name: "ThermogradTests", dependencies: [
            "Thermograd", "Linalg", "ThermoDevice", "NeuralNet", "Curvature", "Solvers", "Optimizers", "Datasets",
            "Training", "Reporting", "Predictions", "Experiments", "Communication", "Text", "_TestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
