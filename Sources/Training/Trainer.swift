import Chemistry
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
    /// Test accuracy at the end and the best at an epoch's end (NaN for a task without accuracy).
    public let finalTestAccuracy: Double
    public let bestTestAccuracy: Double
    /// Every evaluated set's loss and metrics after the last step (`"test"`, and `"validation"` for molecules).
    public var finalEvaluations: [String: Evaluation] = [:]
    /// The evaluations of the epoch whose first evaluated set scored best on the headline metric (model
    /// selection: for molecules the test figures at the best validation ROC-AUC, as OGB reports), and its step.
    public var selectedEvaluations: [String: Evaluation] = [:]
    public var selectedStep = 0
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

/// Runs a training job: seeded data order, steps, periodic evaluation on the evaluated splits (test; for
/// molecules validation and test), a progress line, metrics CSVs, an SVG plot, a summary table and atomic
/// safetensors checkpoints from which `resume` continues exactly (same weights, bit for bit, as an
/// uninterrupted run with the same seed). The data and its task come as one `TrainingData` (images or
/// molecules), so every workload runs through the same code.
///
/// Run folder (`configuration.outputDirectory`): `config.json`, `metrics.csv` (one row every `logEvery`
/// steps and at each epoch's end), `epochs.csv`, `curves.svg` (loss and the headline metric against step and
/// wall time), `summary.txt`, `checkpoint.safetensors`. The evaluation columns are `<set>_loss` and
/// `<set>_<metric>` (`test_loss, test_accuracy` for images).
public final class Trainer {
    public let configuration: TrainingConfiguration
    /// The training and evaluated sets (subsets applied) with their task.
    public let data: TrainingData
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

    /// `<set>_loss`, `<set>_<metric>` for every evaluated set.
    var evaluationColumns: [String] {
        data.evaluationNames.flatMap { set in ["\(set)_loss"] + data.metricNames.map { "\(set)_\($0)" } }
    }
    var metricColumns: [String] {
        ["step", "epoch", "wall_seconds", "train_loss", "train_accuracy", "learning_rate", "examples_per_second"]
            + evaluationColumns + ["skipped_steps"]
    }
    var epochColumns: [String] { ["epoch", "step", "wall_seconds", "train_loss", "train_accuracy"] + evaluationColumns }

    /// A trainer for `configuration` on the given data (subsets are applied here). The optimiser is the one
    /// the configuration describes (`ModelFactory.optimizer`) unless `makeOptimizer` builds another for the
    /// model over `totalSteps` (an optimiser under development, or a test double).
    ///
    /// On several ranks (`communicator.size > 1`, docs/multi-process.md#data-parallel-steps) every rank holds
    /// the model and trains on its part of each global batch; K-FAC's solver work is spread as `kfacPlacement`
    /// says. Settings that cannot run distributed are refused by name.
    public convenience init(configuration: TrainingConfiguration, train: LabeledImages, test: LabeledImages,
                            communicator: any Communicator = SingleProcessCommunicator(), kfacPlacement: KFACWorkPlacement = .inverses,
                            optimizer makeOptimizer: ((_ model: Sequential<Float>, _ totalSteps: Int) throws -> any Optimizer<Float>)? = nil)
        throws(TrainingError) {
        try self.init(configuration: configuration, data: .images(train: train, test: test), communicator: communicator,
                      kfacPlacement: kfacPlacement, optimizer: makeOptimizer)
    }

    /// A trainer on any `TrainingData` (images, molecules); `testSubset` applies to every evaluated set.
    public init(configuration: TrainingConfiguration, data: TrainingData,
                communicator: any Communicator = SingleProcessCommunicator(), kfacPlacement: KFACWorkPlacement = .inverses,
                optimizer makeOptimizer: ((_ model: Sequential<Float>, _ totalSteps: Int) throws -> any Optimizer<Float>)? = nil)
        throws(TrainingError) {
        try configuration.validate()
        guard configuration.model != .miniLMLoRA else {
            throw .invalidConfiguration("--model minilm-lora classifies text: `thermograd train --model minilm-lora` trains it with "
                                        + "LoRAExperimentRunner (docs/lora.md), not on images")
        }
        guard data.trainCount > 0, data.evaluationSets.allSatisfy({ $0.count > 0 }) else {
            throw .data("the data set has \(data.trainCount) training and "
                        + data.evaluationSets.map { "\($0.count) \($0.name)" }.joined(separator: " and ")
                        + " examples; training and evaluation need at least one of each")
        }
        self.configuration = configuration
        self.communicator = communicator
        self.data = data.prefix(train: configuration.trainSubset, evaluation: configuration.testSubset)
        model = ModelFactory.model(configuration, inputFeatures: data.inputFeatures, classes: data.outputs)
        batches = MiniBatches(count: self.data.trainCount, batchSize: min(configuration.batchSize, self.data.trainCount), seed: configuration.seed)
        totalSteps = configuration.epochs * batches.batchesPerEpoch
        if let refusal = DataParallel.unsupported(configuration, ranks: communicator.size, trainExamples: self.data.trainCount) {
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

    /// The data `configuration.model` reads: images from `loadData` or, for a model of molecule graphs, the
    /// ogbg-molhiv scaffold split (`MoleculeGraphs.hivScaffoldSplit`; `log` receives its sizes).
    public static func loadTrainingData(_ configuration: TrainingConfiguration, log: (String) -> Void = { _ in }) throws(TrainingError) -> TrainingData {
        switch configuration.model.builder.input {
        case .images:
            let (train, test) = try loadData(configuration)
            return .images(train: train, test: test)
        case .tokenSequences:
            throw .invalidConfiguration("--model \(configuration.model.rawValue) reads token sequences: it trains with "
                                        + "LoRAExperimentRunner (docs/lora.md), not the Trainer")
        case .moleculeGraphs:
            do {
                let split = try MoleculeGraphs.hivScaffoldSplit(log: log)
                return .molecules(train: split.train, validation: split.validation, test: split.test,
                                  positiveWeight: Float(configuration.gnn.positiveWeight))
            } catch { throw .data(error.description) }
        }
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
        let fingerprint = data.fingerprint
        let recorder = try TrainerRecorder(trainer: self, resume: resume, stopAfterStep: stopAfterStep, log: log,
                                           progress: progress, sessionStart: sessionStart, dataFingerprint: fingerprint)
        if writes {
            for orphan in AtomicFile.removeOrphanedTemporaries(in: configuration.outputDirectory) {
                log("removed \(orphan), a temporary file left by an interrupted run")
            }
            try AtomicFile.write(String(decoding: try JSONEncoder.sorted.encode(configuration), as: UTF8.self) + "\n", to: configPath)
        }
        let evaluateEvery = configuration.evaluateEvery
        let evaluation = data.makeEvaluation { e in
            e.endsEpoch || e.isLast || (evaluateEvery.map { e.step % $0 == 0 } ?? false)
        }
        let divergence = DivergenceGuard(classes: model.outputFeatures, learningRate: configuration.learningRate)
        // Rank 0 evaluates; the loss the divergence guard reads is the global one on every rank.
        let loop = data.makeLoop(step: step, batches: batches, totalSteps: totalSteps,
                                 hooks: writes ? [evaluation, divergence, recorder] : [divergence, recorder])
        let start = recorder.startStep
        // A stop at or before the resumed step is never reached: the run goes on to the end.
        let s = try loop.run(from: start, until: stopAfterStep.flatMap { $0 > start ? $0 : nil })
        progress?.finish()

        let epochRows = recorder.epochRows, lastTest = recorder.lastEvaluations["test"] ?? Evaluation(loss: .nan, accuracy: .nan)
        let table = self.table(epochRows)
        if writes {
            try plot(recorder.metricRows, title: "\(configuration.model.rawValue.uppercased()) · \(configuration.optimizer.rawValue) · \(data.name)")
                .write(to: plotPath)
        }
        let testAccuracyColumn = epochColumns.firstIndex(of: "test_accuracy")
        var summary = TrainingSummary(
            steps: s, epochsCompleted: s / batches.batchesPerEpoch, finalTestLoss: lastTest.loss, finalTestAccuracy: lastTest.accuracy,
            bestTestAccuracy: testAccuracyColumn.flatMap { j in epochRows.compactMap { Double($0[j]) }.filter(\.isFinite).max() } ?? .nan,
            wallSeconds: recorder.wall(), examplesPerSecond: Double(recorder.trainedExamples) / max(recorder.trainingSeconds, 1e-9),
            parameterCount: model.parameterCount, skippedSteps: optimizer.skippedSteps, table: table,
            plotPath: plotPath, metricsPath: metricsPath, checkpointPath: checkpointPath)
        summary.ranks = communicator.size
        summary.finalEvaluations = recorder.lastEvaluations
        // Model selection over every evaluation of the run (epoch ends and `evaluateEvery` steps alike): the rows
        // of metrics.csv that hold evaluations, laid out as epoch rows (epoch, step, then the evaluation cells).
        let evaluationCells = data.evaluationNames.count * (1 + data.metricNames.count)
        let evaluatedRows = recorder.metricRows.filter { $0.count >= 7 + evaluationCells && !$0[7].isEmpty }
            .map { r in [r[1], r[0], "", "", ""] + Array(r[7..<(7 + evaluationCells)]) }
        if let best = selectedRow(evaluatedRows) {
            summary.selectedEvaluations = evaluations(in: best)
            summary.selectedStep = Int(best[1]) ?? 0
        }
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

    /// The evaluations stored in an `epochs.csv` row (`epochColumns`), by set.
    func evaluations(in row: [String]) -> [String: Evaluation] {
        var out: [String: Evaluation] = [:]
        var j = 5
        for set in data.evaluationNames {
            let loss = Double(row[j]) ?? .nan
            var metrics: [String: Double] = [:]
            for (k, m) in data.metricNames.enumerated() { metrics[m] = Double(row[j + 1 + k]) ?? .nan }
            out[set] = Evaluation(loss: loss, metrics: metrics)
            j += 1 + data.metricNames.count
        }
        return out
    }

    /// The row (epoch-row layout) whose first evaluated set has the best headline metric (the highest; the lowest
    /// loss when the task has no metric); the earliest on ties.
    func selectedRow(_ rows: [[String]]) -> [String]? {
        let j = 5 + (data.metricNames.isEmpty ? 0 : 1)
        let sign = data.metricNames.isEmpty ? -1.0 : 1.0
        return rows.filter { (Double($0[j]) ?? .nan).isFinite }.max { sign * Double($0[j])! < sign * Double($1[j])! }
    }

    /// One line of evaluations: `test loss 0.3120  test acc 88.12%` (accuracy in %, other metrics with 4 digits).
    public func describe(_ evaluations: [String: Evaluation]) -> String {
        data.evaluationNames.map { set in
            let e = evaluations[set] ?? Evaluation(loss: .nan, metrics: [:])
            return String(format: "%@ loss %.4f", set, e.loss) + data.metricNames.map { m in
                m == "accuracy" ? String(format: "  %@ acc %.2f%%", set, 100 * e.accuracy)
                                : String(format: "  %@ %@ %.4f", set, m, e.metrics[m] ?? .nan)
            }.joined()
        }.joined(separator: "  ")
    }

    /// The per-epoch summary table.
    func table(_ rows: [[String]]) -> String {
        func pct(_ s: String) -> String { Double(s).map { String(format: "%.2f", 100 * $0) } ?? s }
        func num(_ s: String, _ digits: Int = 4) -> String { Double(s).map { String(format: "%.\(digits)f", $0) } ?? s }
        let evaluated = data.evaluationNames.flatMap { set in
            [("\(set) loss", false)] + data.metricNames.map { $0 == "accuracy" ? ("\(set) acc %", true) : ("\(set) \($0)", false) }
        }
        return TextTable(title: "Per-epoch results", headers: ["epoch", "step", "train loss", "train acc %"] + evaluated.map(\.0) + ["wall s"],
                         rows: rows.map { row in
                             [row[0], row[1], num(row[3]), pct(row[4])]
                                 + evaluated.enumerated().map { k, column in column.1 ? pct(row[5 + k]) : num(row[5 + k]) }
                                 + [num(row[2], 1)]
                         }).render()
    }

    /// Loss and the headline metric against step and wall time, from the metrics rows (`metricColumns`).
    func plot(_ rows: [[String]], title: String) -> LinePlot {
        let names = metricColumns
        func column(_ name: String) -> [Double] {
            guard let j = names.firstIndex(of: name) else { return rows.map { _ in .nan } }
            return rows.map { j < $0.count ? Double($0[j]) ?? .nan : .nan }
        }
        let headline = data.headlineMetric
        let percent = headline == "accuracy"
        let scale = percent ? 100.0 : 1.0
        let (step, wall, trainLoss, trainAcc) = (column("step"), column("wall_seconds"), column("train_loss"), column("train_accuracy"))
        let sets = data.evaluationNames.map { ($0, column("\($0)_loss"), column("\($0)_\(headline)")) }
        func panels(x: [Double], label: String) -> [PlotPanel] {
            // Rows of evaluation-only rows carry no training value: skip them rather than break the line.
            let logged = x.indices.filter { trainLoss[$0].isFinite }
            func evaluated(_ values: [Double]) -> [Int] { x.indices.filter { values[$0].isFinite } }
            return [
                PlotPanel(title: "Loss", xLabel: label, yLabel: data.lossName, series: [
                    PlotSeries(name: "train", x: logged.map { x[$0] }, y: logged.map { trainLoss[$0] }),
                ] + sets.map { set, loss, _ in
                    PlotSeries(name: set, x: evaluated(loss).map { x[$0] }, y: evaluated(loss).map { loss[$0] }, markers: true)
                }, logarithmicY: true),
                PlotPanel(title: percent ? "Accuracy" : headline, xLabel: label, yLabel: percent ? "accuracy (%)" : headline,
                          series: (percent ? [PlotSeries(name: "train", x: logged.map { x[$0] }, y: logged.map { 100 * trainAcc[$0] })] : [])
                          + sets.map { set, _, metric in
                              PlotSeries(name: set, x: evaluated(metric).map { x[$0] }, y: evaluated(metric).map { scale * metric[$0] }, markers: true)
                          }),
            ]
        }
        return LinePlot(title: title, panels: panels(x: step, label: "step") + panels(x: wall, label: "wall time (s)"))
    }
}
