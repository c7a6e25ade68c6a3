import Curvature
import Datasets
import Linalg
import NeuralNet
import Optimizers

/// One optimisation step on one mini-batch: forward (training mode), the task's loss, zeroed gradients,
/// backward (parameter gradients only, accumulated), optimiser update of the trainable parameters. Shared
/// by the training loop and the `bench train-step`
/// benchmark so that both time exactly the same work.
public final class TrainingStep {
    public let model: Sequential<Float>
    public let optimizer: any Optimizer<Float>
    /// The task of `run(_:labels:)`: image classification with softmax cross-entropy.
    public let imageClassification = SoftmaxClassification<ImageBatch>()

    public init(model: Sequential<Float>, optimizer: any Optimizer<Float>) {
        self.model = model
        self.optimizer = optimizer
    }

    public struct Result: Sendable, Equatable {
        /// Mean loss over the batch (before the update).
        public let loss: Float
        /// Correctly predicted examples (before the update); nil for a task without accuracy.
        public let correct: Int?
        public let outcome: UpdateOutcome
    }

    /// Seconds of the last step's forward, loss and backward passes (the rest is the optimiser's).
    public private(set) var lastForwardBackwardSeconds = 0.0
    /// Warnings the optimiser raised during the last step (a degraded step: a layer left unpreconditioned, …).
    public private(set) var lastWarnings: [String] = []

    /// Runs the step on `batch` for `task`. A `CurvatureOptimizer` (K-FAC, NGD, TNGD) sees the batch's
    /// curvature (`task.curvatureBatch`) between the backward pass and its update.
    @discardableResult
    public func run<Task: TrainingTask>(_ batch: Task.Batch, task: Task) -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let outputs = model.forward(batch.input, context: ForwardContext(batch, isTraining: true))
        let value = task.loss(outputs, batch: batch)
        let correct = task.correctCount(batch: batch)
        model.zeroGradients()
        model.backward(task.outputGradient(batch: batch))
        let d = clock.now - start
        lastForwardBackwardSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        let curvature = optimizer as? any CurvatureOptimizer<Float>
        curvature?.observeCurvature(task.curvatureBatch(model: model, batch: batch, lossValue: value))
        let outcome = optimizer.update(model.trainableParameters)
        lastWarnings = curvature?.takeWarnings() ?? []
        return Result(loss: value, correct: correct, outcome: outcome)
    }

    /// Runs the step on images `batch` (`b × features`) with class `labels` (softmax cross-entropy).
    @discardableResult
    public func run(_ batch: Matrix<Float>, labels: [Int]) -> Result {
        run(ImageBatch(images: batch, labels: labels), task: imageClassification)
    }
}
