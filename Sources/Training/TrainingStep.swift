import Curvature
import Linalg
import NeuralNet
import Optimizers

/// One optimisation step on one mini-batch: forward (training mode), softmax cross-entropy, zeroed
/// gradients, backward (parameter gradients only, accumulated), optimiser update of the trainable parameters. Shared by the trainer and the `bench train-step`
/// benchmark so that both time exactly the same work.
public final class TrainingStep {
    public let model: Sequential<Float>
    public let optimizer: any Optimizer<Float>
    public let loss = SoftmaxCrossEntropy<Float>()

    public init(model: Sequential<Float>, optimizer: any Optimizer<Float>) {
        self.model = model
        self.optimizer = optimizer
    }

    public struct Result: Sendable, Equatable {
        /// Mean loss over the batch (before the update).
        public let loss: Float
        /// Correctly classified examples (before the update).
        public let correct: Int
        public let outcome: UpdateOutcome
    }

    /// Runs the step on `batch` (`b × features`) with `labels` (`b` classes).
    /// Seconds of the last step's forward, loss and backward passes (the rest is the optimiser's).
    public private(set) var lastForwardBackwardSeconds = 0.0
    /// Warnings the optimiser raised during the last step (a degraded step: a layer left unpreconditioned, …).
    public private(set) var lastWarnings: [String] = []

    /// Runs the step on `batch` (`b × features`) with `labels` (`b` classes). A `CurvatureOptimizer`
    /// (K-FAC, NGD) sees the batch's curvature between the backward pass and its update.
    @discardableResult
    public func run(_ batch: Matrix<Float>, labels: [Int]) -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let logits = model.forward(batch, training: true)
        let value = loss.forward(logits, targets: labels)
        let correct = loss.correctCount(targets: labels)
        model.zeroGradients()
        model.backward(loss.gradient(targets: labels))
        let d = clock.now - start
        lastForwardBackwardSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        let curvature = optimizer as? any CurvatureOptimizer<Float>
        curvature?.observeCurvature(CurvatureBatch(model: model, input: batch, loss: loss, targets: labels, lossValue: value))
        let outcome = optimizer.update(model.trainableParameters)
        lastWarnings = curvature?.takeWarnings() ?? []
        return Result(loss: value, correct: correct, outcome: outcome)
    }
}

/// Mean loss and accuracy of `model` (inference mode) on `images`/`labels`, in chunks of `chunk` rows.
public func evaluate(_ model: Sequential<Float>, images: Matrix<Float>, labels: [Int], chunk: Int = 1000) -> (loss: Double, accuracy: Double) {
    let n = labels.count
    guard n > 0 else { return (.nan, .nan) }
    let loss = SoftmaxCrossEntropy<Float>()
    let f = images.columns
    var total = 0.0, correct = 0
    var start = 0
    while start < n {
        let m = min(chunk, n - start)
        let rows = Matrix(rows: m, columns: f, storage: Array(images.storage[(start * f)..<((start + m) * f)]))
        let targets = Array(labels[start..<(start + m)])
        total += Double(loss.forward(model.forward(rows, training: false), targets: targets)) * Double(m)
        correct += loss.correctCount(targets: targets)
        start += m
    }
    return (total / Double(n), Double(correct) / Double(n))
}
