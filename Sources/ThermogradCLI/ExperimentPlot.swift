import ArgumentParser
import Foundation
import Reporting

/// `thermograd experiment plot`: the accuracy and loss figure of an experiment CSV written earlier (by any
/// `thermograd experiment …`), without rerunning it — how docs/results.md draws the runs kept as fixtures.
struct ExperimentPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot test accuracy and loss against step (mean over seeds, one line per arm) from an experiment CSV.",
        discussion: "Reads the columns arm, seed, step, test_accuracy and test_loss; other columns are ignored."
    )

    @Argument(help: "Experiment CSV (arm, seed, step, …, test_loss, test_accuracy).")
    var csv: String
    @Option(help: "SVG to write.")
    var out: String
    @Option(help: "Figure title (say what made the CSV).")
    var title: String
    @Option(name: .customLong("caption"), parsing: .upToNextOption,
            help: "Caption lines printed under the panels: the settings the CSV was made with (default: the settings lines of the <name>-table.txt beside the CSV, if any).")
    var captionLines: [String] = []

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: csv, encoding: .utf8) } catch { throw ValidationError("cannot read \(csv): \(error.localizedDescription)") }
        let (header, rows, _) = CSVWriter.readAppended(text)
        guard let arm = header.firstIndex(of: "arm"), let step = header.firstIndex(of: "step"),
              let accuracy = header.firstIndex(of: "test_accuracy"), let loss = header.firstIndex(of: "test_loss") else {
            throw ValidationError("\(csv) needs the columns arm, step, test_accuracy and test_loss; found \(header)")
        }
        var order: [String] = []
        var sums: [String: [Int: (accuracy: Double, loss: Double, count: Double)]] = [:]
        for row in rows {
            guard row.count == header.count, let k = Int(row[step]), let a = Double(row[accuracy]), let l = Double(row[loss]), a.isFinite, l.isFinite else { continue }
            if sums[row[arm]] == nil { order.append(row[arm]) }
            let s = sums[row[arm], default: [:]][k] ?? (0, 0, 0)
            sums[row[arm], default: [:]][k] = (s.accuracy + a, s.loss + l, s.count + 1)
        }
        guard !order.isEmpty else { throw ValidationError("\(csv) has no evaluated rows") }
        func series(_ value: @escaping ((accuracy: Double, loss: Double, count: Double)) -> Double) -> [PlotSeries] {
            order.map { name in
                let points = sums[name]!.sorted { $0.key < $1.key }
                return PlotSeries(name: name, x: points.map { Double($0.key) }, y: points.map { value($0.value) })
            }
        }
        var plot = LinePlot(title: title, panels: [
            PlotPanel(title: "Test accuracy (mean over seeds)", xLabel: "step", yLabel: "accuracy (%)", series: series { 100 * $0.accuracy / $0.count }),
            PlotPanel(title: "Test loss (mean over seeds)", xLabel: "step", yLabel: "loss", series: series { $0.loss / $0.count }),
        ])
        plot.caption = captionLines.isEmpty ? Self.settingsLines(besideCSV: csv) : captionLines
        try plot.write(to: out)
        print("wrote \(out)")
    }

    /// The settings lines of the `<name>-table.txt` an experiment wrote beside `<name>.csv` (the lines from
    /// `schedule:` on, where each arm's settings follow), or none when there is no such file.
    static func settingsLines(besideCSV csv: String) -> [String] {
        guard csv.hasSuffix(".csv"), let text = try? String(contentsOfFile: String(csv.dropLast(4)) + "-table.txt", encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("schedule: ") }) else { return [] }
        return Array(lines[start...])
    }
}
