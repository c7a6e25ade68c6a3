import Foundation
import Optimizers
import Reporting
import Solvers

/// `thermograd experiment methods` (docs/tkfac.md#method-1-or-method-2, the paper's open question 2): TK-FAC Method 1
/// (inverse from the covariance of `N` readouts) against Method 2 (warm-started solves from means over an
/// analog time `T` per right-hand side) over a range of device budgets, so that the two can be compared at
/// equal device time per step.
///
/// For each arm: final test accuracy, the relative error of its preconditioned update against digital
/// K-FAC on the same factors (`ThermodynamicFactorSolver.measuresUpdateError`, mean over the evaluations),
/// and the device time per step (critical path: factors on their own devices, layers in parallel). The
/// trade-off plot puts update error and accuracy against device time per step, one line per method.
public struct MethodsExperiment: Sendable, CustomStringConvertible {
    public var comparison = KFACComparisonSettings()
    /// Converters, β, feed… shared by both methods (their own budget knobs are swept).
    public var device = ThermodynamicKFACOptions()
    /// Method 1 budgets: readouts per factor inversion.
    public var samples: [Int] = [1024, 4096, 16384]
    /// Method 2 budgets: averaging time per right-hand side (in `device.timeUnit`).
    public var analogTimes: [Double] = [0.25, 1, 4]
    /// Also run each method's middle budget with the raw feed (batch arrays, no EMA).
    public var includeRawFeed = false

    public init() {}

    public func validate() throws(ExperimentError) {
        try comparison.validate()
        guard !samples.isEmpty || !analogTimes.isEmpty else {
            throw .invalidSetting(name: "budgets", value: "[]", requirement: "give Method 1 samples or Method 2 analog times")
        }
        for (i, s) in samples.enumerated() {
            var o = device
            o.method = 1
            o.samples = s
            do { _ = try o.configuration() } catch { throw .invalidSetting(name: "samples[\(i)]", value: "\(s)", requirement: error.description) }
        }
        for (i, t) in analogTimes.enumerated() {
            var o = device
            o.method = 2
            o.analogTime = t
            do { _ = try o.configuration() } catch { throw .invalidSetting(name: "analogTimes[\(i)]", value: "\(t)", requirement: error.description) }
        }
    }

    /// Arm name of Method 1 with `samples`, Method 2 with analog time `t`.
    public static func name(method1 samples: Int, raw: Bool = false) -> String { "M1 N=\(samples)\(raw ? " raw" : "")" }
    public static func name(method2 t: Double, raw: Bool = false) -> String {
        "M2 T=\(String(format: "%g", t))\(raw ? " raw" : "")"
    }

    public func arms() throws(ExperimentError) -> [ExperimentArm] {
        try validate()
        var arms = comparison.baselines(groups: ["method 1", "method 2"])
        func arm(_ o: ThermodynamicKFACOptions, _ name: String, _ group: String) throws(ExperimentError) -> ExperimentArm {
            do {
                return try .thermodynamicKFAC(name: name, groups: [group], training: comparison.kfacTraining, kfac: comparison.kfac,
                                              options: o, measureUpdateError: true)
            } catch { throw .invalidSetting(name: name, value: "\(o)", requirement: error.description) }
        }
        for s in samples {
            var o = device
            o.method = 1
            o.samples = s
            arms.append(try arm(o, Self.name(method1: s), "method 1"))
        }
        for t in analogTimes {
            var o = device
            o.method = 2
            o.analogTime = t
            arms.append(try arm(o, Self.name(method2: t), "method 2"))
        }
        if includeRawFeed {
            if !samples.isEmpty {
                var o = device
                o.method = 1
                o.samples = samples[samples.count / 2]
                o.feed = ThermodynamicKFACConfiguration.Feed.raw.rawValue
                arms.append(try arm(o, Self.name(method1: samples[samples.count / 2], raw: true), "raw feed"))
            }
            if !analogTimes.isEmpty {
                var o = device
                o.method = 2
                o.analogTime = analogTimes[analogTimes.count / 2]
                o.feed = ThermodynamicKFACConfiguration.Feed.raw.rawValue
                arms.append(try arm(o, Self.name(method2: o.analogTime, raw: true), "raw feed"))
            }
        }
        return arms
    }

    /// Device seconds per step of a final record (critical path over the run / steps).
    public static func deviceSecondsPerStep(_ r: ExperimentRecord) -> Double? {
        r.metrics["solver_device_seconds"].map { $0 / Double(max(r.step, 1)) }
    }

    /// Mean update error over a run's evaluations (the error fluctuates step to step).
    public static func meanUpdateError(_ results: ExperimentResults, arm: String, seed: UInt64) -> Double? {
        let values = results.records.filter { $0.arm == arm && $0.seed == seed }.compactMap { $0.metrics["solver_update_relative_error"] }.filter(\.isFinite)
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    public static var tableColumns: [ExperimentColumn] { [
        ("device s/step", 4, deviceSecondsPerStep),
        ("‖ΔU‖/‖U‖ (last)", 3, { $0.metrics["solver_update_relative_error"] }),
        ("energy J/step", 4, { r in r.metrics["solver_device_energy_joules"].map { $0 / Double(max(r.step, 1)) } }),
        ("sim wall s", 1, { $0.metrics["solver_device_wall_seconds"] }),
        ("device errors", 0, { $0.metrics["solver_device_errors"] }),
    ] }

    /// Update error (mean over evaluations) and final test accuracy against device time per step, one line
    /// per method (log-scale x through log10 of the seconds), with digital K-FAC's accuracy for reference;
    /// captioned with `header` and the arms' settings (`ExperimentResults.caption`).
    public static func tradeOffPlot(_ results: ExperimentResults, title: String, header: [String] = []) -> LinePlot {
        func line(_ prefix: String, _ y: (ExperimentArm, ExperimentRecord) -> Double?) -> PlotSeries {
            var points: [PlotPoint] = []
            for arm in results.arms where arm.name.hasPrefix(prefix) && !arm.name.hasSuffix("raw") {
                let finals = results.finalRecords(arm: arm.name)
                let xs = finals.compactMap(deviceSecondsPerStep).filter { $0 > 0 }
                let ys = finals.compactMap { y(arm, $0) }
                guard !xs.isEmpty, !ys.isEmpty else { continue }
                points.append(PlotPoint(x: log10(xs.reduce(0, +) / Double(xs.count)), y: ys.reduce(0, +) / Double(ys.count)))
            }
            return PlotSeries(name: prefix == "M1" ? "Method 1 (inversion)" : "Method 2 (linear systems)",
                              points: points.sorted { $0.x < $1.x }, markers: true)
        }
        let error: (ExperimentArm, ExperimentRecord) -> Double? = { arm, r in meanUpdateError(results, arm: arm.name, seed: r.seed) }
        let accuracy: (ExperimentArm, ExperimentRecord) -> Double? = { _, r in 100 * r.testAccuracy }
        var plot = LinePlot(title: title, panels: [
            PlotPanel(title: "Update error vs digital K-FAC", xLabel: "log10 device seconds per step", yLabel: "‖U − U_K-FAC‖/‖U_K-FAC‖",
                      series: [line("M1", error), line("M2", error)], logarithmicY: true),
            PlotPanel(title: "Final test accuracy", xLabel: "log10 device seconds per step", yLabel: "accuracy (%)",
                      series: [line("M1", accuracy), line("M2", accuracy)]),
        ])
        plot.caption = results.caption(header)
        return plot
    }

    public var description: String {
        "methods at equal device time: Method 1 samples \(samples), Method 2 analog times \(analogTimes) "
            + "(\(device.timeUnit.rawValue))\(includeRawFeed ? ", plus raw feed" : ""); \(comparison); TK-FAC base \(device)"
    }
}
