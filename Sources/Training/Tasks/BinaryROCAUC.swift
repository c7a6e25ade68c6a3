import Datasets
import Linalg

/// Area under the ROC curve of a binary classifier: the probability that a random positive example scores
/// higher than a random negative one, ties counting one half (the Mann–Whitney U statistic over
/// `positives · negatives`). Scores are column 1 of the predictions (`p(class 1)` for a two-class softmax);
/// labels are 0 or 1. NaN until both classes have been seen. Keeps every score (`O(n log n)` at `value`).
public struct BinaryROCAUC<Batch: LabeledBatch>: TaskMetric {
    public private(set) var scores: [Float] = []
    public private(set) var positives: [Bool] = []

    public init() {}

    public var name: String { "roc_auc" }

    public mutating func add(predictions: Matrix<Float>, batch: Batch) {
        precondition(predictions.rows == batch.count && predictions.columns == 2,
                     "ROC-AUC: needs b × 2 class probabilities, got \(predictions.rows)×\(predictions.columns) for \(batch.count) examples")
        for (n, label) in batch.labels.enumerated() {
            precondition(label == 0 || label == 1, "ROC-AUC: label \(label) is not 0 or 1")
            scores.append(predictions[n, 1])
            positives.append(label == 1)
        }
    }

    public var value: Double { Self.area(scores: scores, positives: positives) }

    /// `(Σ ranks of the positives − P(P+1)/2) / (P·N)` with average ranks for tied scores.
    public static func area(scores: [Float], positives: [Bool]) -> Double {
        precondition(scores.count == positives.count, "ROC-AUC: \(scores.count) scores, \(positives.count) labels")
        let p = positives.filter { $0 }.count, n = positives.count - p
        guard p > 0, n > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j + 2) / 2 // ranks i+1 … j+1
            for k in i...j where positives[order[k]] { rankSum += averageRank }
            i = j + 1
        }
        return (rankSum - Double(p) * Double(p + 1) / 2) / (Double(p) * Double(n))
    }
}
