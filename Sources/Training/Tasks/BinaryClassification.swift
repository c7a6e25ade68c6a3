import Curvature
import Datasets
import Linalg
import NeuralNet

/// Binary classification with one logit per example and binary cross-entropy (`BinaryCrossEntropy`;
/// docs/gnn.md#loss-and-imbalance): outputs `b × 1`, labels 0/1. Predictions are `b × 2`, `[1 − p, p]`
/// with `p = σ(z)` (what `BinaryScoreMetric` reads); the predicted class is `p ≥ ½`. Output curvature: Bernoulli,
/// `c p(1 − p)`. Metrics: ROC-AUC (OGB's ogbg-molhiv metric) and average precision.
public final class BinaryClassification<Batch: LabeledBatch & ModelInputBatch>: TrainingTask {
    public let crossEntropy: BinaryCrossEntropy<Float>

    /// `positiveWeight` multiplies the loss of positive examples (1: unweighted).
    public init(positiveWeight: Float = 1) { crossEntropy = BinaryCrossEntropy(positiveWeight: positiveWeight) }

    public var lossName: String { "binary cross-entropy" }

    public func loss(_ outputs: Matrix<Float>, batch: Batch) -> Float { crossEntropy.forward(outputs, targets: batch.labels) }
    public func outputGradient(batch: Batch) -> Matrix<Float> { crossEntropy.gradient(targets: batch.labels) }
    public func outputCurvature() -> OutputCurvature<Float> { crossEntropy.outputCurvature() }
    public func correctCount(batch: Batch) -> Int? {
        zip(crossEntropy.probabilities.storage, batch.labels).reduce(0) { $0 + (($1.0 >= 0.5 ? 1 : 0) == $1.1 ? 1 : 0) }
    }
    public func predictions() -> Matrix<Float> {
        let p = crossEntropy.probabilities
        var out = Matrix<Float>(rows: p.rows, columns: 2)
        for n in 0..<p.rows { out[n, 0] = 1 - p[n, 0]; out[n, 1] = p[n, 0] }
        return out
    }
    public func makeMetrics() -> [any TaskMetric<Batch>] { [BinaryScoreMetric<Batch>(.rocAUC), BinaryScoreMetric<Batch>(.averagePrecision)] }
}
