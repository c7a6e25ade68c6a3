import Foundation
import Reporting

/// The records of an experiment and their three outputs: one combined CSV (every arm, seed and evaluation
/// with all metrics), SVG panels of test accuracy and loss against step (mean over seeds, one line per arm),
/// and a table of final metrics as mean ± spread over seeds.
public struct ExperimentResults {
    public let arms: [ExperimentArm]
    public let schedule: ExperimentSchedule
    public let records: [ExperimentRecord]
    /// The record metric the plot's first panel and the table's first score column show: nil for test
    /// accuracy (%), else a metric key such as `test_roc_auc` (molecules).
    public let headline: String?

    public init(arms: [ExperimentArm], schedule: ExperimentSchedule, records: [ExperimentRecord], headline: String? = nil) {
        self.arms = arms
        self.schedule = schedule
        self.records = records
        self.headline = headline
    }

    /// The headline score of a record (test accuracy in %, or the `headline` metric).
    func headlineValue(_ r: ExperimentRecord) -> Double { headline.map { r.metrics[$0] ?? .nan } ?? 100 * r.testAccuracy }
    /// `"test acc %"` or the headline metric's name with spaces (`"test roc auc"`).
    var headlineTitle: String { headline.map { $0.replacingOccurrences(of: "_", with: " ") } ?? "test acc %" }

    /// The records of one arm (all seeds), in order.
    public func records(arm: String) -> [ExperimentRecord] { records.filter { $0.arm == arm } }

    /// The last record of every seed of `arm`.
    public func finalRecords(arm: String) -> [ExperimentRecord] {
        var last: [UInt64: ExperimentRecord] = [:]
        for r in records where r.arm == arm { if (last[r.seed]?.step ?? -1) < r.step { last[r.seed] = r } }
        return last.keys.sorted().compactMap { last[$0] }
    }

    /// Every metric name, sorted (the CSV's trailing columns).
    public var metricNames: [String] { Array(Set(records.flatMap { $0.metrics.keys })).sorted() }

    /// Writes all records to `path`: `arm, seed, step, wall_seconds, train_loss, train_accuracy, test_loss,
    /// test_accuracy` and one column per metric (empty where an arm does not report it).
    /// Written beside `path` and renamed into place, so that rewriting it after every run (the metric
    /// columns can grow) never leaves a truncated file behind.
    public func writeCSV(to path: String) throws(ExperimentError) {
        let names = metricNames
        let partial = path + ".partial"
        do {
            let csv = try CSVWriter(path: partial, columns: ["arm", "seed", "step", "wall_seconds", "train_loss", "train_accuracy",
                                                          "test_loss", "test_accuracy"] + names)
            for r in records {
                try csv.append([.text(r.arm), .integer(Int(r.seed)), .integer(r.step), .number(r.wallSeconds), .number(r.trainLoss),
                                .number(r.trainAccuracy), .number(r.testLoss), .number(r.testAccuracy)]
                               + names.map { r.metrics[$0].map { CSVValue.number($0) } ?? .text("") })
            }
            guard rename(partial, path) == 0 else {
                throw ExperimentError.output(path: path, detail: "rename from \(partial) failed (errno \(errno))")
            }
        } catch { throw .output(path: path, detail: "\(error)") }
    }

    /// Mean over seeds of `value` at every step that all seeds of `arm` evaluated.
    public func meanCurve(arm: String, _ value: (ExperimentRecord) -> Double) -> (steps: [Double], values: [Double]) {
        var byStep: [Int: [Double]] = [:]
        for r in records where r.arm == arm { byStep[r.step, default: []].append(value(r)) }
        let seeds = Set(records.filter { $0.arm == arm }.map(\.seed)).count
        let steps = byStep.keys.sorted().filter { byStep[$0]!.count == seeds }
        return (steps.map(Double.init), steps.map { s in byStep[s]!.reduce(0, +) / Double(seeds) })
    }

    /// The lines a figure of these results carries under its panels: `header` (how the experiment was run:
    /// command, data, threads, load), the schedule, and each of `arms`' settings (default: all arms).
    public func caption(_ header: [String] = [], arms selected: [String]? = nil) -> [String] {
        header + ["schedule: \(schedule)"] + arms.filter { selected?.contains($0.name) ?? true }.map { "\($0.name): \($0.settings)" }
    }

    /// Panels of test accuracy (%) and test loss against step, plus train loss, for `arms` (default: all);
    /// the mean over seeds, one line per arm; the caption (`caption(header, arms:)`) gives the settings.
    public func plot(title: String, arms selected: [String]? = nil, header: [String] = []) -> LinePlot {
        let names = selected ?? arms.map(\.name)
        func series(_ value: @escaping (ExperimentRecord) -> Double) -> [PlotSeries] {
            names.enumerated().map { i, name in
                let c = meanCurve(arm: name, value)
                return PlotSeries(name: name, x: c.steps, y: c.values, color: LinePlot.palette[i % LinePlot.palette.count],
                                  dashed: i >= LinePlot.palette.count, markers: c.steps.count <= 12)
            }
        }
        var plot = LinePlot(title: title + " (mean over \(schedule.seeds.count) seed\(schedule.seeds.count == 1 ? "" : "s"))", panels: [
            PlotPanel(title: headline == nil ? "Test accuracy" : headlineTitle, xLabel: "step", yLabel: headline == nil ? "accuracy (%)" : headlineTitle,
                      series: series(headlineValue)),
            PlotPanel(title: "Test loss", xLabel: "step", yLabel: "cross-entropy", series: series(\.testLoss), logarithmicY: true),
            PlotPanel(title: "Training loss (window mean)", xLabel: "step", yLabel: "cross-entropy", series: series(\.trainLoss),
                      logarithmicY: true),
        ], columns: 3, panelWidth: 420)
        plot.caption = caption(header, arms: names)
        return plot
    }

    /// Mean and spread of `values`: the sample standard deviation (0 for one value) and the range.
    public static func summary(_ values: [Double]) -> (mean: Double, standardDeviation: Double, minimum: Double, maximum: Double) {
        guard !values.isEmpty else { return (.nan, .nan, .nan, .nan) }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        return (mean, variance.squareRoot(), values.min()!, values.max()!)
    }

    /// `"88.12 ± 0.31"` (mean ± sample standard deviation over seeds), scaled by `scale`.
    public static func formatted(_ values: [Double], scale: Double = 1, digits: Int = 2) -> String {
        let s = summary(values.map { $0 * scale })
        guard s.mean.isFinite else { return "–" }
        return values.count > 1 ? String(format: "%.\(digits)f ± %.\(digits)f", s.mean, s.standardDeviation)
                                : String(format: "%.\(digits)f", s.mean)
    }

    /// One row per arm: final test accuracy (%) and loss as mean ± standard deviation over seeds, final
    /// training loss, wall time, plus `extraColumns` (header and a value from a final record, summarised
    /// the same way).
    public func finalTable(title: String, extraColumns: [ExperimentColumn] = [])
        -> TextTable {
        var table = TextTable(title: title, headers: ["arm", "seeds", "steps", headlineTitle, "test loss", "train loss", "wall s"]
                                                     + extraColumns.map(\.header))
        for arm in arms {
            let f = finalRecords(arm: arm.name)
            guard !f.isEmpty else { continue }
            // Runs stopped by their optimiser (`failed_at_step`) are named in the arm column: their numbers
            // are those at the failure, not after the full schedule.
            let failed = f.filter { $0.metrics[ExperimentRecord.failedAtStepKey] != nil }.count
            let diverged = f.filter { $0.metrics[ExperimentRecord.divergedAtStepKey] != nil }.count
            let marks = (failed > 0 ? " (failed: \(failed)/\(f.count))" : "") + (diverged > 0 ? " (diverged: \(diverged)/\(f.count))" : "")
            var row = [arm.name + marks, String(f.count), String(f.map(\.step).max() ?? 0),
                       Self.formatted(f.map(headlineValue), digits: headline == nil ? 2 : 4), Self.formatted(f.map(\.testLoss), digits: 4),
                       Self.formatted(f.map(\.trainLoss), digits: 4), Self.formatted(f.map(\.wallSeconds), digits: 1)]
            for column in extraColumns {
                let values = f.compactMap(column.value).filter(\.isFinite)
                row.append(values.isEmpty ? "–" : Self.formatted(values, digits: column.digits))
            }
            table.append(row)
        }
        return table
    }

    /// The schedule and each arm's settings, one per line (printed with every table).
    public var settingsText: String { caption().joined(separator: "\n") }

    /// The per-group plots `write(to:name:…)` produces: `(group, "<name>-<group>.svg")` in order of the
    /// groups' first appearance among the arms; empty when no arm names a group.
    public func groupPlotFiles(name: String) -> [(group: String, file: String)] {
        var groups: [String] = []
        for arm in arms { for g in arm.groups where !groups.contains(g) { groups.append(g) } }
        return groups.map { g in (g, "\(name)-\(String(g.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })).svg") }
    }

    /// Writes `<directory>/<name>.csv`, `<name>.svg`, `<name>-table.txt` (table and settings) and one
    /// `<name>-<group>.svg` per arm group, every figure captioned with `header` and its arms' settings;
    /// returns the table text.
    @discardableResult
    public func write(to directory: String, name: String, title: String,
                      extraColumns: [ExperimentColumn] = [],
                      header: [String] = []) throws(ExperimentError) -> String {
        do { try OutputFolder.create(directory) } catch { throw .output(path: directory, detail: error.reason) }
        try writeCSV(to: "\(directory)/\(name).csv")
        let table = finalTable(title: title, extraColumns: extraColumns).render() + "\n" + settingsText + "\n"
        do {
            try plot(title: title, header: header).write(to: "\(directory)/\(name).svg")
            for (g, file) in groupPlotFiles(name: name) {
                let members = arms.filter { $0.groups.contains(g) }.map(\.name)
                try plot(title: "\(title) — \(g)", arms: members, header: header).write(to: "\(directory)/\(file)")
            }
            try AtomicFile.write(table, to: "\(directory)/\(name)-table.txt")
        } catch { throw .output(path: directory, detail: "\(error)") }
        return table
    }
}
