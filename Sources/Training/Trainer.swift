import Communication
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
    /// Ranks of the run (1: one process), and this rank's mean collective traffic per step of this session.
    public var ranks = 1
    public var communicationBytesPerStep = 0.0
    public var communicationSecondsPerStep = 0.0
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
    /// The ranks of a data-parallel run (`mpirun … --distributed`); rank 0 writes the run folder.
    public let communicator: any Communicator
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
    ///
    /// On several ranks (`communicator.size > 1`, docs/multi-process.md#data-parallel-steps) every rank holds
    /// the model and trains on its part of each global batch; K-FAC's solver work is spread as `kfacPlacement`
    /// says. Settings that cannot run distributed are refused by name.
    public init(configuration: TrainingConfiguration, train: LabeledImages, test: LabeledImages,
                communicator: any Communicator = SingleProcessCommunicator(), kfacPlacement: KFACWorkPlacement = .inverses,
                optimizer makeOptimizer: ((_ model: Sequential<Float>, _ totalSteps: Int) throws -> any Optimizer<Float>)? = nil)
        throws(TrainingError) {
        try configuration.validate()
        guard configuration.model != .miniLMLoRA else {
            throw .invalidConfiguration("--model minilm-lora classifies text: `thermograd train --model minilm-lora` trains it with "
                                        + "LoRAExperimentRunner (docs/lora.md), not on images")
        }
        guard train.count > 0, test.count > 0 else {
            throw .data("the data set has \(train.count) training and \(test.count) test examples; training and evaluation need at least one of each")
        }
        self.configuration = configuration
        self.communicator = communicator
        self.train = configuration.trainSubset.map { train.prefix($0) } ?? train
        self.test = configuration.testSubset.map { test.prefix($0) } ?? test
        model = ModelFactory.model(configuration, inputFeatures: train.features, classes: train.classCount)
        batches = MiniBatches(count: self.train.count, batchSize: min(configuration.batchSize, self.train.count), seed: configuration.seed)
        totalSteps = configuration.epochs * batches.batchesPerEpoch
        if let refusal = DataParallel.unsupported(configuration, ranks: communicator.size, trainExamples: self.train.count) {
            throw .invalidConfiguration(refusal)
        }
        do {
            optimizer = try makeOptimizer?(model, totalSteps)
                ?? ModelFactory.optimizer(configuration, totalSteps: totalSteps, model: model,
                                          distributed: communicator.size > 1 ? (communicator, kfacPlacement) : nil)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        step = TrainingStep(model: model, optimizer: optimizer, communicator: communicator)
    }

    /// Loads the training and test splits of the IDX folder `configuration.dataDirectory` (Fashion-MNIST by
    /// default; any folder in its layout, named after the folder: `IDXImageFolder(directory:)`), pixels
    /// normalised with Fashion-MNIST's statistics.
    public static func loadData(_ configuration: TrainingConfiguration) throws(TrainingError) -> (train: LabeledImages, test: LabeledImages) {
        do { return try IDXImageFolder(directory: configuration.dataDirectory).load() } catch { throw .data(error.description) }
    }

    /// Trains from step 0 (or, with `resume`, from the run folder's checkpoint) to the end; with
    /// `stopAfterStep`, stops after that global step with a checkpoint (an interruption, for tests).
    /// `log` receives the configuration and messages; `progress` shows the progress line.
    /// The steps are `TrainingLoop`'s, with an `EvaluationHook` on the test split (end of every epoch, the
    /// last step, every `evaluateEvery` steps) and a `TrainerRecorder` (rows, checkpoints, progress).
    ///
    /// The run folder (`Trainer+RunFolder.swift`): a new run refuses a folder that holds one unless
    /// `overwrite`; a resume writes nothing (config.json included) until its checkpoint has been accepted
    /// (settings, data fingerprint, epochs not lowered); temporary files of a killed run are removed.
    /// A diverged loss stops the run with `TrainingError.diverged` (`DivergenceGuard`).
    public func run(resume: Bool = false, overwrite: Bool = false, stopAfterStep: Int? = nil, log: @escaping (String) -> Void = { _ in },
                    progress: ProgressLine? = nil) throws -> TrainingSummary {
        let sessionStart = ContinuousClock.now
        // On several ranks only rank 0 touches the run folder; the others train, reduce and checkpoint in step.
        let writes = communicator.isRoot
        if !resume && writes { try prepareNewRunFolder(overwrite: overwrite) }
        let fingerprint = Self.dataFingerprint(train: train, test: test)
        let recorder = try TrainerRecorder(trainer: self, resume: resume, stopAfterStep: stopAfterStep, log: log,
                                           progress: progress, sessionStart: sessionStart, dataFingerprint: fingerprint)
        if writes {
            for orphan in AtomicFile.removeOrphanedTemporaries(in: configuration.outputDirectory) {
                log("removed \(orphan), a temporary file left by an interrupted run")
            }
            try AtomicFile.write(String(decoding: try JSONEncoder.sorted.encode(configuration), as: UTF8.self) + "\n", to: configPath)
        }
        let evaluateEvery = configuration.evaluateEvery
        let evaluation = EvaluationHook([("test", test)]) { e in
            e.endsEpoch || e.isLast || (evaluateEvery.map { e.step % $0 == 0 } ?? false)
        }
        let divergence = DivergenceGuard(classes: model.outputFeatures, learningRate: configuration.learningRate)
        // Rank 0 evaluates; the loss the divergence guard reads is the global one on every rank.
        let loop = TrainingLoop(step: step, data: train, batches: batches, totalSteps: totalSteps,
                                hooks: writes ? [evaluation, divergence, recorder] : [divergence, recorder])
        let start = recorder.startStep
        // A stop at or before the resumed step is never reached: the run goes on to the end.
        let s = try loop.run(from: start, until: stopAfterStep.flatMap { $0 > start ? $0 : nil })
        progress?.finish()

        let epochRows = recorder.epochRows, lastTest = recorder.lastTest
        let table = Self.table(epochRows)
        if writes {
            try Self.plot(recorder.metricRows, title: "\(configuration.model.rawValue.uppercased()) · \(configuration.optimizer.rawValue) · \(train.name)")
                .write(to: plotPath)
        }
        var summary = TrainingSummary(
            steps: s, epochsCompleted: s / batches.batchesPerEpoch, finalTestLoss: lastTest.loss, finalTestAccuracy: lastTest.accuracy,
            bestTestAccuracy: epochRows.compactMap { Double($0[6]) }.filter(\.isFinite).max() ?? .nan,
            wallSeconds: recorder.wall(), examplesPerSecond: Double(recorder.trainedExamples) / max(recorder.trainingSeconds, 1e-9),
            parameterCount: model.parameterCount, skippedSteps: optimizer.skippedSteps, table: table,
            plotPath: plotPath, metricsPath: metricsPath, checkpointPath: checkpointPath)
        summary.ranks = communicator.size
        let sessionSteps = Double(max(s - start, 1))
        summary.communicationBytesPerStep = Double(recorder.traffic.bytes) / sessionSteps
        summary.communicationSecondsPerStep = recorder.traffic.seconds / sessionSteps
        let ranksLine = communicator.size == 1 ? "" : String(
            format: "\nranks        %d (mpirun), rank 0 in collectives: %.3g MB and %.3g ms per step (%.1f%% of its step time)\n",
            communicator.size, summary.communicationBytesPerStep / 1e6, 1e3 * summary.communicationSecondsPerStep,
            100 * recorder.traffic.seconds / max(recorder.trainingSeconds, 1e-9))
        if writes { try AtomicFile.write(configuration.description + ranksLine + "\n\n" + table + "\n", to: summaryPath) }
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
