import ArgumentParser
import Foundation
import Reporting

/// `thermograd experiment plot`: the accuracy and loss figure of experiment CSVs written earlier (by any
/// `thermograd experiment …`), without rerunning them — how docs/results.md draws the runs kept as fixtures and
/// joins runs made one seed or one arm at a time.
struct ExperimentPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot test accuracy (or another metric) and loss against step (mean over seeds, one line per arm) from experiment CSVs (several are joined).",
        discussion: """
            Reads the columns arm, seed, step, test_accuracy and test_loss; with --metric M (e.g. roc_auc, for the \
            molecule runs) validation_M and test_M instead of test_accuracy. Other columns are ignored. Several CSVs \
            (each with its own header: runs of other seeds or other arms) are joined; a (arm, seed, step) row given \
            twice is refused, since it would count twice in the mean.
            """
    )

    @Argument(help: "Experiment CSVs (arm, seed, step, …, test_loss, test_accuracy or validation_M and test_M), joined.")
    var csvs: [String] = []
    @Option(help: "SVG to write.")
    var out: String
    @Option(help: "Figure title (say what made the CSV).")
    var title: String
    @Option(help: "accuracy (panels: test accuracy, test loss), or a record metric M such as roc_auc (panels: validation M, test M, test loss).")
    var metric = "accuracy"
    @Option(name: .customLong("caption"), parsing: .upToNextOption,
            help: "Caption lines printed under the panels: the settings the CSVs were made with (default: the settings lines of the <name>-table.txt beside each CSV, if any, each line once).")
    var captionLines: [String] = []

    /// The plotted columns: (CSV column, panel title, y label, factor).
    var panels: [(column: String, title: String, yLabel: String, factor: Double)] {
        let loss = ("test_loss", "Test loss (mean over seeds)", "loss", 1.0)
        if metric == "accuracy" { return [("test_accuracy", "Test accuracy (mean over seeds)", "accuracy (%)", 100), loss] }
        let label = metric == "roc_auc" ? "ROC-AUC" : metric.replacingOccurrences(of: "_", with: " ")
        return [("validation_" + metric, "Validation \(label) (mean over seeds)", label, 1), ("test_" + metric, "Test \(label) (mean over seeds)", label, 1), loss]
    }

    func validate() throws {
        if csvs.isEmpty { throw ValidationError("give at least one experiment CSV") }
    }

    func run() throws {
        let panels = self.panels
        var order: [String] = []
        // arm → step → (per-panel sums, count)
        var sums: [String: [Int: (values: [Double], count: Double)]] = [:]
        // (arm, seed, step) → the CSV it came from, to refuse a row given twice.
        var seen: [String: String] = [:]
        for csv in csvs {
            let text: String
            do { text = try String(contentsOfFile: csv, encoding: .utf8) } catch { throw ValidationError("cannot read \(csv): \(error.localizedDescription)") }
            let (header, rows, _) = CSVWriter.readAppended(text)
            guard let arm = header.firstIndex(of: "arm"), let step = header.firstIndex(of: "step") else {
                throw ValidationError("\(csv) needs the columns arm and step; found \(header)")
            }
            let seed = header.firstIndex(of: "seed")
            let columns = try panels.map { panel in
                guard let c = header.firstIndex(of: panel.column) else {
                    throw ValidationError("\(csv) has no column \(panel.column) (--metric \(metric)); found \(header)")
                }
                return c
            }
            for row in rows {
                guard row.count == header.count, let k = Int(row[step]) else { continue }
                let values = columns.compactMap { Double(row[$0]) }
                guard values.count == columns.count, values.allSatisfy(\.isFinite) else { continue }
                let key = "arm \(row[arm]), seed \(seed.map { row[$0] } ?? "–"), step \(k)"
                if let first = seen[key] { throw ValidationError("\(key) is in both \(first) and \(csv): it would count twice in the mean") }
                seen[key] = csv
                if sums[row[arm]] == nil { order.append(row[arm]) }
                let s = sums[row[arm], default: [:]][k] ?? (Array(repeating: 0, count: columns.count), 0)
                sums[row[arm], default: [:]][k] = (zip(s.values, values).map { $0 + $1 }, s.count + 1)
            }
        }
        guard !order.isEmpty else { throw ValidationError("\(csvs.joined(separator: ", ")) has no evaluated rows") }
        var plot = LinePlot(title: title, panels: panels.enumerated().map { i, panel in
            PlotPanel(title: panel.title, xLabel: "step", yLabel: panel.yLabel, series: order.map { name in
                let points = sums[name]!.sorted { $0.key < $1.key }
                return PlotSeries(name: name, x: points.map { Double($0.key) }, y: points.map { panel.factor * $0.value.values[i] / $0.value.count })
            })
        })
        var settings: [String] = []
        for line in csvs.flatMap({ Self.settingsLines(besideCSV: $0) }) where !settings.contains(line) { settings.append(line) }
        plot.caption = captionLines.isEmpty ? settings : captionLines
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
