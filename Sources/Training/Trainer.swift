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

    /// Sums of loss, correct predictions and examples since some point (a log window or an epoch).
    struct Running: Equatable {
        var loss = 0.0, correct = 0, examples = 0, seconds = 0.0
        mutating func add(loss l: Float, correct c: Int, examples n: Int) { loss += Double(l) * Double(n); correct += c; examples += n }
        var meanLoss: Double { examples > 0 ? loss / Double(examples) : .nan }
        var accuracy: Double { examples > 0 ? Double(correct) / Double(examples) : .nan }
        var encoded: String { "\(loss.bitPattern),\(correct),\(examples),\(seconds.bitPattern)" }
        init() {}
        init?(_ s: String?) {
            guard let parts = s?.split(separator: ","), parts.count == 4, let l = UInt64(parts[0]), let c = Int(parts[1]),
                  let e = Int(parts[2]), let t = UInt64(parts[3]) else { return nil }
            (loss, correct, examples, seconds) = (Double(bitPattern: l), c, e, Double(bitPattern: t))
        }
    }

    /// Trains from step 0 (or, with `resume`, from the run folder's checkpoint) to the end; with
    /// `stopAfterStep`, stops after that global step with a checkpoint (an interruption, for tests).
    /// `log` receives the configuration and messages; `progress` shows the progress line.
    public func run(resume: Bool = false, stopAfterStep: Int? = nil, log: (String) -> Void = { _ in },
                    progress: ProgressLine? = nil) throws -> TrainingSummary {
        let clock = ContinuousClock()
        let sessionStart = clock.now
        func seconds(since t: ContinuousClock.Instant) -> Double {
            let d = clock.now - t
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        try OutputFolder.create(configuration.outputDirectory)
        try AtomicFile.write(String(decoding: try JSONEncoder.sorted.encode(configuration), as: UTF8.self) + "\n", to: configPath)

        var startStep = 0, wallOffset = 0.0, window = Running(), epochRun = Running()
        var metricRows: [[String]] = [], epochRows: [[String]] = []
        if resume {
            let checkpoint = try Checkpoint.read(from: checkpointPath)
            let differences = configuration.resumeDifferences(from: checkpoint.file.metadata["configuration"] ?? "")
            guard differences.isEmpty else {
                throw CheckpointError.mismatch(path: checkpointPath, detail: "it was written with different settings ("
                                               + differences.prefix(8).joined(separator: "; ")
                                               + (differences.count > 8 ? "; … \(differences.count - 8) more" : "") + ")")
            }
            try checkpoint.restore(into: model, optimizer: optimizer, path: checkpointPath)
            startStep = checkpoint.step
            wallOffset = Double(checkpoint.file.metadata["wall_seconds"] ?? "") ?? 0
            window = Running(checkpoint.file.metadata["window"]) ?? Running()
            epochRun = Running(checkpoint.file.metadata["epoch_running"]) ?? Running()
            func kept(_ path: String) -> [[String]] {
                let rows = CSVWriter.parse((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").dropFirst()
                return rows.filter { ($0.first.flatMap(Int.init) ?? .max) <= startStep }
            }
            metricRows = kept(metricsPath)
            epochRows = kept(epochsPath).filter { Int($0[1]) ?? .max <= startStep }
            log("resuming from step \(startStep) of \(totalSteps) (\(checkpointPath))")
        }
        // Curvature optimisers (K-FAC, NGD) add their per-step time split and counters (last step of each row).
        let curvature = optimizer as? any CurvatureOptimizer<Float>
        let curvatureColumns = curvature?.stepMetrics.map(\.name) ?? []
        let extraColumns = ["forward_backward_seconds"] + curvatureColumns
        // The CSV's columns are fixed here; rows look metrics up by name, so a metric that is missing at some
        // step leaves its cell empty and one that appears later is reported once and left out (a positional
        // row would shift every later column).
        var reportedNewMetrics = Set<String>()
        func curvatureCells() -> [CSVValue] {
            guard let now = curvature?.stepMetrics else { return [] }
            var byName: [String: Double] = [:]
            for m in now where byName[m.name] == nil { byName[m.name] = m.value }
            for name in byName.keys where !curvatureColumns.contains(name) && reportedNewMetrics.insert(name).inserted {
                progress?.message("metric \(name) appeared after the metrics file was started; it is not recorded in metrics.csv")
            }
            return curvatureColumns.map { byName[$0].map { .number($0) } ?? .text("") }
        }
        let metrics = try CSVWriter(path: metricsPath, columns: Self.metricColumns + extraColumns)
        for r in metricRows { try metrics.append(r.map { .text($0) }) }
        let epochsCSV = try CSVWriter(path: epochsPath, columns: Self.epochColumns)
        for r in epochRows { try epochsCSV.append(r.map { .text($0) }) }

        func wall() -> Double { wallOffset + seconds(since: sessionStart) }
        var trainingSeconds = 0.0, trainedExamples = 0
        var lastTest = (loss: Double.nan, accuracy: Double.nan)
        if let last = epochRows.last { lastTest = (Double(last[5]) ?? .nan, Double(last[6]) ?? .nan) }

        func saveCheckpoint(after s: Int) throws {
            let meta = ["configuration": configuration.resumeFingerprint(),
                        "configuration_format": TrainingConfiguration.resumeFingerprintFormat, "wall_seconds": String(wall()),
                        "window": window.encoded, "epoch_running": epochRun.encoded]
            try Checkpoint(model: model, optimizer: optimizer, step: s, metadata: meta).write(to: checkpointPath)
        }

        var feeder = BatchFeeder(data: train, batches: batches)
        let bpe = batches.batchesPerEpoch
        var s = startStep
        while s < totalSteps {
            let epoch = feeder.epoch(ofStep: s)
            let stepStart = clock.now
            feeder.load(step: s)
            let examples = feeder.labels.count
            let result = step.run(feeder.images, labels: feeder.labels)
            let dt = seconds(since: stepStart)
            trainingSeconds += dt
            trainedExamples += examples
            if case let .skippedNonFinite(name) = result.outcome {
                progress?.message("step \(s + 1): non-finite gradient in \(name); step skipped (\(optimizer.skippedSteps) so far)")
            }
            for warning in step.lastWarnings {
                if let progress { progress.message("warning: " + warning) } else { log("warning: " + warning) }
            }
            if case let .failed(reason) = result.outcome { throw TrainingError.optimizerFailed(step: s + 1, reason: reason) }
            window.add(loss: result.loss, correct: result.correct, examples: examples)
            window.seconds += dt
            epochRun.add(loss: result.loss, correct: result.correct, examples: examples)
            s += 1
            let endOfEpoch = s % bpe == 0
            let evaluateNow = endOfEpoch || s == totalSteps || (configuration.evaluateEvery.map { s % $0 == 0 } ?? false)
            var test: (loss: Double, accuracy: Double)? = nil
            if evaluateNow {
                test = evaluate(model, images: self.test.images, labels: self.test.labels)
                lastTest = test!
            }
            if s % configuration.logEvery == 0 || evaluateNow {
                // The training columns average the last `logEvery` steps. An evaluation off that cadence (end of
                // an epoch, `evaluateEvery`) gets a row with the test columns only and leaves the window running:
                // averaging the few steps since the last row made the training curves spike there. The last
                // step always closes the window.
                let closesWindow = s % configuration.logEvery == 0 || s == totalSteps
                let rate = window.seconds > 0 ? Double(window.examples) / window.seconds : .nan
                func trainColumn(_ v: Double) -> CSVValue { closesWindow ? .number(v) : .text("") }
                try metrics.append([.integer(s), .integer(epoch + 1), .number(wall()), trainColumn(window.meanLoss), trainColumn(window.accuracy),
                                    .number(optimizer.schedule.rate(atStep: max(optimizer.step - 1, 0))), trainColumn(rate),
                                    test.map { .number($0.loss) } ?? .text(""), test.map { .number($0.accuracy) } ?? .text(""),
                                    .integer(optimizer.skippedSteps)]
                                   + [.number(step.lastForwardBackwardSeconds)] + curvatureCells())
                metricRows.append([String(s), String(epoch + 1), String(wall()),
                                   closesWindow ? String(window.meanLoss) : "", closesWindow ? String(window.accuracy) : "", "", "",
                                   test.map { String($0.loss) } ?? "", test.map { String($0.accuracy) } ?? "", ""])
                if closesWindow { window = Running() }
            }
            if endOfEpoch || s == totalSteps {
                let row = [String(epoch + 1), String(s), String(wall()), String(epochRun.meanLoss), String(epochRun.accuracy),
                           String(lastTest.loss), String(lastTest.accuracy)]
                try epochsCSV.append(row.map { .text($0) })
                epochRows.append(row)
                epochRun = Running()
                progress?.message(String(format: "epoch %d/%d  step %d  train loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  wall %.1fs",
                                         epoch + 1, configuration.epochs, s, Double(row[3]) ?? .nan, 100 * (Double(row[4]) ?? .nan),
                                         lastTest.loss, 100 * lastTest.accuracy, wall()))
            }
            if endOfEpoch || (configuration.checkpointEvery.map { s % $0 == 0 } ?? false) || s == totalSteps || s == stopAfterStep {
                try saveCheckpoint(after: s)
            }
            progress?.update(String(format: "epoch %d/%d  step %d/%d  loss %.4f  acc %.1f%%  %.0f ex/s  lr %.2e",
                                    epoch + 1, configuration.epochs, s, totalSteps, result.loss,
                                    100 * Double(result.correct) / Double(examples),
                                    Double(trainedExamples) / max(trainingSeconds, 1e-9), optimizer.currentLearningRate))
            if s == stopAfterStep { break }
        }
        progress?.finish()

        let table = Self.table(epochRows)
        try Self.plot(metricRows, title: "\(configuration.model.rawValue.uppercased()) · \(configuration.optimizer.rawValue) · Fashion-MNIST")
            .write(to: plotPath)
        let summary = TrainingSummary(
            steps: s, epochsCompleted: s / bpe, finalTestLoss: lastTest.loss, finalTestAccuracy: lastTest.accuracy,
            bestTestAccuracy: epochRows.compactMap { Double($0[6]) }.filter(\.isFinite).max() ?? .nan,
            wallSeconds: wall(), examplesPerSecond: Double(trainedExamples) / max(trainingSeconds, 1e-9),
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
