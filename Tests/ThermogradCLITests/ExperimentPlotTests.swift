import ArgumentParser
import Foundation
import Testing
import ThermogradCLI

/// `thermograd experiment plot` redraws an experiment CSV; the figure carries the settings lines of the
/// `<name>-table.txt` beside the CSV (or the `--caption` lines given), as every experiment figure does.
@Suite struct ExperimentPlotTests {
    @Test func redrawnFigureCarriesTheSettingsOfItsTable() throws {
        try inTemporaryDirectory("thermograd-plot") { dir in
            try "arm,seed,step,test_loss,test_accuracy\nAdam,1,10,0.9,0.70\nAdam,1,20,0.7,0.80\n"
                .write(toFile: "\(dir)/compare.csv", atomically: true, encoding: .utf8)
            try "final table\narm  test acc %\nschedule: 20 steps, evaluation every 10 steps, seeds 1\nAdam: adam, lr 0.001, schedule constant\n"
                .write(toFile: "\(dir)/compare-table.txt", atomically: true, encoding: .utf8)
            var command = try ThermogradCommand.parseAsRoot(["experiment", "plot", "\(dir)/compare.csv", "--out", "\(dir)/a.svg", "--title", "t"])
            try command.run()
            let svg = try String(contentsOfFile: "\(dir)/a.svg", encoding: .utf8)
            #expect(svg.contains(">schedule: 20 steps, evaluation every 10 steps, seeds 1</text>"))
            #expect(svg.contains(">Adam: adam, lr 0.001, schedule constant</text>") && !svg.contains(">final table</text>"))
            command = try ThermogradCommand.parseAsRoot(["experiment", "plot", "\(dir)/compare.csv", "--out", "\(dir)/b.svg", "--title", "t",
                                                         "--caption", "made by hand", "seed 1"])
            try command.run()
            let given = try String(contentsOfFile: "\(dir)/b.svg", encoding: .utf8)
            #expect(given.contains(">made by hand</text>") && given.contains(">seed 1</text>") && !given.contains("schedule:"))
        }
    }

    /// `--metric roc_auc` (molecule runs) draws the validation and test ROC-AUC panels and refuses a CSV without them.
    @Test func metricOptionPlotsValidationAndTestColumns() throws {
        try inTemporaryDirectory("thermograd-plot-metric") { dir in
            try "arm,seed,step,test_loss,validation_roc_auc,test_roc_auc\nAdam,1,10,0.2,0.61,0.64\nAdam,2,10,0.3,0.63,0.66\n"
                .write(toFile: "\(dir)/runs.csv", atomically: true, encoding: .utf8)
            var command = try ThermogradCommand.parseAsRoot(["experiment", "plot", "\(dir)/runs.csv", "--out", "\(dir)/a.svg", "--title", "t",
                                                             "--metric", "roc_auc"])
            try command.run()
            let svg = try String(contentsOfFile: "\(dir)/a.svg", encoding: .utf8)
            #expect(svg.contains(">Validation ROC-AUC (mean over seeds)</text>") && svg.contains(">Test ROC-AUC (mean over seeds)</text>"))
            #expect(!svg.contains("Test accuracy"))
            command = try ThermogradCommand.parseAsRoot(["experiment", "plot", "\(dir)/runs.csv", "--out", "\(dir)/b.svg", "--title", "t"])
            #expect { try command.run() } throws: { "\($0)".contains("test_accuracy") }
        }
    }

    /// Several CSVs (runs of other seeds or arms, each with its own columns) are joined into one mean per arm and
    /// step, with every table's settings in the caption; a row given twice is refused by name.
    @Test func severalCSVsAreJoinedAndARowGivenTwiceIsRefused() throws {
        try inTemporaryDirectory("thermograd-plot-join") { dir in
            try "arm,seed,step,test_loss,test_accuracy\nAdam,1,10,0.9,0.70\nAdam,2,10,0.7,0.80\n"
                .write(toFile: "\(dir)/a.csv", atomically: true, encoding: .utf8)
            try "schedule: 10 steps, seeds 1 2\nAdam: adam, lr 0.001\n".write(toFile: "\(dir)/a-table.txt", atomically: true, encoding: .utf8)
            // Another arm, run alone, with a column the first run does not have.
            try "arm,seed,step,device_seconds,test_loss,test_accuracy\nTNGD,1,10,0.3,1.1,0.60\nTNGD,2,10,0.3,1.3,0.50\n"
                .write(toFile: "\(dir)/b.csv", atomically: true, encoding: .utf8)
            try "schedule: 10 steps, seeds 1 2\nTNGD: t 5τ\n".write(toFile: "\(dir)/b-table.txt", atomically: true, encoding: .utf8)
            var command = try ThermogradCommand.parseAsRoot(["experiment", "plot", "\(dir)/a.csv", "\(dir)/b.csv", "--out", "\(dir)/j.svg", "--title", "t"])
            try command.run()
            let svg = try String(contentsOfFile: "\(dir)/j.svg", encoding: .utf8)
            #expect(svg.contains(">Adam</text>") && svg.contains(">TNGD</text>"))
            #expect(svg.components(separatedBy: ">schedule: 10 steps, seeds 1 2</text>").count == 2, "each settings line once")
            #expect(svg.contains(">Adam: adam, lr 0.001</text>") && svg.contains(">TNGD: t 5τ</text>"))
            command = try ThermogradCommand.parseAsRoot(["experiment", "plot", "\(dir)/a.csv", "\(dir)/a.csv", "--out", "\(dir)/k.svg", "--title", "t"])
            #expect { try command.run() } throws: { "\($0)".contains("arm Adam, seed 1, step 10 is in both") }
            #expect(throws: (any Error).self) { _ = try ThermogradCommand.parseAsRoot(["experiment", "plot", "--out", "\(dir)/l.svg", "--title", "t"]) }
        }
    }

    /// Runs `body` in a fresh folder under the temporary directory, removed afterwards.
    func inTemporaryDirectory(_ name: String, _ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "\(name)-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }
}
