import Curvature
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Solvers
import ThermoDevice
import Training

/// The TNGD experiments (issue 7, docs/tngd.md#paper-settings) as lists of arms, and their reports.
///
/// - `mnist`: the paper's setting (b = 64, TNGD η = 0.01, t = 50τ, λ = 0.01, δt = 0.1τ; Adam η = 1e-3),
///   optionally TNGD-Adam and the digital baselines NGD-CG / NGD-Woodbury with the same step counts;
/// - `time`: t ∈ {5, 10, 20, 50}τ against exact NGD (Woodbury: exact up to round-off);
/// - `delay`: t_d ∈ {0, 0.2, 1}τ at t = 5τ;
/// - `noise`: κ0 ∈ {0.1, 0.01, 0.001} at t = τ.
/// `digitalSeconds(name)` is the cost model's digital time per step for `"adam"`, `"tngd"`, `"ngd-cg"`,
/// `"ngd-woodbury"` (supplied by the caller from `Predictions.StepCostModel`).
public enum TNGDExperiments {
    /// Settings of the TNGD arms that the experiments vary: the TNGD settings (their one home,
    /// `ThermodynamicNaturalGradientSettings`: the paper's), the two learning rates and the device's cost model.
    public struct Knobs: Sendable, CustomStringConvertible {
        public var learningRate = TrainingConfiguration.defaultLearningRate(for: .tngd)
        public var adamLearningRate = TrainingConfiguration.defaultLearningRate(for: .tngdAdam)
        public var tngd = ThermodynamicNaturalGradientSettings()
        /// Device programming: seconds per resistor and rows written in parallel (`ThermoDevice.CostModel`).
        public var costModel = CostModel()
        public init() {}

        /// The validated TNGD configuration with device seed `seed` as given (not derived from a run seed).
        public func configuration(seed: UInt64 = 0) throws -> ThermodynamicNaturalGradientConfiguration {
            try tngd.configuration(seed: 0, costModel: costModel).withSeed(seed)
        }

        public var description: String { "η \(learningRate), \(tngd); Adam η \(adamLearningRate); device \(costModel)" }
    }

    /// The experiments' own analog times and sweeps (the paper's figures).
    public static let analogTimes: [Double] = [5, 10, 20, 50]
    public static let delays: [Double] = [0, 0.2, 1]
    public static let delayAnalogTime = 5.0
    public static let noises: [Double] = [0.1, 0.01, 0.001]
    public static let noiseAnalogTime = 1.0

    static func schedule(_ rate: Double, steps: Int) throws -> LearningRateSchedule {
        try LearningRateSchedule(baseRate: rate, decay: .constant, warmupSteps: 0, totalSteps: max(steps, 1))
    }

    static func training(_ rate: Double, batch: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.learningRate = rate
        c.batchSize = batch
        return c
    }

    public static func adam(_ k: Knobs, batch: Int, digitalSeconds: (String) -> Double) -> TNGDArm {
        TNGDArm(arm: ExperimentArm(name: "Adam", training: training(k.adamLearningRate, batch: batch),
                                   settings: "Adam η \(k.adamLearningRate), β (0.9, 0.999)") { _, steps, _ in
            try Adam<Float>(schedule: schedule(k.adamLearningRate, steps: steps))
        }, digitalSecondsPerStep: digitalSeconds("adam"))
    }

    /// A TNGD arm (`adam: true`: TNGD-Adam with the paper's β₁ = β₂ = 0).
    public static func tngd(_ name: String, _ k: Knobs, adam: Bool = false, batch: Int, groups: [String] = [],
                            digitalSeconds: (String) -> Double) throws -> TNGDArm {
        let config = try k.configuration()
        let rate = adam ? k.adamLearningRate : k.learningRate
        let settings = "\(config) [device noise seed per run: seed·7919 + 17], "
            + (adam ? "Adam η \(rate), β (\(k.tngd.adamBeta1), \(k.tngd.adamBeta2))" : "SGD η \(rate), momentum \(k.tngd.momentum)")
        return TNGDArm(arm: ExperimentArm(name: name, groups: groups, training: training(rate, batch: batch), settings: settings) { _, steps, seed in
            let seeded = config.withSeed(seed &* 7919 &+ 17)
            let inner: any Optimizer<Float> = adam
                ? try Adam<Float>(schedule: schedule(rate, steps: steps), beta1: k.tngd.adamBeta1, beta2: k.tngd.adamBeta2)
                : try SGD<Float>(schedule: schedule(rate, steps: steps), momentum: k.tngd.momentum)
            return NaturalGradientDescent<Float>.thermodynamic(inner: inner, configuration: seeded)
        }, digitalSecondsPerStep: digitalSeconds("tngd"))
    }

    /// Exact NGD (Woodbury on the dense Jacobian, `NaturalGradientDescent`), SGD η on top.
    public static func woodbury(_ name: String, _ k: Knobs, batch: Int, groups: [String] = [],
                                digitalSeconds: (String) -> Double) -> TNGDArm {
        TNGDArm(arm: ExperimentArm(name: name, groups: groups, training: training(k.learningRate, batch: batch),
                                   settings: "NGD(woodbury, λ \(k.tngd.damping)), SGD η \(k.learningRate)") { _, steps, _ in
            var c = NaturalGradientConfiguration()
            c.method = .woodbury
            c.damping = k.tngd.damping
            return try NaturalGradientDescent<Float>(inner: SGD(schedule: schedule(k.learningRate, steps: steps)), configuration: c)
        }, digitalSecondsPerStep: digitalSeconds("ngd-woodbury"))
    }

    /// NGD-CG (`NaturalGradientDescent` with the CG solver on `GaussNewtonOperator`'s factored products, warm
    /// started), SGD η on top: TNGD's digital baseline.
    public static func conjugateGradient(_ name: String, _ k: Knobs, iterations: Int, batch: Int,
                                         digitalSeconds: (String) -> Double) -> TNGDArm {
        TNGDArm(arm: ExperimentArm(name: name, training: training(k.learningRate, batch: batch),
                                   settings: "NGD-CG(λ \(k.tngd.damping), ≤ \(iterations) iterations, tolerance 1e-3, warm start), SGD η \(k.learningRate)") { _, steps, _ in
            var c = NaturalGradientConfiguration()
            c.damping = k.tngd.damping
            c.cgTolerance = 1e-3
            c.cgMaxIterations = iterations
            c.warmStart = true
            return try NaturalGradientDescent<Float>(inner: SGD(schedule: schedule(k.learningRate, steps: steps)), configuration: c)
        }, digitalSecondsPerStep: digitalSeconds("ngd-cg"))
    }

    // MARK: Reports

    /// Train-eval loss, test accuracy against step and against modelled runtime (mean over seeds); captioned
    /// with `header` and the arms' settings (`ExperimentResults.caption`).
    public static func runtimePlot(_ results: ExperimentResults, title: String, header: [String] = []) -> LinePlot {
        func series(_ x: @escaping (ExperimentRecord) -> Double, _ y: @escaping (ExperimentRecord) -> Double) -> [PlotSeries] {
            results.arms.enumerated().map { i, arm in
                let xs = results.meanCurve(arm: arm.name, x), ys = results.meanCurve(arm: arm.name, y)
                return PlotSeries(name: arm.name, x: xs.values, y: ys.values, color: LinePlot.palette[i % LinePlot.palette.count],
                                  dashed: i >= LinePlot.palette.count, markers: xs.values.count <= 12)
            }
        }
        let step: (ExperimentRecord) -> Double = { Double($0.step) }
        let modelled: (ExperimentRecord) -> Double = { $0.metrics["modelled_seconds"] ?? .nan }
        let loss: (ExperimentRecord) -> Double = { $0.metrics["train_eval_loss"] ?? .nan }
        let accuracy: (ExperimentRecord) -> Double = { 100 * $0.testAccuracy }
        var plot = LinePlot(title: title + " (mean over \(results.schedule.seeds.count) seed(s))", panels: [
            PlotPanel(title: "Training loss", xLabel: "step", yLabel: "cross-entropy", series: series(step, loss), logarithmicY: true),
            PlotPanel(title: "Training loss", xLabel: "modelled runtime (s)", yLabel: "cross-entropy", series: series(modelled, loss),
                      logarithmicY: true),
            PlotPanel(title: "Test accuracy", xLabel: "step", yLabel: "accuracy (%)", series: series(step, accuracy)),
            PlotPanel(title: "Test accuracy", xLabel: "modelled runtime (s)", yLabel: "accuracy (%)", series: series(modelled, accuracy)),
        ], columns: 2)
        plot.caption = results.caption(header)
        return plot
    }

    /// Extra table columns: final training loss on the fixed subset, device and modelled seconds, simulator wall per step.
    public static var columns: [ExperimentColumn] {
        [("train-eval loss", 4, { $0.metrics["train_eval_loss"] }),
         ("train-eval acc %", 2, { $0.metrics["train_eval_accuracy"].map { 100 * $0 } }),
         ("device s/step", 4, { r in r.metrics["device_seconds"].map { $0 / Double(r.step) } }),
         ("modelled s", 3, { $0.metrics["modelled_seconds"] }),
         ("wall s/step", 3, { $0.metrics["wall_step_seconds"] })]
    }

    /// For every arm, the first evaluated step (mean curve over seeds) at which the fixed-subset training
    /// loss is at or below `target`, or nil if never.
    public static func stepsToReach(_ results: ExperimentResults, target: Double) -> [(arm: String, step: Int?, modelled: Double?)] {
        results.arms.map { arm in
            let loss = results.meanCurve(arm: arm.name) { $0.metrics["train_eval_loss"] ?? .nan }
            let modelled = results.meanCurve(arm: arm.name) { $0.metrics["modelled_seconds"] ?? .nan }
            guard let i = loss.values.firstIndex(where: { $0 <= target }) else { return (arm.name, nil, nil) }
            return (arm.name, Int(loss.steps[i]), i < modelled.values.count ? modelled.values[i] : nil)
        }
    }

    /// Writes `<name>.csv`, `<name>.svg` (shared plot), `<name>-runtime.svg` and `<name>-table.txt`; returns the table text
    /// with `header` (how the experiment was run: command, settings, cost model) before it, the arms' settings after it,
    /// and `postscript` (derived findings) last. Both figures carry `header`, the schedule and the arms' settings as caption.
    @discardableResult
    public static func write(_ results: ExperimentResults, to directory: String, name: String, title: String,
                             header: [String], postscript: String = "") throws -> String {
        let table = try results.write(to: directory, name: name, title: title, extraColumns: columns, header: header)
        try runtimePlot(results, title: title, header: header).write(to: "\(directory)/\(name)-runtime.svg")
        let text = header.joined(separator: "\n") + "\n\n" + table + (postscript.isEmpty ? "" : "\n" + postscript + "\n")
        try AtomicFile.write(text, to: "\(directory)/\(name)-table.txt")
        return text
    }

    /// The files `write` makes in its folder for `name`, as the commands list them.
    public static func outputFiles(name: String) -> String {
        "\(name).csv, \(name).svg, \(name)-runtime.svg, \(name)-table.txt"
    }

    /// A runner's `checkpoint`: `write` of the results so far after every finished run, so that an interrupted
    /// experiment keeps what it finished; a failure that is not an `ExperimentError` becomes `.output` naming the folder.
    public static func checkpoint(to directory: String, name: String, title: String,
                                  header: [String]) -> (ExperimentResults) throws(ExperimentError) -> Void {
        { (partial) throws(ExperimentError) in
            do {
                _ = try write(partial, to: directory, name: name, title: title, header: header)
            } catch let error as ExperimentError { throw error } catch {
                throw .output(path: directory, detail: "\(error)")
            }
        }
    }
}
