import Curvature
import Datasets
import Linalg
import NeuralNet

/// Classification with softmax cross-entropy (`SoftmaxCrossEntropy`): outputs are `b × C` logits, the
/// batch's `labels` the classes; predictions are the softmax probabilities, the predicted class their
/// argmax (first on ties); the output curvature is `diag(p) − ppᵀ` per example. Evaluation metric:
/// accuracy. Works for any batch with labels and one input matrix (images, token sequences).
public final class SoftmaxClassification<Batch: LabeledBatch & ModelInputBatch>: TrainingTask {
    public let crossEntropy = SoftmaxCrossEntropy<Float>()

    public init() {}

    public var lossName: String { "cross-entropy" }

    public func loss(_ outputs: Matrix<Float>, batch: Batch) -> Float { crossEntropy.forward(outputs, targets: batch.labels) }
    public func outputGradient(batch: Batch) -> Matrix<Float> { crossEntropy.gradient(targets: batch.labels) }
    public func outputCurvature() -> OutputCurvature<Float> { crossEntropy.outputCurvature() }
    public func correctCount(batch: Batch) -> Int? { crossEntropy.correctCount(targets: batch.labels) }
    public func predictions() -> Matrix<Float> { crossEntropy.probabilities }
    public func makeMetrics() -> [any TaskMetric<Batch>] { [Accuracy<Batch>()] }
}

/// Fraction of examples whose highest-scoring class (first on ties) is the label: `correct / examples`.
public struct Accuracy<Batch: LabeledBatch>: TaskMetric {
    public private(set) var correct = 0, examples = 0

    public init() {}

    public var name: String { "accuracy" }

    public mutating func add(predictions: Matrix<Float>, batch: Batch) {
        precondition(predictions.rows == batch.count, "Accuracy: \(predictions.rows) prediction rows for \(batch.count) examples")
        correct += zip(argmaxRows(predictions), batch.labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        examples += batch.count
    }

    public var value: Double { examples > 0 ? Double(correct) / Double(examples) : .nan }
}

/// Regression with the Gaussian-likelihood squared error `ℓ = ½‖y − t‖²` (`MeanSquaredError`): outputs and
/// the batch's `targets` are `b × d`; predictions are the outputs; the output curvature is the identity.
/// Evaluation metric: root-mean-square error per output entry, `√(Σ (y − t)² / (b·d))`.
public final class SquaredErrorRegression<Batch: RegressionBatch>: TrainingTask {
    public let squaredError = MeanSquaredError<Float>()

    public init() {}

    public var lossName: String { "squared error" }

    public func loss(_ outputs: Matrix<Float>, batch: Batch) -> Float { squaredError.forward(outputs, targets: batch.targets) }
    public func outputGradient(batch: Batch) -> Matrix<Float> { squaredError.gradient(targets: batch.targets) }
    public func outputCurvature() -> OutputCurvature<Float> { squaredError.outputCurvature() }
    public func correctCount(batch: Batch) -> Int? { nil }
    public func predictions() -> Matrix<Float> { squaredError.outputs }
    public func makeMetrics() -> [any TaskMetric<Batch>] { [RootMeanSquaredError<Batch>()] }
}

/// `√(Σ (y − t)² / entries)` over every output entry added.
public struct RootMeanSquaredError<Batch: RegressionBatch>: TaskMetric {
    public private(set) var sumOfSquares = 0.0, entries = 0

    public init() {}

    public var name: String { "rmse" }

    public mutating func add(predictions: Matrix<Float>, batch: Batch) {
        let t = batch.targets
        precondition(predictions.rows == t.rows && predictions.columns == t.columns,
                     "RMSE: predictions \(predictions.rows)×\(predictions.columns), targets \(t.rows)×\(t.columns)")
        for (y, target) in zip(predictions.storage, t.storage) { sumOfSquares += Double(y - target) * Double(y - target) }
        entries += t.storage.count
    }

    public var value: Double { entries > 0 ? (sumOfSquares / Double(entries)).squareRoot() : .nan }
}
