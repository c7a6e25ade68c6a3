import Communication
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
    /// The ranks of a data-parallel run (docs/multi-process.md#data-parallel-steps); one process by default.
    public let communicator: any Communicator
    /// The task of `run(_:labels:)`: image classification with softmax cross-entropy.
    public let imageClassification = SoftmaxClassification<ImageBatch>()

    public init(model: Sequential<Float>, optimizer: any Optimizer<Float>, communicator: any Communicator = SingleProcessCommunicator()) {
        self.model = model
        self.optimizer = optimizer
        self.communicator = communicator
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
    ///
    /// With `part` on several ranks, `batch` is this rank's rows `offset ..< offset + batch.count` of a
    /// global batch of `globalCount`: the gradients, loss and correct count are summed over the ranks
    /// (weighted by `b_r / b`) before the update, and the curvature batch carries the shard. The result is
    /// then the global batch's; a failed reduction fails the step (`UpdateOutcome.failed`, nothing updated).
    @discardableResult
    public func run<Task: TrainingTask>(_ batch: Task.Batch, task: Task, part: (offset: Int, globalCount: Int)? = nil) -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let outputs = model.forward(batch.input, context: ForwardContext(batch, isTraining: true))
        let value = task.loss(outputs, batch: batch)
        let correct = task.correctCount(batch: batch)
        model.zeroGradients()
        model.backward(task.outputGradient(batch: batch))
        let d = clock.now - start
        lastForwardBackwardSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        var (loss, right, shard): (Float, Int?, CurvatureShard?) = (value, correct, nil)
        if let part, communicator.size > 1 {
            let s = CurvatureShard(communicator: communicator, offset: part.offset, count: batch.count, globalCount: part.globalCount)
            do {
                try DataParallel.sumGradients(model.trainableParameters, weight: Float(s.weight), communicator: communicator)
                var sums = [Double(value) * s.weight, Double(correct ?? 0)]
                try communicator.allReduce(&sums)
                (loss, right, shard) = (Float(sums[0]), correct.map { _ in Int(sums[1].rounded()) }, s)
            } catch {
                lastWarnings = []
                return Result(loss: value, correct: correct, outcome: .failed(
                    reason: "rank \(communicator.rank) of \(communicator.size): summing the gradients over the ranks failed: \(error)"))
            }
        }
        let curvature = optimizer as? any CurvatureOptimizer<Float>
        if let curvature {
            let local = task.curvatureBatch(model: model, batch: batch, lossValue: value)
            curvature.observeCurvature(shard.map { local.distributed($0, globalLoss: loss) } ?? local)
        }
        let outcome = optimizer.update(model.trainableParameters)
        lastWarnings = curvature?.takeWarnings() ?? []
        return Result(loss: loss, correct: right, outcome: outcome)
    }

    /// Runs the step on images `batch` (`b × features`) with class `labels` (softmax cross-entropy).
    @discardableResult
    public func run(_ batch: Matrix<Float>, labels: [Int]) -> Result {
        run(ImageBatch(images: batch, labels: labels), task: imageClassification)
    }
}
