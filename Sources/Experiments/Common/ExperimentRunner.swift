import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Training

/// How long and how often: the schedule shared by every arm of an experiment, printed with its results.
public struct ExperimentSchedule: Sendable, Equatable, CustomStringConvertible {
    /// Training steps per run (nil: `epochs` of each arm's `TrainingConfiguration`).
    public var steps: Int?
    /// Evaluate on the test split every this many steps (and after the last step).
    public var evaluateEvery: Int
    /// Seeds; every arm runs once per seed (same initial weights and data order across arms for a seed).
    public var seeds: [UInt64]
    /// Use only the first `n` training / test examples (nil: all).
    public var trainSubset: Int?
    public var testSubset: Int?

    public init(steps: Int? = nil, evaluateEvery: Int = 50, seeds: [UInt64] = [1], trainSubset: Int? = nil,
                testSubset: Int? = nil) throws(ExperimentError) {
        self.steps = steps
        self.evaluateEvery = evaluateEvery
        self.seeds = seeds
        self.trainSubset = trainSubset
        self.testSubset = testSubset
        try validate()
    }

    public func validate() throws(ExperimentError) {
        if let s = steps, s < 1 { throw .invalidSetting(name: "steps", value: "\(s)", requirement: "at least 1 step") }
        guard evaluateEvery >= 1 else {
            throw .invalidSetting(name: "evaluateEvery", value: "\(evaluateEvery)", requirement: "at least 1 step")
        }
        guard !seeds.isEmpty else { throw .invalidSetting(name: "seeds", value: "[]", requirement: "at least one seed") }
        if let n = trainSubset, n < 1 { throw .invalidSetting(name: "trainSubset", value: "\(n)", requirement: "at least 1") }
        if let n = testSubset, n < 1 { throw .invalidSetting(name: "testSubset", value: "\(n)", requirement: "at least 1") }
    }

    public var description: String {
        "\(steps.map { "\($0) steps" } ?? "epochs per arm"), evaluation every \(evaluateEvery) steps, seeds "
            + seeds.map(String.init).joined(separator: ",")
            + (trainSubset.map { ", training subset of \($0)" } ?? "")
            + (testSubset.map { ", test subset of \($0)" } ?? "")
    }
}

/// One evaluation point of one run: the training window since the previous point, the test split, the
/// wall time, and every figure the optimiser (`CurvatureOptimizer.stepMetrics`) and the arm's probe report.
public struct ExperimentRecord: Sendable {
    public var arm: String
    public var seed: UInt64
    public var step: Int
    public var wallSeconds: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// Optimiser and probe figures by name (cumulative counters stay cumulative).
    public var metrics: [String: Double]

    /// Metric set on the last record of a run its optimiser stopped (`UpdateOutcome.failed`): the step.
    public static let failedAtStepKey = "failed_at_step"
    /// Metric set on the last record of a run that diverged (`DivergenceGuard`, loss non-finite or far above
    /// its start for 3 steps): the step.
    public static let divergedAtStepKey = DivergenceGuard.divergedAtStepKey

    /// How the run ended early, for log lines: "" when it ran its whole schedule.
    public var stopNote: String {
        metrics[Self.failedAtStepKey] != nil ? " (stopped by its optimiser)"
            : metrics[Self.divergedAtStepKey] != nil ? " (diverged: lower its learning rate)" : ""
    }
}

/// Trains every arm of an experiment for every seed and collects `ExperimentRecord`s
/// (see `ExperimentResults` for the CSV, plots and table).
///
/// Each run: `ModelFactory.model` with the seed, `MiniBatches` with the seed, and the `TrainingLoop`
/// (whose `TrainingStep` lets a `CurvatureOptimizer` observe the batch's curvature) with an evaluation on
/// the evaluated sets (test; validation and test for molecules) and an `ExperimentRecorder`. A run whose loss
/// diverges (`DivergenceGuard`) ends at that step, marked `diverged_at_step`; the other arms and seeds go on.
public final class ExperimentRunner {
    /// The training and evaluated sets (subsets applied) with their task.
    public let data: TrainingData
    public let schedule: ExperimentSchedule

    /// Images (softmax classification, evaluated on `test`).
    public convenience init(train: LabeledImages, test: LabeledImages, schedule: ExperimentSchedule) {
        self.init(data: .images(train: train, test: test), schedule: schedule)
    }

    /// Any `TrainingData`; `schedule.testSubset` applies to every evaluated set.
    public init(data: TrainingData, schedule: ExperimentSchedule) {
        self.data = data.prefix(train: schedule.trainSubset, evaluation: schedule.testSubset)
        self.schedule = schedule
    }

    /// The record metric the results lead with: nil for test accuracy, else `test_<headline>` (`test_roc_auc`).
    var headline: String? { data.headlineMetric == "accuracy" ? nil : "test_\(data.headlineMetric)" }

    /// Loads the IDX folder `directory` (Fashion-MNIST, the Debian package's folder, by default; see
    /// `Trainer.loadData`).
    public static func loadData(directory: String = FashionMNIST.defaultDirectory) throws(ExperimentError)
        -> (train: LabeledImages, test: LabeledImages) {
        var c = TrainingConfiguration()
        c.dataDirectory = directory
        do { return try Trainer.loadData(c) } catch { throw .data(error.description) }
    }

    /// Runs `arms` × `schedule.seeds` in order; `log` receives one line per finished run, and
    /// `checkpoint` the results so far after every finished run (write them there: an interrupted sweep
    /// then keeps every finished run's records).
    public func run(_ arms: [ExperimentArm], log: (String) -> Void = { _ in },
                    progress: ProgressLine? = nil,
                    checkpoint: ((ExperimentResults) throws(ExperimentError) -> Void)? = nil) throws(ExperimentError) -> ExperimentResults {
        var names = Set<String>()
        for a in arms where !names.insert(a.name).inserted {
            throw .invalidSetting(name: "arm", value: a.name, requirement: "arm names must be unique within an experiment")
        }
        var records: [ExperimentRecord] = []
        for arm in arms {
            for seed in schedule.seeds {
                let r = try run(arm, seed: seed, progress: progress)
                records += r
                if let last = r.last {
                    let score = headline.map { String(format: "%@ %.4f", $0.replacingOccurrences(of: "_", with: " "), last.metrics[$0] ?? .nan) }
                        ?? String(format: "test accuracy %.2f%%", 100 * last.testAccuracy)
                    log(String(format: "%@ seed %llu: %d steps%@, %@, test loss %.4f, %.1f s",
                               arm.name, seed, last.step, last.stopNote, score, last.testLoss, last.wallSeconds))
                }
                try checkpoint?(ExperimentResults(arms: arms, schedule: schedule, records: records, headline: headline))
            }
        }
        return ExperimentResults(arms: arms, schedule: schedule, records: records, headline: headline)
    }

    /// One run of `arm` with `seed`: `ModelFactory.model` for the seed, then `records(arm:seed:model:…)`.
    public func run(_ arm: ExperimentArm, seed: UInt64, progress: ProgressLine? = nil) throws(ExperimentError) -> [ExperimentRecord] {
        var c = arm.training
        c.seed = seed
        let model = ModelFactory.model(c, inputFeatures: data.inputFeatures, classes: data.outputs)
        return try Self.records(arm: arm, seed: seed, model: model, data: data, batchSize: c.batchSize, steps: schedule.steps,
                                evaluateEvery: schedule.evaluateEvery, progress: progress)
    }
}

/// Why an experiment could not run, and what to do.
public enum ExperimentError: Error, CustomStringConvertible, Sendable {
    case invalidSetting(name: String, value: String, requirement: String)
    /// The data set could not be read (message says how to install it).
    case data(String)
    /// An arm's optimiser could not be built.
    case optimizer(arm: String, detail: String)
    /// Results could not be written.
    case output(path: String, detail: String)
    /// A hook of the training loop failed during a run.
    case training(arm: String, seed: UInt64, detail: String)

    public var description: String {
        switch self {
        case let .invalidSetting(name, value, requirement): return "experiment: \(name) = \(value) is invalid: \(requirement)"
        case let .data(detail): return "experiment: \(detail)"
        case let .optimizer(arm, detail): return "experiment: the optimiser of arm '\(arm)' could not be built: \(detail); check its settings"
        case let .output(path, detail): return "experiment: cannot write \(path): \(detail); check the --out folder"
        case let .training(arm, seed, detail): return "experiment: the run of arm '\(arm)' with seed \(seed) stopped: \(detail)"
        }
    }
}
