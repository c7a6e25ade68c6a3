import ArgumentParser
import Testing
@testable import ThermogradCLI

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
        ["bench", "train-step", "--batch", "0"],
        ["bench", "train-step", "--model", "transformer"],
    ])
    func badOptionsAreUsageErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try ThermogradCommand.parseAsRoot(arguments) }
    }

    @Test func goodOptionsParseIntoTheConfiguration() throws {
        let command = try ThermogradCommand.parseAsRoot(["train", "--model", "mlp", "--optimizer", "sgd", "--epochs", "3",
                                                          "--batch", "64", "--seed", "9", "--hidden", "100", "50",
                                                          "--out", "runs/x", "--schedule", "cosine"])
        let train = try #require(command as? Train)
        let c = try train.trainingConfiguration()
        #expect(c.mlpSizes == [784, 100, 50, 10] && c.optimizer == .sgd && c.learningRate == 0.05)
        #expect(c.epochs == 3 && c.batchSize == 64 && c.seed == 9 && c.outputDirectory == "runs/x" && c.schedule == .cosine)
        _ = try #require(try ThermogradCommand.parseAsRoot(["bench", "train-step", "--model", "cnn", "--batch", "32"]) as? BenchTrainStep)
    }
}
