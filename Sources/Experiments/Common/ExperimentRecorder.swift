import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Training

/// The experiment runners' hook: after every step that has a `"test"` evaluation it appends an
/// `ExperimentRecord` (training window since the previous record, the evaluations, the optimiser's step
/// metrics, `skipped_steps`, the figures earlier hooks added to the event, the arm's probe); a step whose
/// optimiser failed gets a record marked `failed_at_step` and a message; every other step updates the
/// progress line.
final class ExperimentRecorder: TrainingHook {
    let arm: ExperimentArm
    let seed: UInt64
    let progress: ProgressLine?
    let start = ContinuousClock.now
    private var window = RunningMeans()
    private(set) var records: [ExperimentRecord] = []

    init(arm: ExperimentArm, seed: UInt64, progress: ProgressLine?) {
        self.arm = arm
        self.seed = seed
        self.progress = progress
    }

    var wallSeconds: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        window.add(event)
        // An optimiser that cannot produce a trustworthy step (e.g. TK-FAC whose plainly rounded factors are
        // indefinite at every refresh) ends this run here (the loop stops after a failed step): the arm keeps a
        // final record marked `failed_at_step`, the reason is printed, and the other arms and seeds go on.
        // Continuing would report a run whose weights stopped changing as if it had trained.
        if let reason = event.failure ?? event.stopReason {
            progress?.message("\(arm.name) seed \(seed): stopped at step \(event.step): \(reason)")
        }
        if let test = event.evaluations["test"] {
            var metrics: [String: Double] = [:]
            if let curvature = loop.optimizer as? any CurvatureOptimizer<Float> {
                for (k, v) in curvature.stepMetrics { metrics[k] = v }
            }
            metrics["skipped_steps"] = Double(loop.optimizer.skippedSteps)
            for (k, v) in event.metrics { metrics[k] = v }
            if let probe = arm.probe { for (k, v) in probe(loop.optimizer, loop.model) { metrics[k] = v } }
            if event.failure != nil { metrics[ExperimentRecord.failedAtStepKey] = Double(event.step) }
            records.append(ExperimentRecord(
                arm: arm.name, seed: seed, step: event.step, wallSeconds: wallSeconds,
                trainLoss: window.meanLoss, trainAccuracy: window.accuracy,
                testLoss: test.loss, testAccuracy: test.accuracy, metrics: metrics))
            window = RunningMeans()
        }
        if event.failure == nil && event.stopReason == nil {
            progress?.update(String(format: "%@ seed %llu  step %d/%d  loss %.4f  %.1f s", arm.name, seed, event.step,
                                    event.totalSteps, event.result.loss, wallSeconds))
        }
    }
}

extension ExperimentRunner {
    /// One run of `arm` with `seed` on `model` (already initialised for the seed): seeded `MiniBatches` of
    /// `batchSize`, `steps` steps (nil: the arm's epochs), a `TrainingLoop` evaluating `evaluations` (the
    /// first must be `"test"`) every `evaluateEvery` steps, after the last step and after a failed step;
    /// `hooks` run between the evaluation and the `ExperimentRecorder` (they may add figures to the event).
    static func records(arm: ExperimentArm, seed: UInt64, model: Sequential<Float>, train: LabeledImages, batchSize: Int,
                        steps: Int?, evaluateEvery: Int, evaluations: [(name: String, data: LabeledImages)],
                        hooks: [any TrainingHook] = [], progress: ProgressLine?) throws(ExperimentError) -> [ExperimentRecord] {
        try records(arm: arm, seed: seed, model: model, task: SoftmaxClassification<ImageBatch>(), train: train, batchSize: batchSize,
                    steps: steps, evaluateEvery: evaluateEvery, evaluations: evaluations, hooks: hooks, progress: progress)
    }

    /// As above for any task and data source (token sequences: `TokenizedTexts` with `SoftmaxClassification<TokenBatch>`).
    static func records<Task: TrainingTask, Source: DataSource>(
        arm: ExperimentArm, seed: UInt64, model: Sequential<Float>, task: Task, train: Source, batchSize: Int,
        steps: Int?, evaluateEvery: Int, evaluations: [(name: String, data: Source)],
        hooks: [any TrainingHook] = [], progress: ProgressLine?) throws(ExperimentError) -> [ExperimentRecord] where Source.Batch == Task.Batch {
        let batches = MiniBatches(count: train.count, batchSize: min(batchSize, train.count), seed: seed)
        let total = steps ?? arm.training.epochs * batches.batchesPerEpoch
        let optimizer: any Optimizer<Float>
        do { optimizer = try arm.makeOptimizer(model, total, seed) } catch {
            throw .optimizer(arm: arm.name, detail: "\(error)")
        }
        // A diverged run ends at that step, marked `diverged_at_step`; the other arms and seeds go on.
        let divergence = DivergenceGuard(classes: model.outputFeatures, learningRate: arm.training.learningRate, action: .stopRun)
        let evaluation = EvaluationHook(task: task, evaluations) { e in
            e.step % evaluateEvery == 0 || e.isLast || e.failure != nil || e.stopRequested
        }
        let recorder = ExperimentRecorder(arm: arm, seed: seed, progress: progress)
        let loop = TrainingLoop(step: TrainingStep(model: model, optimizer: optimizer), task: task, data: train, batches: batches,
                                totalSteps: total, hooks: [divergence, evaluation] + hooks + [recorder])
        do { try loop.run() } catch { throw .training(arm: arm.name, seed: seed, detail: "\(error)") }
        progress?.finish()
        return recorder.records
    }
}
