import Training
import Testing

/// ROC-AUC and average precision against hand computations, ties included.
struct BinaryMetricsTests {
    @Test func rocAUCWithTies() {
        // Scores 0.9 (+), 0.5 (+), 0.5 (−), 0.1 (−), 0.1 (+): 3 positives × 2 negatives = 6 pairs.
        // (0.9, 0.5−) 1, (0.9, 0.1−) 1, (0.5+, 0.5−) ½, (0.5+, 0.1−) 1, (0.1+, 0.5−) 0, (0.1+, 0.1−) ½ → 4/6.
        let auc = BinaryScores(scores: [0.9, 0.5, 0.5, 0.1, 0.1], positives: [true, true, false, false, true]).rocAUC
        #expect(abs(auc - 4.0 / 6.0) < 1e-12)
        #expect(BinaryScores(scores: [0.3, 0.3], positives: [true, false]).rocAUC == 0.5)
    }

    @Test func averagePrecisionWithTies() {
        // Thresholds 0.9: TP 1 of 1 seen → R 1/3, P 1; 0.5 (two tied, one +): TP 2 of 3 → R 2/3, P 2/3;
        // 0.1 (two tied, one +): TP 3 of 5 → R 1, P 3/5. AP = 1/3·1 + 1/3·2/3 + 1/3·3/5.
        let ap = BinaryScores(scores: [0.9, 0.5, 0.5, 0.1, 0.1], positives: [true, true, false, false, true]).averagePrecision
        #expect(abs(ap - (1.0 / 3 + 2.0 / 9 + 1.0 / 5)) < 1e-12)
        #expect(BinaryScores(scores: [0.2], positives: [false]).averagePrecision.isNaN)
    }
}

import Datasets
struct LabelsOnly: LabeledBatch {
    var labels: [Int]
    var count: Int { labels.count }
}
