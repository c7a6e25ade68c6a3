import Datasets
import Linalg
import Testing
import Training

@Suite struct ROCAUCTests {
    /// The rank formula against the definition (count of positive–negative pairs ordered right, ties ½) on
    /// scores with many ties; perfect and reversed rankings give 1 and 0; one class only gives NaN.
    @Test func areaEqualsPairCounting() {
        var rng = Xoshiro256StarStar(seed: 12, stream: 0)
        let scores = (0..<60).map { _ in Float(rng.nextInt(below: 7)) / 7 }
        let positives = (0..<60).map { _ in rng.nextInt(below: 3) == 0 }
        var pairs = 0.0, count = 0.0
        for i in 0..<60 where positives[i] {
            for j in 0..<60 where !positives[j] {
                pairs += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                count += 1
            }
        }
        #expect(abs(BinaryScores(scores: scores, positives: positives).rocAUC - pairs / count) < 1e-12)
        #expect(BinaryScores(scores: [0.1, 0.2, 0.9], positives: [false, false, true]).rocAUC == 1)
        #expect(BinaryScores(scores: [0.1, 0.2, 0.9], positives: [true, true, false]).rocAUC == 0)
        #expect(BinaryScores(scores: [0.1, 0.2], positives: [true, true]).rocAUC.isNaN)
    }

    /// As a task metric it reads p(class 1) from two-class predictions, batch after batch.
    @Test func accumulatesOverBatches() {
        var metric = BinaryScoreMetric<ImageBatch>(.rocAUC)
        let images = Matrix<Float>(rows: 2, columns: 1)
        metric.add(predictions: Matrix(rows: 2, columns: 2, storage: [0.8, 0.2, 0.3, 0.7]), batch: ImageBatch(images: images, labels: [0, 1]))
        metric.add(predictions: Matrix(rows: 2, columns: 2, storage: [0.4, 0.6, 0.9, 0.1]), batch: ImageBatch(images: images, labels: [0, 1]))
        // Positives score 0.7 and 0.1, negatives 0.2 and 0.6: pairs (0.7>0.2, 0.7>0.6, 0.1<0.2, 0.1<0.6) → 2/4.
        #expect(metric.value == 0.5)
    }
}
