// swift-tools-version: 5.4
// libFuzzer targets for every parser of Thermograd's inputs (`make fuzz`, see fuzz/README.md). Each target is
// an executable whose only entry point is `LLVMFuzzerTestOneInput`; built with `-sanitize=fuzzer
// -parse-as-library`, libFuzzer supplies `main`. A separate package, so that `swift build` of Thermograd
// never sees these targets (they cannot link without the fuzzer runtime). Tools version 5.4: from 5.5 on,
// SwiftPM renames an executable's entry point for testability (`--defsym main=<target>_main`), which
// cannot link when libFuzzer provides `main`.
import PackageDescription

func target(_ name: String, _ products: [String]) -> Target {
    .executableTarget(name: name, dependencies: products.map { .product(name: $0, package: "Thermograd") })
}

let package = Package(
    name: "ThermogradFuzz",
    dependencies: [.package(name: "Thermograd", path: "..")],
    targets: [
        target("FuzzIDX", ["Datasets"]),
        target("FuzzSafetensors", ["Training", "NeuralNet", "Optimizers", "Linalg"]),
        target("FuzzWorkload", ["Predictions"]),
        target("FuzzRunCSV", ["Reporting"]),
        target("FuzzCheckpointSettings", ["Training"]),
        target("FuzzWordPiece", ["Text"]),
        target("FuzzSMILES", ["Chemistry"]),
    ]
)
