import Communication
import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers

/// One step of a `TrainingLoop`, as its hooks see it (in order; a hook may add evaluations or ask to stop).
public struct StepEvent {
    /// Steps completed, this one included (the 1-based number of this step).
    public let step: Int
    /// Steps of the whole run.
    public let totalSteps: Int
    /// 0-based epoch of this step.
    public let epoch: Int
    /// Whether this step is the last of its epoch.
    public let endsEpoch: Bool
    /// Examples in this step's batch (the global batch: all ranks' parts).
    public let examples: Int
    /// Loss, training metrics and optimiser outcome of the step (before its update).
    public let result: TrainingStep.Result
    /// Warnings the optimiser raised in this step.
    public let warnings: [String]
    /// Seconds spent gathering the batch and running the step (forward, backward, update).
    public let loadSeconds: Double
    public let stepSeconds: Double
    /// Evaluations made after this step, by data-set role (`"test"`), added by an `EvaluationHook`.
    public var evaluations: [String: Evaluation] = [:]
    /// Figures hooks measured at this step, by name (device seconds, …), for the hooks that record.
    public var metrics: [String: Double] = [:]
    /// Set by a hook to end the run after this step (the hooks after it still see the step).
    public var stopRequested = false
    /// Why a hook ended the run (a divergence in an experiment, …), for the hooks after it to report.
    public var stopReason: String?
    /// This rank's collective traffic during the step (zero in one process).
    public var communication = CommunicationTraffic()

    /// Whether this is the run's last step.
    public var isLast: Bool { step == totalSteps }
    /// Why the optimiser could not step (`UpdateOutcome.failed`); the loop stops after such a step.
    public var failure: String? {
        if case let .failed(reason) = result.outcome { return reason }
        return nil
    }
}

/// Something that happens after training steps: evaluation, metrics rows, checkpoints, progress lines.
/// Hooks run in the order the loop lists them, each seeing what the earlier ones added to the event.
public protocol TrainingHook: AnyObject {
    /// Called after every step; throwing ends the run with that error.
    func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws
    /// Called once when the loop ends without an error (`steps`: the last completed step).
    func didFinish(loop: TrainingLoop, steps: Int) throws
}

extension TrainingHook {
    public func didFinish(loop: TrainingLoop, steps: Int) throws {}
}

/// The one training loop: for every global step, gather its seeded mini-batch from the data source
/// (`BatchFeeder`), run the `TrainingStep` for the task (forward, loss, backward, curvature, update), then
/// the hooks. `Trainer` and every experiment runner are this loop with different hooks, so a step, its
/// data order and its evaluation are the same everywhere. The loop stops after the last step, after a step
/// whose optimiser failed (`UpdateOutcome.failed`: it updated nothing), or when a hook asks it to.
public final class TrainingLoop {
    public let step: TrainingStep
    public let batches: MiniBatches
    /// Steps of the whole run (global step numbers `0..<totalSteps`).
    public let totalSteps: Int
    public var hooks: [any TrainingHook]
    /// Gathers step `s`'s batch and runs the step on it: (examples, result, load seconds, step seconds).
    private let advance: (Int) -> (examples: Int, result: TrainingStep.Result, load: Double, step: Double, traffic: CommunicationTraffic)

    public var model: Sequential<Float> { step.model }
    public var optimizer: any Optimizer<Float> { step.optimizer }

    /// A loop training `task` on `data` in `batches`' seeded order for `totalSteps` steps.
    public init<Task: TrainingTask, Source: DataSource>(step: TrainingStep, task: Task, data: Source, batches: MiniBatches,
                                                        totalSteps: Int, hooks: [any TrainingHook] = [])
        where Source.Batch == Task.Batch {
        self.step = step
        self.batches = batches
        self.totalSteps = totalSteps
        self.hooks = hooks
        var feeder = BatchFeeder(data: data, batches: batches)
        let communicator = step.communicator
        advance = { s in
            let clock = ContinuousClock()
            let t0 = clock.now
            // On several ranks each gathers its part of the global batch (docs/multi-process.md#data-parallel-steps).
            let parts = communicator.size
            feeder.load(step: s, part: communicator.rank, of: parts)
            let t1 = clock.now
            let before = communicator.traffic
            let result = step.run(feeder.batch, task: task, part: parts > 1 ? (feeder.partOffset, feeder.globalCount) : nil)
            return (feeder.globalCount, result, (t1 - t0).seconds, (clock.now - t1).seconds, communicator.traffic.since(before))
        }
    }

    /// Image classification (`SoftmaxClassification`) on `data`.
    public convenience init(step: TrainingStep, data: LabeledImages, batches: MiniBatches, totalSteps: Int,
                            hooks: [any TrainingHook] = []) {
        self.init(step: step, task: step.imageClassification, data: data, batches: batches, totalSteps: totalSteps, hooks: hooks)
    }

    /// Runs global steps `start, start + 1, …` up to `end` (default: `totalSteps`) and returns the number of
    /// steps completed (the last step's 1-based number; `start` when nothing ran).
    @discardableResult
    public func run(from start: Int = 0, until end: Int? = nil) throws -> Int {
        let last = min(end ?? totalSteps, totalSteps)
        var s = start
        while s < last {
            let (examples, result, load, seconds, traffic) = advance(s)
            s += 1
            var event = StepEvent(step: s, totalSteps: totalSteps, epoch: (s - 1) / batches.batchesPerEpoch,
                                  endsEpoch: s % batches.batchesPerEpoch == 0, examples: examples,
                                  result: result, warnings: step.lastWarnings, loadSeconds: load, stepSeconds: seconds)
            event.communication = traffic
            for hook in hooks { try hook.afterStep(&event, loop: self) }
            if event.stopRequested || event.failure != nil { break }
        }
        for hook in hooks { try hook.didFinish(loop: self, steps: s) }
        return s
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
