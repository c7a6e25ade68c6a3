import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting

/// What a finished (or interrupted) run reports.
public struct TrainingSummary: Sendable {
    public let steps: Int
    public let epochsCompleted: Int
    public let finalTestLoss: Double
    public let finalTestAccuracy: Double
    public let bestTestAccuracy: Double
    /// Wall-clock seconds of the whole run (all sessions of a resumed run), evaluation included.
    public let wallSeconds: Double
    /// Training throughput over the run, evaluation and checkpoints excluded.
    public let examplesPerSecond: Double
    public let parameterCount: Int
    public let skippedSteps: Int
    /// Per-epoch table (text).
    public let table: String
    public let plotPath: String
    public let metricsPath: String
    public let checkpointPath: String
}

/// Runs a training job: seeded data order, steps, periodic evaluation on the test split, a progress
/// line, metrics CSVs, an SVG plot, a summary table and atomic safetensors checkpoints from which
/// `resume` continues exactly (same weights, bit for bit, as an uninterrupted run with the same seed).
///
/// Run folder (`configuration.outputDirectory`): `config.json`, `metrics.csv` (one row every `logEvery`
/// steps and at each epoch's end), `epochs.csv`, `curves.svg` (loss and accuracy against step and wall
/// time), `summary.txt`, `checkpoint.safetensors`.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let train: LabeledImages
    public let test: LabeledImages
    public let model: Sequential<Float>
    public let optimizer: any Optimizer<Float>
    public let batches: MiniBatches
    public let totalSteps: Int
    let step: TrainingStep

    public var metricsPath: String { configuration.outputDirectory + "/metrics.csv" }
    public var epochsPath: String { configuration.outputDirectory + "/epochs.csv" }
    public var plotPath: String { configuration.outputDirectory + "/curves.svg" }
    public var summaryPath: String { configuration.outputDirectory + "/summary.txt" }
    public var checkpointPath: String { configuration.outputDirectory + "/checkpoint.safetensors" }
    public var configPath: String { configuration.outputDirectory + "/config.json" }

    static let metricColumns = ["step", "epoch", "wall_seconds", "train_loss", "train_accuracy", "learning_rate",
                                "examples_per_second", "test_loss", "test_accuracy", "skipped_steps"]
    static let epochColumns = ["epoch", "step", "wall_seconds", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]

    /// A trainer for `configuration` on the given data (subsets are applied here). The optimiser is the one
    /// the configuration describes (`ModelFactory.optimizer`) unless `makeOptimizer` builds another for the
    /// model over `totalSteps` (an optimiser under development, or a test double).
    public init(configuration: TrainingConfiguration, train: LabeledImages, test: LabeledImages,
                optimizer makeOptimizer: ((_ model: Sequential<Float>, _ totalSteps: Int) throws -> any Optimizer<Float>)? = nil)
        throws(TrainingError) {
        try configuration.validate()
        self.configuration = configuration
        self.train = configuration.trainSubset.map { train.prefix($0) } ?? train
        self.test = configuration.testSubset.map { test.prefix($0) } ?? test
        model = ModelFactory.model(configuration, inputFeatures: train.features, classes: max(train.classNames.count, (train.labels.max() ?? 0) + 1))
        batches = MiniBatches(count: self.train.count, batchSize: min(configuration.batchSize, self.train.count), seed: configuration.seed)
        totalSteps = configuration.epochs * batches.batchesPerEpoch
        do {
            optimizer = try makeOptimizer?(model, totalSteps)
                ?? ModelFactory.optimizer(configuration, totalSteps: totalSteps, model: model)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        step = TrainingStep(model: model, optimizer: optimizer)
    }

    /// Loads the Fashion-MNIST splits named by `configuration.dataDirectory`.
    public static func loadFashionMNIST(_ configuration: TrainingConfiguration) throws(TrainingError) -> (train: LabeledImages, test: LabeledImages) {
        do {
            return (try FashionMNIST.load(.train, directory: configuration.dataDirectory),
                    try FashionMNIST.load(.test, directory: configuration.dataDirectory))
        } catch { throw .data(error.description) }
    }

    /// Trains from step 0 (or, with `resume`, from the run folder's checkpoint) to the end; with
    /// `stopAfterStep`, stops after that global step with a checkpoint (an interruption, for tests).
    /// `log` receives the configuration and messages; `progress` shows the progress line.
    /// The steps are `TrainingLoop`'s, with an `EvaluationHook` on the test split (end of every epoch, the
    /// last step, every `evaluateEvery` steps) and a `TrainerRecorder` (rows, checkpoints, progress).
    public func run(resume: Bool = false, stopAfterStep: Int? = nil, log: @escaping (String) -> Void = { _ in },
                    progress: ProgressLine? = nil) throws -> TrainingSummary {
        let sessionStart = ContinuousClock.now
        do {
            try FileManager.default.createDirectory(atPath: configuration.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.output("\(configuration.outputDirectory): \(error.localizedDescription)")
        }
        try AtomicFile.write(String(decoding: try JSONEncoder.sorted.encode(configuration), as: UTF8.self) + "\n", to: configPath)

        let recorder = try TrainerRecorder(trainer: self, resume: resume, stopAfterStep: stopAfterStep, log: log,
                                           progress: progress, sessionStart: sessionStart)
        let evaluateEvery = configuration.evaluateEvery
        let evaluation = EvaluationHook([("test", test)]) { e in
            e.endsEpoch || e.isLast || (evaluateEvery.map { e.step % $0 == 0 } ?? false)
        }
        let loop = TrainingLoop(step: step, data: train, batches: batches, totalSteps: totalSteps, hooks: [evaluation, recorder])
        let start = recorder.startStep
        // A stop at or before the resumed step is never reached: the run goes on to the end.
        let s = try loop.run(from: start, until: stopAfterStep.flatMap { $0 > start ? $0 : nil })
        progress?.finish()

        let epochRows = recorder.epochRows, lastTest = recorder.lastTest
        let table = Self.table(epochRows)
        try Self.plot(recorder.metricRows, title: "\(configuration.model.rawValue.uppercased()) · \(configuration.optimizer.rawValue) · Fashion-MNIST")
            .write(to: plotPath)
        let summary = TrainingSummary(
            steps: s, epochsCompleted: s / batches.batchesPerEpoch, finalTestLoss: lastTest.loss, finalTestAccuracy: lastTest.accuracy,
            bestTestAccuracy: epochRows.compactMap { Double($0[6]) }.filter(\.isFinite).max() ?? .nan,
            wallSeconds: recorder.wall(), examplesPerSecond: Double(recorder.trainedExamples) / max(recorder.trainingSeconds, 1e-9),
            parameterCount: model.parameterCount, skippedSteps: optimizer.skippedSteps, table: table,
            plotPath: plotPath, metricsPath: metricsPath, checkpointPath: checkpointPath)
        try AtomicFile.write(configuration.description + "\n\n" + table + "\n", to: summaryPath)
        return summary
    }

    /// The per-epoch summary table.
    static func table(_ rows: [[String]]) -> String {
        func pct(_ s: String) -> String { Double(s).map { String(format: "%.2f", 100 * $0) } ?? s }
        func num(_ s: String, _ digits: Int = 4) -> String { Double(s).map { String(format: "%.\(digits)f", $0) } ?? s }
        return TextTable(title: "Per-epoch results", headers: ["epoch", "step", "train loss", "train acc %", "test loss", "test acc %", "wall s"],
                         rows: rows.map { [$0[0], $0[1], num($0[3]), pct($0[4]), num($0[5]), pct($0[6]), num($0[2], 1)] }).render()
    }

    /// Loss and accuracy against step and wall time, from the metrics rows.
    static func plot(_ rows: [[String]], title: String) -> LinePlot {
        func column(_ j: Int) -> [Double] { rows.map { Double($0[j]) ?? .nan } }
        let (step, wall, trainLoss, trainAcc, testLoss, testAcc) = (column(0), column(2), column(3), column(4), column(7), column(8))
        func panels(x: [Double], label: String) -> [PlotPanel] {
            let evaluated = x.indices.filter { testLoss[$0].isFinite }
            // Rows of test-only evaluations carry no training value: skip them rather than break the line.
            let logged = x.indices.filter { trainLoss[$0].isFinite }
            return [
                PlotPanel(title: "Loss", xLabel: label, yLabel: "cross-entropy", series: [
                    PlotSeries(name: "train", x: logged.map { x[$0] }, y: logged.map { trainLoss[$0] }),
                    PlotSeries(name: "test", x: evaluated.map { x[$0] }, y: evaluated.map { testLoss[$0] }, markers: true),
                ], logarithmicY: true),
                PlotPanel(title: "Accuracy", xLabel: label, yLabel: "accuracy (%)", series: [
                    PlotSeries(name: "train", x: logged.map { x[$0] }, y: logged.map { 100 * trainAcc[$0] }),
                    PlotSeries(name: "test", x: evaluated.map { x[$0] }, y: evaluated.map { 100 * testAcc[$0] }, markers: true),
                ]),
            ]
        }
        return LinePlot(title: title, panels: panels(x: step, label: "step") + panels(x: wall, label: "wall time (s)"))
    }
}
