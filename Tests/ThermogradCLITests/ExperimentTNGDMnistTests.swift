import ArgumentParser
import Foundation
import Testing
import _TestSupport
import ThermogradCLI

/// `thermograd experiment tngd-mnist --arms`: only the named arms run, in the command's fixed order, and an arm
/// run alone repeats its numbers from a run with other arms (each run depends only on its settings and the seed),
/// which is what lets docs/results.md add one arm to runs made earlier.
@Suite struct ExperimentTNGDMnistTests {
    /// A tiny run (2 channels, 8 hidden units, t = 5τ, 6 steps) on Fashion-MNIST; returns the CSV rows by arm.
    private func run(_ arms: [String], folder: String) throws -> (rows: [String: [[String: String]]], order: [String], table: String) {
        var command = try ThermogradCommand.parseAsRoot([
            "experiment", "tngd-mnist", "--steps", "6", "--eval-every", "3", "--test-subset", "200", "--train-probe", "100",
            "--seeds", "2", "--channels", "2", "--hidden", "8", "--t", "5", "--out", folder,
        ] + arms)
        try command.run()
        let lines = try String(contentsOfFile: "\(folder)/tngd-mnist.csv", encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var rows: [String: [[String: String]]] = [:], order: [String] = []
        for line in lines.dropFirst() {
            let row = Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
            let arm = row["arm"] ?? ""
            if rows[arm] == nil { order.append(arm) }
            rows[arm, default: []].append(row)
        }
        return (rows, order, try String(contentsOfFile: "\(folder)/tngd-mnist-table.txt", encoding: .utf8))
    }

    @Test func anArmRunAloneRepeatsItsNumbersFromARunWithOthers() throws {
        guard fashionMNISTIsInstalled() else { return }
        let base = NSTemporaryDirectory() + "thermograd-tngd-arms-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        // Named out of order, with --tngd-adam adding its arm: the arms still run in the command's order.
        let together = try run(["--arms", "ngd-cg", "adam", "--tngd-adam"], folder: base + "/together")
        #expect(together.order == ["Adam", "TNGD-Adam t=5.0τ", "NGD-CG"])
        let alone = try run(["--arms", "tngd-adam"], folder: base + "/alone")
        #expect(alone.order == ["TNGD-Adam t=5.0τ"])
        #expect(alone.table.contains("No Adam arm in this run"))
        #expect(together.table.contains("Adam's final training loss"))
        // Everything but the measured wall-clock columns is identical.
        let compared = ["seed", "step", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "train_eval_loss",
                        "train_eval_accuracy", "device_seconds", "modelled_seconds"]
        let a = try #require(alone.rows["TNGD-Adam t=5.0τ"]), t = try #require(together.rows["TNGD-Adam t=5.0τ"])
        #expect(a.map(\.["step"]) == ["3", "6"])
        #expect(a.map { r in compared.map { r[$0] ?? "missing" } } == t.map { r in compared.map { r[$0] ?? "missing" } })
    }

    @Test func unknownArmsAreRefusedWithTheChoices() {
        do {
            _ = try ThermogradCommand.parseAsRoot(["experiment", "tngd-mnist", "--arms", "sgd"])
            Issue.record("--arms sgd was accepted")
        } catch {
            let message = ThermogradCommand.message(for: error)
            #expect(message.contains("sgd") && message.contains("tngd-adam") && message.contains("ngd-woodbury"), "\(message)")
        }
    }
}
