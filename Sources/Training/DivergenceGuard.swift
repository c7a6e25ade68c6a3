import Foundation

/// Stops a run whose training loss has diverged, so that it ends with an error (and a non-zero exit in the
/// CLI) instead of finishing with NaN or astronomically large metrics.
///
/// Rule (docs/training.md): a step is *diverged* when its mean training loss is not finite or exceeds
/// `factor · ln C` (C classes: `ln C` is the cross-entropy of a uniform prediction, where every run starts;
/// the default factor 1000 puts the bar at 2303 for 10 classes, beyond any loss a learning run reaches).
/// After `patience` consecutive diverged steps the run stops with `TrainingError.diverged` before the
/// step is recorded or checkpointed, so the last checkpoint holds the last weights that were still finite
/// (a step skipped for non-finite gradients counts when its loss is non-finite too).
///
/// In an experiment (`action: .stopRun`) a diverged arm must not take the other arms and seeds down: the
/// guard ends that run instead (`StepEvent.stopRequested`, with `stopReason`) and marks the step with the
/// metric `diverged_at_step`, which the experiment's records and table carry.
public final class DivergenceGuard: TrainingHook {
    /// What the guard does when a run has diverged.
    public enum Action: Sendable { case throwError, stopRun }

    /// Metric set on the step at which an `.stopRun` guard ended the run: that step's number.
    public static let divergedAtStepKey = "diverged_at_step"

    public let threshold: Double
    public let patience: Int
    public let action: Action
    private var consecutive = 0
    private var firstDiverged = 0
    let learningRate: Double

    /// `classes` sets the reference loss `ln C`; `learningRate` is quoted in the message.
    public init(classes: Int, learningRate: Double, factor: Double = 1000, patience: Int = 3, action: Action = .throwError) {
        threshold = factor * log(Double(max(classes, 2)))
        self.patience = max(patience, 1)
        self.learningRate = learningRate
        self.action = action
    }

    public func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        let loss = Double(event.result.loss)
        guard !loss.isFinite || loss > threshold else { consecutive = 0; return }
        if consecutive == 0 { firstDiverged = event.step }
        consecutive += 1
        guard consecutive >= patience else { return }
        switch action {
        case .throwError:
            throw TrainingError.diverged(step: event.step, since: firstDiverged, loss: loss, threshold: threshold,
                                         learningRate: learningRate)
        case .stopRun:
            event.stopRequested = true
            event.metrics[Self.divergedAtStepKey] = Double(event.step)
            event.stopReason = String(format: "diverged: the loss was %.3g at step %d (non-finite or above %.0f since step %d); "
                                      + "its figures are those at this step; use a smaller learning rate (now %g)",
                                      loss, event.step, threshold, firstDiverged, learningRate)
        }
    }
}
