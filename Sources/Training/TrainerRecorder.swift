import Communication
import Foundation
import Optimizers
import Reporting

/// The `Trainer`'s hook: reports skipped steps and warnings, stops on a failed step, keeps the log window
/// and epoch means, writes `metrics.csv` / `epochs.csv` rows, checkpoints and the progress line. Built
/// before the loop starts; with `resume` it restores the model, optimiser, windows and rows from the run
/// folder's checkpoint first.
///
/// On several ranks every rank keeps the same bookkeeping and builds every checkpoint (a solver may gather
/// its state from the other ranks then), but only rank 0 (`writes`) writes files; the metrics gain the
/// columns `communication_bytes` and `communication_seconds` (docs/multi-process.md#communication-volume).
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
    /// The latest evaluation of every evaluated set.
    var lastEvaluations: [String: Evaluation] = [:]
    let metrics: CSVWriter?, epochsCSV: CSVWriter?
    /// Whether this rank writes the run folder (rank 0).
    let writes: Bool
    /// This rank's collective traffic over the session's steps.
    var traffic = CommunicationTraffic()
    /// Curvature optimisers (K-FAC, NGD) add their per-step time split and counters (last step of each row).
    let curvature: (any CurvatureOptimizer<Float>)?
    let curvatureColumns: [String]
    var reportedNewMetrics = Set<String>()

    var configuration: TrainingConfiguration { trainer.configuration }

    /// `Trainer.dataFingerprint` of the run's examples, stored in every checkpoint and checked on resume.
    let dataFingerprint: String

    init(trainer: Trainer, resume: Bool, stopAfterStep: Int?, log: @escaping (String) -> Void, progress: ProgressLine?,
         sessionStart: ContinuousClock.Instant, dataFingerprint: String) throws {
        self.trainer = trainer
        self.dataFingerprint = dataFingerprint
        self.stopAfterStep = stopAfterStep
        self.progress = progress
        self.log = log
        self.sessionStart = sessionStart
        let ranks = trainer.communicator.size
        writes = trainer.communicator.isRoot
        if resume {
            let path = trainer.checkpointPath
            let checkpoint = try Checkpoint.read(from: path)
            // The summation order depends on the rank count, and a resume continues bit for bit.
            let stored = Int(checkpoint.file.metadata["ranks"] ?? "1") ?? 1
            guard stored == ranks else {
                throw CheckpointError.mismatch(path: path, detail: "it was written by a run on \(stored) rank\(stored == 1 ? "" : "s"), this run has \(ranks); "
                                               + (stored == 1 ? "resume it without mpirun" : "resume it with mpirun -np \(stored) … --distributed"))
            }
            let differences = trainer.configuration.resumeDifferences(from: checkpoint.file.metadata["configuration"] ?? "")
            guard differences.isEmpty else {
                throw CheckpointError.mismatch(path: path, detail: "it was written with different settings ("
                                               + differences.prefix(8).joined(separator: "; ")
                                               + (differences.count > 8 ? "; … \(differences.count - 8) more" : "") + ")")
            }
            if let stored = checkpoint.file.metadata["data"], stored != dataFingerprint {
                throw CheckpointError.mismatch(path: path, detail: "it was trained on other data (\(stored)); --data-dir "
                                               + "\(trainer.configuration.dataDirectory) gives \(dataFingerprint). Resume with the same --data-dir")
            }
            guard checkpoint.step <= trainer.totalSteps else {
                let perEpoch = trainer.batches.batchesPerEpoch
                throw TrainingError.invalidConfiguration(
                    "the run in \(trainer.configuration.outputDirectory) has already trained \(checkpoint.step) steps "
                    + "(\(checkpoint.step / perEpoch) epochs); --epochs \(trainer.configuration.epochs) is only \(trainer.totalSteps) steps. "
                    + "Resuming never shortens a run: raise --epochs to train longer")
            }
            try checkpoint.restore(into: trainer.model, optimizer: trainer.optimizer, path: path)
            startStep = checkpoint.step
            wallOffset = Double(checkpoint.file.metadata["wall_seconds"] ?? "") ?? 0
            window = RunningMeans(checkpoint.file.metadata["window"]) ?? RunningMeans()
            epochRun = RunningMeans(checkpoint.file.metadata["epoch_running"]) ?? RunningMeans()
            let start = startStep
            // Rows up to the checkpoint's step; a line cut short by a power loss mid-append is dropped.
            func kept(_ path: String) -> [[String]] {
                let table = CSVWriter.readAppended((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
                if table.droppedLines > 0 {
                    log("\(path): left out \(table.droppedLines) incomplete line(s) (an interrupted write); they are rewritten from the checkpoint")
                }
                return table.rows.filter { ($0.first.flatMap(Int.init) ?? .max) <= start }
            }
            metricRows = kept(trainer.metricsPath)
            epochRows = kept(trainer.epochsPath).filter { Int($0[1]) ?? .max <= start }
            log("resuming from step \(startStep) of \(trainer.totalSteps) (\(path))")
        }
        curvature = trainer.optimizer as? any CurvatureOptimizer<Float>
        curvatureColumns = curvature?.stepMetrics.map(\.name) ?? []
        if writes {
            let communication = ranks > 1 ? ["communication_bytes", "communication_seconds"] : []
            let m = try CSVWriter(path: trainer.metricsPath,
                                  columns: trainer.metricColumns + ["forward_backward_seconds"] + communication + curvatureColumns)
            for r in metricRows { try m.append(r.map { .text($0) }) }
            let e = try CSVWriter(path: trainer.epochsPath, columns: trainer.epochColumns)
            for r in epochRows { try e.append(r.map { .text($0) }) }
            (metrics, epochsCSV) = (m, e)
        } else {
            (metrics, epochsCSV) = (nil, nil)
        }
        if let last = epochRows.last { lastEvaluations = trainer.evaluations(in: last) }
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
        var meta = ["configuration": configuration.resumeFingerprint(),
                    "configuration_format": TrainingConfiguration.resumeFingerprintFormat, "wall_seconds": String(wall()),
                    "window": window.encoded, "epoch_running": epochRun.encoded, "data": dataFingerprint]
        if trainer.communicator.size > 1 { meta["ranks"] = String(trainer.communicator.size) }
        // Built on every rank (the optimiser's state may be gathered from all ranks), written by rank 0.
        let checkpoint = Checkpoint(model: trainer.model, optimizer: trainer.optimizer, step: s, metadata: meta)
        if writes { try checkpoint.write(to: trainer.checkpointPath) }
    }

    /// The evaluation columns (`Trainer.evaluationColumns`) of `evaluations`: nil for a set not evaluated.
    func evaluationValues(_ evaluations: [String: Evaluation]) -> [Double?] {
        trainer.data.evaluationNames.flatMap { set in
            [evaluations[set]?.loss] + trainer.data.metricNames.map { m in evaluations[set].map { $0.metrics[m] ?? .nan } }
        }
    }

    func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        let optimizer = trainer.optimizer
        let s = event.step, epoch = event.epoch, dt = event.loadSeconds + event.stepSeconds
        trainingSeconds += dt
        trainedExamples += event.examples
        traffic.bytes += event.communication.bytes
        traffic.seconds += event.communication.seconds
        traffic.calls += event.communication.calls
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
        let evaluated = !event.evaluations.isEmpty
        for (set, e) in event.evaluations { lastEvaluations[set] = e }
        if s % configuration.logEvery == 0 || evaluated {
            // The training columns average the last `logEvery` steps. An evaluation off that cadence (end of
            // an epoch, `evaluateEvery`) gets a row with the test columns only and leaves the window running:
            // averaging the few steps since the last row made the training curves spike there. The last
            // step always closes the window.
            let closesWindow = s % configuration.logEvery == 0 || event.isLast
            let rate = window.seconds > 0 ? Double(window.examples) / window.seconds : .nan
            func trainColumn(_ v: Double) -> CSVValue { closesWindow ? .number(v) : .text("") }
            let communication: [CSVValue] = trainer.communicator.size > 1
                ? [.integer(event.communication.bytes), .number(event.communication.seconds)] : []
            let evaluationCells = evaluationValues(event.evaluations)
            try metrics?.append([.integer(s), .integer(epoch + 1), .number(wall()), trainColumn(window.meanLoss), trainColumn(window.accuracy),
                                 .number(optimizer.schedule.rate(atStep: max(optimizer.step - 1, 0))), trainColumn(rate)]
                                + evaluationCells.map { $0.map { .number($0) } ?? .text("") }
                                + [.integer(optimizer.skippedSteps)]
                                + [.number(loop.step.lastForwardBackwardSeconds)] + communication + curvatureCells())
            metricRows.append([String(s), String(epoch + 1), String(wall()),
                               closesWindow ? String(window.meanLoss) : "", closesWindow ? String(window.accuracy) : "", "", ""]
                              + evaluationCells.map { $0.map { String($0) } ?? "" } + [""])
            if closesWindow { window = RunningMeans() }
        }
        if event.endsEpoch || event.isLast {
            let row = [String(epoch + 1), String(s), String(wall()), String(epochRun.meanLoss), String(epochRun.accuracy)]
                + evaluationValues(lastEvaluations).map { String($0 ?? .nan) }
            try epochsCSV?.append(row.map { .text($0) })
            epochRows.append(row)
            epochRun = RunningMeans()
            progress?.message(String(format: "epoch %d/%d  step %d  train loss %.4f  train acc %.2f%%  ", epoch + 1, configuration.epochs, s,
                                     Double(row[3]) ?? .nan, 100 * (Double(row[4]) ?? .nan))
                              + trainer.describe(lastEvaluations) + String(format: "  wall %.1fs", wall()))
        }
        if event.endsEpoch || (configuration.checkpointEvery.map { s % $0 == 0 } ?? false) || event.isLast || s == stopAfterStep {
            try saveCheckpoint(after: s)
        }
        progress?.update(String(format: "epoch %d/%d  step %d/%d  loss %.4f  acc %.1f%%  %.0f ex/s  lr %.2e",
                                epoch + 1, configuration.epochs, s, event.totalSteps, event.result.loss,
                                100 * Double(event.result.correct ?? 0) / Double(event.examples),
                                Double(trainedExamples) / max(trainingSeconds, 1e-9), optimizer.currentLearningRate))
    }
}
