import Experiments
import Foundation
import Reporting
import Testing
import Training
import _TestSupport

/// Every experiment figure carries the settings it was made with as its caption: the header the command
/// passes (command, data, threads, load), the schedule and each plotted arm's settings — the combined plot,
/// the per-group plots, and the TNGD / LoRA runtime plot (`experiment lora` writes through `TNGDExperiments.write`).
@Suite struct FigureCaptionTests {
    static func folder(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "thermograd-caption-\(ProcessInfo.processInfo.processIdentifier)-\(name)"
        try? FileManager.default.removeItem(atPath: path)
        return path
    }

    /// Two SGD arms (η 0.1 and 0.05) in different groups, 20 steps on the clusters, one seed.
    static func results() throws -> ExperimentResults {
        var slow = ExperimentRunnerTests.smallSGD
        slow.learningRate = 0.05
        let runner = ExperimentRunner(train: clusters(count: 160, seed: 1), test: clusters(count: 60, seed: 2),
                                      schedule: try ExperimentSchedule(steps: 20, evaluateEvery: 10, seeds: [4]))
        return try runner.run([.firstOrder(name: "fast", groups: ["fast group"], training: ExperimentRunnerTests.smallSGD),
                               .firstOrder(name: "slow", groups: ["slow group"], training: slow)])
    }

    static func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func comparisonFiguresCarryHeaderScheduleAndArmSettings() throws {
        let results = try Self.results(), dir = Self.folder("compare")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let header = ["thermograd experiment compare · clusters", "BLAS threads 1, load average 0.50 at the start"]
        try results.write(to: dir, name: "compare", title: "t", header: header)
        let combined = try Self.text("\(dir)/compare.svg")
        for line in header + ["schedule: \(results.schedule)", "fast: sgd, lr 0.1, schedule constant", "slow: sgd, lr 0.05, schedule constant"] {
            #expect(combined.contains(">\(line)</text>"), "compare.svg lacks \(line)")
        }
        // A group's figure names its own arms' settings only.
        let fast = try Self.text("\(dir)/compare-fast-group.svg")
        #expect(fast.contains("fast: sgd, lr 0.1") && !fast.contains("slow: sgd") && fast.contains(header[0]))
    }

    @Test func loraAndTNGDFiguresCarryTheirSettings() throws {
        let results = try Self.results(), dir = Self.folder("lora")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let header = ["thermograd experiment lora", "settings: bbc, 8 texts; batch 4"]
        let text = try TNGDExperiments.write(results, to: dir, name: "lora", title: "LoRA", header: header)
        #expect(text.hasPrefix(header.joined(separator: "\n")))
        for file in ["lora.svg", "lora-runtime.svg"] {
            let svg = try Self.text("\(dir)/\(file)")
            for line in header + ["schedule: \(results.schedule)", "fast: sgd, lr 0.1, schedule constant", "slow: sgd, lr 0.05, schedule constant"] {
                #expect(svg.contains(">\(line)</text>"), "\(file) lacks \(line)")
            }
        }
    }

    /// A caption line wider than the figure is wrapped at spaces into lines that fit; every word is kept and
    /// the figure grows by one caption row per line.
    @Test func longCaptionLinesAreWrappedToTheFigure() {
        var plot = LinePlot(panels: [PlotPanel(title: "p", xLabel: "x", yLabel: "y", series: [PlotSeries(name: "a", x: [0, 1], y: [0, 1])])])
        let words = (1...120).map { "word\($0)" }
        plot.caption = ["short", words.joined(separator: " ")]
        let columns = Int((Double(plot.panelWidth) + 38 + 6.2 - 16) / 5.6)
        let lines = plot.captionLines
        #expect(lines.first == "short" && lines.count > 2)
        #expect(lines.allSatisfy { $0.count <= columns }, "\(lines.map(\.count)) > \(columns)")
        #expect(lines.dropFirst().joined(separator: " ") == words.joined(separator: " "))
        let svg = plot.svg()
        let height = Double(plot.panelHeight) + 8 + 13 * Double(lines.count)
        #expect(svg.contains("height=\"\(Int(height))\""), "\(svg.prefix(200))")
        #expect(LinePlot.wrap("abcdefghij", columns: 4) == ["abcd", "efgh", "ij"])
        #expect(LinePlot.wrap("", columns: 4) == [""])
    }
}
