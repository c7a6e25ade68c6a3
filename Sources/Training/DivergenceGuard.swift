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
public final class DivergenceGuard: TrainingHook {
    public let threshold: Double
    public let patience: Int
    private var consecutive = 0
    private var firstDiverged = 0
    let learningRate: Double

    /// `classes` sets the reference loss `ln C`; `learningRate` is quoted in the message.
    public init(classes: Int, learningRate: Double, factor: Double = 1000, patience: Int = 3) {
        threshold = factor * log(Double(max(classes, 2)))
        self.patience = max(patience, 1)
        self.learningRate = learningRate
    }

    public func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        let loss = Double(event.result.loss)
        guard !loss.isFinite || loss > threshold else { consecutive = 0; return }
        if consecutive == 0 { firstDiverged = event.step }
        consecutive += 1
        if consecutive >= patience {
            throw TrainingError.diverged(step: event.step, since: firstDiverged, loss: loss, threshold: threshold,
                                         learningRate: learningRate)
        }
    }
}
