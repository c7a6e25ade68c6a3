import ArgumentParser
import Foundation
import Testing
import _TestSupport
import ThermogradCLI

/// Bad options of `thermograd train` and `thermograd bench train-step` are usage errors (thrown by
/// parsing and validation), never crashes.
@Suite struct TrainCommandTests {
    @Test(arguments: [
        ["train", "--model", "resnet"],
        ["train", "--optimizer", "lbfgs"],
        ["train", "--epochs", "0"],
        ["train", "--batch", "-3"],
        ["train", "--lr", "0"],
        ["train", "--lr", "abc"],
        ["train", "--dropout", "1.5"],
        ["train", "--momentum", "1"],
        ["train", "--nesterov", "--optimizer", "adam"],
        ["train", "--model", "cnn", "--hidden", "100"],
        ["train", "--train-subset", "0"],
        ["train", "--threads", "0"],
        ["train", "--no-such-option"],
        ["train", "--optimizer", "tngd", "--tngd-t", "-1"],
        ["train", "--optimizer", "tngd", "--tngd-damping", "0"],
        ["train", "--optimizer", "tngd", "--beta", "0"],
        ["train", "--optimizer", "tngd", "--beta", "inf"],
        ["train", "--optimizer", "tngd", "--dt", "0"],
        ["train", "--optimizer", "tngd", "--tngd-delay", "-0.5"],
        ["train", "--optimizer", "tngd", "--tngd-t", "1", "--tngd-averaging", "2"],
        ["train", "--optimizer", "tngd", "--tngd-start", "cold"],
        ["train", "--optimizer", "tngd", "--tngd-momentum", "1"],
        ["train", "--optimizer", "tngd-adam", "--tngd-adam-betas", "0.9"],
        ["train", "--optimizer", "tngd-adam", "--tngd-adam-betas", "0.9", "1.2"],
        ["train", "--optimizer", "tngd", "--tngd-loss", "median"],
        ["train", "--optimizer", "tngd", "--dac-bits", "0"],
        ["train", "--optimizer", "tngd", "--adc-bits", "25"],
        ["train", "--optimizer", "tngd", "--mismatch", "1"],
        ["train", "--optimizer", "tngd", "--tngd-t", "abc"],
        ["experiment", "tngd-noise", "--probe", "0"],
        ["experiment", "tngd-noise", "--tngd-loss", "median"],
        ["experiment", "tngd-mnist", "--tngd-start", "cold"],
        ["experiment", "tngd-mnist", "--tngd-t", "5"],
        ["train", "--optimizer", "adam", "--dac-bits", "8"],
        ["train", "--optimizer", "tkfac", "--chains", "8"],
        ["train", "--optimizer", "tngd", "--device-seed", "3"],
        ["simulate", "solve", "--dac-range", "wide"],
        ["train", "--optimizer", "tkfac", "--dac-range", "wide"],
        ["train", "--optimizer", "tkfac", "--dac-bits", "8", "--dac-range", "-1"],
        ["train", "--model", "tiny-cnn", "--hidden", "100"],
        ["experiment", "compare", "--test-subset=-1"],
        ["bench", "train-step", "--batch", "0"],
        ["bench", "train-step", "--model", "transformer"],
        ["train", "--model", "mlp", "--gnn-width", "32"],
        ["train", "--model", "gnn", "--gnn-layers", "0"],
        ["train", "--model", "gnn", "--gnn-readout", "max"],
        ["train", "--model", "gnn", "--gnn-dropout", "1"],
        ["train", "--model", "mlp", "--gnn-dropout", "0.5"],
        ["train", "--model", "gnn", "--positive-weight", "0"],
        ["experiment", "compare", "--model", "gnn", "--positive-weight", "-2"],
        ["experiment", "compare", "--positive-weight", "27"],
        ["bench", "train-step", "--model", "vit", "--gnn-width", "8"],
    ])
    func badOptionsAreUsageErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try ThermogradCommand.parseAsRoot(arguments) }
    }

    @Test func goodOptionsParse() throws {
        _ = try ThermogradCommand.parseAsRoot(["train", "--model", "mlp", "--optimizer", "sgd", "--epochs", "3", "--batch", "64",
                                               "--seed", "9", "--hidden", "100", "50", "--out", "runs/x", "--schedule", "cosine"])
        _ = try ThermogradCommand.parseAsRoot(["train", "--model", "cnn", "--optimizer", "adamw", "--weight-decay", "0.01"])
        _ = try ThermogradCommand.parseAsRoot(["bench", "train-step", "--model", "cnn", "--batch", "32"])
        _ = try ThermogradCommand.parseAsRoot(["train", "--optimizer", "tngd", "--tngd-t", "5", "--tngd-damping", "0.1", "--beta", "1e4",
                                               "--dt", "0.05", "--tngd-delay", "0.2", "--tngd-averaging", "1",
                                               "--tngd-start", "gradient", "--tngd-momentum", "0.9", "--tngd-loss", "sum",
                                               "--dac-bits", "8", "--adc-bits", "10", "--mismatch", "0.01",
                                               "--integrator", "euler-maruyama"])
        _ = try ThermogradCommand.parseAsRoot(["train", "--optimizer", "tngd-adam", "--tngd-adam-betas", "0.9", "0.999"])
        _ = try ThermogradCommand.parseAsRoot(["experiment", "tngd-noise", "--probe", "10", "--noises", "0.01", "--tngd-loss", "sum", "--beta", "100"])
        _ = try ThermogradCommand.parseAsRoot(["train", "--model", "tiny-cnn", "--optimizer", "tkfac", "--dac-bits", "8",
                                               "--dac-range", "1"])
        _ = try ThermogradCommand.parseAsRoot(["experiment", "quantization", "--model", "tiny-cnn", "--dac-range", "auto"])
        _ = try ThermogradCommand.parseAsRoot(["experiment", "compare", "--test-subset", "0"])
    }

    /// End to end: `thermograd train` on a Fashion-MNIST subset writes its run folder with the settings.
    @Test func trainCommandRunsOnASubset() throws {
        guard fashionMNISTIsInstalled() else { return }
        let out = NSTemporaryDirectory() + "thermograd-cli-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: out)
        var command = try ThermogradCommand.parseAsRoot(["train", "--hidden", "32", "--epochs", "1", "--batch", "50",
                                                         "--train-subset", "500", "--test-subset", "200", "--out", out])
        try command.run()
        for file in ["config.json", "metrics.csv", "epochs.csv", "curves.svg", "summary.txt", "checkpoint.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "missing \(file)")
        }
        let config = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
        #expect(config.contains("\"batchSize\" : 50") && config.contains("\"trainSubset\" : 500"))
    }

    /// `experiment compare --kfac-approximation reduce` reaches the TK-FAC arm of a weight-sharing model (it ran
    /// as expand whatever was asked); the ViT's digital K-FAC still runs both, side by side.
    @Test func compareRunsTKFACWithTheChosenApproximation() throws {
        guard fashionMNISTIsInstalled() else { return }
        let out = NSTemporaryDirectory() + "thermograd-compare-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: out)
        var command = try ThermogradCommand.parseAsRoot([
            "experiment", "compare", "--model", "vit", "--vit-width", "16", "--vit-depth", "1", "--vit-heads", "2",
            "--steps", "2", "--eval-every", "2", "--train-subset", "256", "--test-subset", "64",
            "--kfac-approximation", "reduce", "--threads", "1", "--out", out])
        try command.run()
        let table = try String(contentsOfFile: out + "/compare-table.txt", encoding: .utf8)
        let settings = table.split(separator: "\n").filter { $0.contains("approximation") }
        let tkfac = settings.filter { $0.hasPrefix("TK-FAC") }
        #expect(tkfac.count == 1 && tkfac.allSatisfy { $0.contains("approximation reduce") }, "\(tkfac)")
        #expect(settings.contains { $0.hasPrefix("K-FAC expand") && $0.contains("approximation expand") })
        #expect(settings.contains { $0.hasPrefix("K-FAC reduce") && $0.contains("approximation reduce") })
    }
}
