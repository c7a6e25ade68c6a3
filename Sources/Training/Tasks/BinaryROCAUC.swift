import Datasets
import Linalg

/// Area under the ROC curve of a binary classifier: the probability that a random positive example scores
/// higher than a random negative one, ties counting one half (the Mann–Whitney U statistic over
/// `positives · negatives`). Scores are column 1 of the predictions (`p(class 1)` for a two-class softmax);
/// labels are 0 or 1. NaN until both classes have been seen. Keeps every score (`O(n log n)` at `value`).
public struct BinaryROCAUC<Batch: LabeledBatch>: TaskMetric {
    public private(set) var collected = BinaryScores()

    public init() {}

    public var name: String { "roc_auc" }

    public mutating func add(predictions: Matrix<Float>, batch: Batch) {
        collected.add(predictions: predictions, labels: batch.labels, metric: "ROC-AUC")
    }

    public var value: Double { Self.area(collected) }

    /// The area for `scores` against `positives`.
    public static func area(scores: [Float], positives: [Bool]) -> Double {
        area(BinaryScores(scores: scores, positives: positives, metric: "ROC-AUC"))
    }

    /// `(Σ ranks of the positives − P(P+1)/2) / (P·N)` with average ranks for tied scores.
    public static func area(_ s: BinaryScores) -> Double {
        let p = s.positiveCount, n = s.scores.count - p
        guard p > 0, n > 0 else { return .nan }
        var rankSum = 0.0
        for g in s.tieGroups(descending: false) {
            rankSum += Double(g.positives) * Double(g.first + g.last + 2) / 2   // ranks first+1 … last+1
        }
        return (rankSum - Double(p) * Double(p + 1) / 2) / (Double(p) * Double(n))
    }
}
