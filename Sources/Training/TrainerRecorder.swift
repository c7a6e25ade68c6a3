import Foundation
import Optimizers
import Reporting

/// The `Trainer`'s hook: reports skipped steps and warnings, stops on a failed step, keeps the log window
/// and epoch means, writes `metrics.csv` / `epochs.csv` rows, checkpoints and the progress line. Built
/// before the loop starts; with `resume` it restores the model, optimiser, windows and rows from the run
/// folder's checkpoint first.
final class TrainerRecorder: TrainingHook {
    let trainer: Trainer
    let stopAfterStep: Int?
    let progress: ProgressLine?
    let log: (String) -> Void
    let sessionStart: ContinuousClock.Instant
    private(set) var startStep = 0
    var wallOffset = 0.0
    var window = RunningMeans(), epochRun = RunningMeans()
    var metricRows: [[String]] = [], epochRows: [[String]] = []
    var trainingSeconds = 0.0, trainedExamples = 0
    var lastTest = Evaluation(loss: .nan, accuracy: .nan)
    let metrics: CSVWriter, epochsCSV: CSVWriter
    /// Curvature optimisers (K-FAC, NGD) add their per-step time split and counters (last step of each row).
    let curvature: (any CurvatureOptimizer<Float>)?
    let curvatureColumns: [String]
    var reportedNewMetrics = Set<String>()

    var configuration: TrainingConfiguration { trainer.configuration }

    init(trainer: Trainer, resume: Bool, stopAfterStep: Int?, log: @escaping (String) -> Void, progress: ProgressLine?,
         sessionStart: ContinuousClock.Instant) throws {
        self.trainer = trainer
        self.stopAfterStep = stopAfterStep
        self.progress = progress
        self.log = log
        self.sessionStart = sessionStart
        if resume {
            let path = trainer.checkpointPath
            let checkpoint = try Checkpoint.read(from: path)
            let differences = trainer.configuration.resumeDifferences(from: checkpoint.file.metadata["configuration"] ?? "")
            guard differences.isEmpty else {
                throw CheckpointError.mismatch(path: path, detail: "it was written with different settings ("
                                               + differences.prefix(8).joined(separator: "; ")
                                               + (differences.count > 8 ? "; … \(differences.count - 8) more" : "") + ")")
            }
            try checkpoint.restore(into: trainer.model, optimizer: trainer.optimizer, path: path)
            startStep = checkpoint.step
            wallOffset = Double(checkpoint.file.metadata["wall_seconds"] ?? "") ?? 0
            window = RunningMeans(checkpoint.file.metadata["window"]) ?? RunningMeans()
            epochRun = RunningMeans(checkpoint.file.metadata["epoch_running"]) ?? RunningMeans()
            let start = startStep
            func kept(_ path: String) -> [[String]] {
                let rows = CSVWriter.parse((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").dropFirst()
                return rows.filter { ($0.first.flatMap(Int.init) ?? .max) <= start }
            }
            metricRows = kept(trainer.metricsPath)
            epochRows = kept(trainer.epochsPath).filter { Int($0[1]) ?? .max <= start }
            log("resuming from step \(startStep) of \(trainer.totalSteps) (\(path))")
        }
        curvature = trainer.optimizer as? any CurvatureOptimizer<Float>
        curvatureColumns = curvature?.stepMetrics.map(\.name) ?? []
        metrics = try CSVWriter(path: trainer.metricsPath,
                                columns: Trainer.metricColumns + ["forward_backward_seconds"] + curvatureColumns)
        for r in metricRows { try metrics.append(r.map { .text($0) }) }
        epochsCSV = try CSVWriter(path: trainer.epochsPath, columns: Trainer.epochColumns)
        for r in epochRows { try epochsCSV.append(r.map { .text($0) }) }
        if let last = epochRows.last { lastTest = Evaluation(loss: Double(last[5]) ?? .nan, accuracy: Double(last[6]) ?? .nan) }
    }

    /// Wall-clock seconds of the run, earlier sessions included.
    func wall() -> Double { wallOffset + (ContinuousClock.now - sessionStart).seconds }

    /// The CSV's columns are fixed when the file is started; rows look metrics up by name, so a metric that
    /// is missing at some step leaves its cell empty and one that appears later is reported once and left out
    /// (a positional row would shift every later column).
    func curvatureCells() -> [CSVValue] {
        guard let now = curvature?.stepMetrics else { return [] }
        var byName: [String: Double] = [:]
        for m in now where byName[m.name] == nil { byName[m.name] = m.value }
        for name in byName.keys where !curvatureColumns.contains(name) && reportedNewMetrics.insert(name).inserted {
            progress?.message("metric \(name) appeared after the metrics file was started; it is not recorded in metrics.csv")
        }
        return curvatureColumns.map { byName[$0].map { .number($0) } ?? .text("") }
    }

    func saveCheckpoint(after s: Int) throws {
        let meta = ["configuration": configuration.resumeFingerprint(),
                    "configuration_format": TrainingConfiguration.resumeFingerprintFormat, "wall_seconds": String(wall()),
                    "window": window.encoded, "epoch_running": epochRun.encoded]
        try Checkpoint(model: trainer.model, optimizer: trainer.optimizer, step: s, metadata: meta).write(to: trainer.checkpointPath)
    }

    func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        let optimizer = trainer.optimizer
        let s = event.step, epoch = event.epoch, dt = event.loadSeconds + event.stepSeconds
        trainingSeconds += dt
        trainedExamples += event.examples
        if case let .skippedNonFinite(name) = event.result.outcome {
            progress?.message("step \(s): non-finite gradient in \(name); step skipped (\(optimizer.skippedSteps) so far)")
        }
        for warning in event.warnings {
            if let progress { progress.message("warning: " + warning) } else { log("warning: " + warning) }
        }
        if let reason = event.failure { throw TrainingError.optimizerFailed(step: s, reason: reason) }
        window.add(event)
        window.seconds += dt
        epochRun.add(event)
        let test = event.evaluations["test"]
        if let test { lastTest = test }
        if s % configuration.logEvery == 0 || test != nil {
            // The training columns average the last `logEvery` steps. An evaluation off that cadence (end of
            // an epoch, `evaluateEvery`) gets a row with the test columns only and leaves the window running:
            // averaging the few steps since the last row made the training curves spike there. The last
            // step always closes the window.
            let closesWindow = s % configuration.logEvery == 0 || event.isLast
            let rate = window.seconds > 0 ? Double(window.examples) / window.seconds : .nan
            func trainColumn(_ v: Double) -> CSVValue { closesWindow ? .number(v) : .text("") }
            try metrics.append([.integer(s), .integer(epoch + 1), .number(wall()), trainColumn(window.meanLoss), trainColumn(window.accuracy),
                                .number(optimizer.schedule.rate(atStep: max(optimizer.step - 1, 0))), trainColumn(rate),
                                test.map { .number($0.loss) } ?? .text(""), test.map { .number($0.accuracy) } ?? .text(""),
                                .integer(optimizer.skippedSteps)]
                               + [.number(loop.step.lastForwardBackwardSeconds)] + curvatureCells())
            metricRows.append([String(s), String(epoch + 1), String(wall()),
                               closesWindow ? String(window.meanLoss) : "", closesWindow ? String(window.accuracy) : "", "", "",
                               test.map { String($0.loss) } ?? "", test.map { String($0.accuracy) } ?? "", ""])
            if closesWindow { window = RunningMeans() }
        }
        if event.endsEpoch || event.isLast {
            let row = [String(epoch + 1), String(s), String(wall()), String(epochRun.meanLoss), String(epochRun.accuracy),
                       String(lastTest.loss), String(lastTest.accuracy)]
            try epochsCSV.append(row.map { .text($0) })
            epochRows.append(row)
            epochRun = RunningMeans()
            progress?.message(String(format: "epoch %d/%d  step %d  train loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  wall %.1fs",
                                     epoch + 1, configuration.epochs, s, Double(row[3]) ?? .nan, 100 * (Double(row[4]) ?? .nan),
                                     lastTest.loss, 100 * lastTest.accuracy, wall()))
        }
        if event.endsEpoch || (configuration.checkpointEvery.map { s % $0 == 0 } ?? false) || event.isLast || s == stopAfterStep {
            try saveCheckpoint(after: s)
        }
        progress?.update(String(format: "epoch %d/%d  step %d/%d  loss %.4f  acc %.1f%%  %.0f ex/s  lr %.2e",
                                epoch + 1, configuration.epochs, s, event.totalSteps, event.result.loss,
                                100 * Double(event.result.correct) / Double(event.examples),
                                Double(trainedExamples) / max(trainingSeconds, 1e-9), optimizer.currentLearningRate))
    }
}
