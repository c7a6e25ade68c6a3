import Datasets
import Linalg

/// What the rank-based binary metrics (`BinaryScoreMetric`: ROC-AUC, average precision) collect over evaluation
/// batches: the score of each example — column 1 of the `b × 2` class probabilities, `p(class 1)` — and whether its
/// label is 1. Both statistics walk the scores in sorted order with tied scores taken together (`tieGroups`).
public struct BinaryScores: Sendable {
    public private(set) var scores: [Float] = []
    public private(set) var positives: [Bool] = []

    public init() {}

    /// Scores and labels given directly (one label per score).
    public init(scores: [Float], positives: [Bool]) {
        precondition(scores.count == positives.count, "BinaryScores: \(scores.count) scores, \(positives.count) labels")
        self.scores = scores
        self.positives = positives
    }

    /// Appends a batch: `predictions` is `b × 2` (rows as `labels`), labels are 0 or 1; `metric` names the
    /// caller in the message of a violated precondition.
    public mutating func add(predictions: Matrix<Float>, labels: [Int], metric: String) {
        precondition(predictions.rows == labels.count && predictions.columns == 2,
                     "\(metric): needs b × 2 class probabilities, got \(predictions.rows)×\(predictions.columns) for \(labels.count) examples")
        for (n, label) in labels.enumerated() {
            precondition(label == 0 || label == 1, "\(metric): label \(label) is not 0 or 1")
            scores.append(predictions[n, 1])
            positives.append(label == 1)
        }
    }

    /// Examples with label 1.
    public var positiveCount: Int { positives.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// The examples sorted by score (ascending or descending), cut into runs of equal score: each run's
    /// positions `first...last` in the sorted order (0-based) and how many of its examples are positive.
    public func tieGroups(descending: Bool) -> [(first: Int, last: Int, positives: Int)] {
        let order = scores.indices.sorted { descending ? scores[$0] > scores[$1] : scores[$0] < scores[$1] }
        var groups: [(first: Int, last: Int, positives: Int)] = []
        var i = 0
        while i < order.count {
            var j = i, count = positives[order[i]] ? 1 : 0
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] {
                j += 1
                if positives[order[j]] { count += 1 }
            }
            groups.append((i, j, count))
            i = j + 1
        }
        return groups
    }

    /// Area under the ROC curve: the probability that a random positive example scores higher than a random
    /// negative one, ties counting one half (the Mann–Whitney U statistic over `positives · negatives`),
    /// computed as `(Σ ranks of the positives − P(P+1)/2) / (P·N)` with average ranks for tied scores.
    /// NaN until both classes have been seen.
    public var rocAUC: Double {
        let p = positiveCount, n = scores.count - p
        guard p > 0, n > 0 else { return .nan }
        var rankSum = 0.0
        for g in tieGroups(descending: false) {
            rankSum += Double(g.positives) * Double(g.first + g.last + 2) / 2   // ranks first+1 … last+1
        }
        return (rankSum - Double(p) * Double(p + 1) / 2) / (Double(p) * Double(n))
    }

    /// Average precision, `AP = Σ_k (R_k − R_{k−1}) P_k` over the distinct score thresholds from the highest down
    /// (precision `P_k` and recall `R_k` of "score ≥ threshold k"; tied scores enter together, as scikit-learn's
    /// `average_precision_score`). NaN without positives.
    public var averagePrecision: Double {
        let total = positiveCount
        guard total > 0 else { return .nan }
        var ap = 0.0, truePositives = 0
        for g in tieGroups(descending: true) {
            truePositives += g.positives
            ap += Double(g.positives) / Double(total) * Double(truePositives) / Double(g.last + 1)
        }
        return ap
    }
}
