import Curvature
import Datasets
import Foundation
import Linalg
import Testing

/// The pieces of a data-parallel step that one process can check: the parts of a global batch and the
/// true-Fisher draws of each part (docs/multi-process.md#data-parallel-steps).
@Suite struct DataParallelTests {
    @Test(arguments: [(64, 2), (64, 3), (7, 7), (112, 4), (5, 1)])
    func partsCoverTheBatchInOrder(count: Int, parts: Int) {
        let ranges = (0..<parts).map { MiniBatches.shard(count, part: $0, of: parts) }
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        // Balanced: sizes differ by at most one.
        let sizes = ranges.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
    }

    @Test func aFeedersPartsAreTheOneProcessBatch() {
        let n = 30
        let images = LabeledImages(images: Matrix(rows: n, columns: 2, storage: (0..<(2 * n)).map(Float.init)),
                                   labels: (0..<n).map { $0 % 3 }, height: 1, width: 2, channels: 1,
                                   classNames: ["a", "b", "c"], name: "ramp")
        let batches = MiniBatches(count: n, batchSize: 8, seed: 5)
        var whole = BatchFeeder(data: images, batches: batches)
        var parts = [BatchFeeder(data: images, batches: batches), BatchFeeder(data: images, batches: batches),
                     BatchFeeder(data: images, batches: batches)]
        for s in [0, 1, 3, 4] {  // step 3 is the epoch's last, smaller batch (6 examples)
            whole.load(step: s)
            var labels: [Int] = [], pixels: [Float] = []
            for r in 0..<3 {
                parts[r].load(step: s, part: r, of: 3)
                #expect(parts[r].globalCount == whole.batch.count && parts[r].partOffset == labels.count)
                labels += parts[r].batch.labels
                pixels += parts[r].batch.images.storage
            }
            #expect(labels == whole.batch.labels && pixels == whole.batch.images.storage)
        }
    }

    /// Each part keeps its rows of the one-process draw (categorical labels and Gaussian noise), rescaled
    /// from `1/b` to `1/b_r`.
    @Test func sampledLabelsOfThePartsAreTheOneProcessDraws() {
        var source = Xoshiro256StarStar(seed: 9, stream: 2)
        var logits: Matrix<Float> = source.normalMatrix(rows: 10, columns: 4)
        for i in 0..<10 {
            let row = (0..<4).map { exp(logits[i, $0]) }
            let z = row.reduce(0, +)
            for j in 0..<4 { logits[i, j] = row[j] / z }
        }
        for curvature in [OutputCurvature<Float>.categorical(probabilities: logits), .gaussian(outputs: logits)] {
            var rng = Xoshiro256StarStar(seed: 4, stream: 7)
            let whole = curvature.sampledOutputGradient(using: &rng)
            for (offset, count) in [(0, 4), (4, 3), (7, 3)] {
                let rows = Matrix<Float>(rows: count, columns: 4, storage: Array(logits.storage[(offset * 4)..<((offset + count) * 4)]))
                let part: OutputCurvature<Float>
                if case .categorical = curvature { part = .categorical(probabilities: rows) } else { part = .gaussian(outputs: rows) }
                var r = Xoshiro256StarStar(seed: 4, stream: 7)
                let g = part.sampledOutputGradient(using: &r, offset: offset, globalExamples: 10)
                #expect(r.state == rng.state, "every part advances the generator past the whole batch")
                for i in 0..<count {
                    for j in 0..<4 {
                        // whole carries 1/10, the part 1/count: the same draw.
                        #expect(abs(g[i, j] * Float(count) - whole[offset + i, j] * 10) <= 1e-6 * (1 + abs(whole[offset + i, j] * 10)))
                    }
                }
            }
        }
    }
}
