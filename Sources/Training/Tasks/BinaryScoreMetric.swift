import Datasets
import Linalg

/// A rank-based metric of a binary classifier over every evaluation example: ROC-AUC (OGB's ogbg-molhiv metric)
/// or average precision (`BinaryScores.rocAUC`, `.averagePrecision`). Scores are column 1 of the predictions
/// (`p(class 1)` for a two-class softmax or `BinaryClassification`); labels are 0 or 1. Keeps every score
/// (`O(n log n)` at `value`).
public struct BinaryScoreMetric<Batch: LabeledBatch>: TaskMetric {
    public enum Statistic: String, Sendable, CaseIterable {
        case rocAUC = "roc_auc"
        case averagePrecision = "average_precision"
    }

    public let statistic: Statistic
    public private(set) var collected = BinaryScores()

    public init(_ statistic: Statistic) { self.statistic = statistic }

    public var name: String { statistic.rawValue }

    public mutating func add(predictions: Matrix<Float>, batch: Batch) {
        collected.add(predictions: predictions, labels: batch.labels, metric: name)
    }

    public var value: Double {
        switch statistic {
        case .rocAUC: collected.rocAUC
        case .averagePrecision: collected.averagePrecision
        }
    }
}
