import Datasets
import Foundation
import Linalg
import Testing

/// A data source of variable-length token sequences, padded per batch to the longest: the shape a text
/// workload implements (here only to show that `BatchFeeder` serves any `DataSource`).
private struct Sentences: DataSource {
    let sequences: [[Int]]
    let labels: [Int]
    var name: String { "sentences" }
    var count: Int { sequences.count }
    func prefix(_ n: Int) -> Sentences { Sentences(sequences: Array(sequences.prefix(n)), labels: Array(labels.prefix(n))) }
    func makeBatch(capacity: Int) -> TokenBatch {
        try! TokenBatch(tokens: Matrix(rows: capacity, columns: 1), mask: Matrix(rows: capacity, columns: 1),
                        labels: [Int](repeating: 0, count: capacity))
    }
    func gather(_ indices: ArraySlice<Int>, into batch: inout TokenBatch) {
        let length = indices.map { sequences[$0].count }.max() ?? 0
        var tokens = Matrix<Float>(rows: indices.count, columns: length), mask = tokens
        for (r, i) in indices.enumerated() {
            for (t, token) in sequences[i].enumerated() { tokens[r, t] = Float(token); mask[r, t] = 1 }
        }
        batch = try! TokenBatch(tokens: tokens, mask: mask, labels: indices.map { labels[$0] })
    }
}

/// Writes `images` (`n × h × w` bytes) and `labels` as plain IDX files of `split` into `folder`.
private func writeIDX(folder: String, split: String, n: Int, h: Int, w: Int, images: [UInt8], labels: [UInt8]) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(idxHeader([n, h, w]) + images).write(to: URL(fileURLWithPath: "\(folder)/\(split)-images-idx3-ubyte"))
    try Data(idxHeader([n]) + labels).write(to: URL(fileURLWithPath: "\(folder)/\(split)-labels-idx1-ubyte"))
}

@Suite struct DataSourceTests {
    /// Any IDX folder loads with its own image size and class count, and is named after the folder; a folder
    /// called fashion-mnist is read as Fashion-MNIST (its name, class names and 28×28 check).
    @Test func idxFolderTakesItsNameAndShapesFromTheFiles() throws {
        let root = temporaryPath("idx-folders")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pixels: [UInt8] = (0..<18).map { UInt8($0 * 10) }
        for folder in ["\(root)/tiny-digits", "\(root)/Fashion-MNIST"] {
            try writeIDX(folder: folder, split: "train", n: 3, h: 2, w: 3, images: pixels, labels: [0, 4, 1])
            try writeIDX(folder: folder, split: "t10k", n: 1, h: 2, w: 3, images: Array(pixels[0..<6]), labels: [2])
        }
        let (train, test) = try IDXImageFolder(directory: "\(root)/tiny-digits").load(normalization: .unitInterval)
        #expect(train.name == "tiny-digits" && test.name == "tiny-digits")
        #expect(train.height == 2 && train.width == 3 && train.count == 3 && test.count == 1)
        #expect(train.classNames == ["0", "1", "2", "3", "4"] && train.classCount == 5)
        #expect(train.images.row(1) == PixelNormalization.unitInterval.apply(Array(pixels[6..<12])))
        #expect(train.prefix(2).name == "tiny-digits")

        let fashion = IDXImageFolder(directory: "\(root)/Fashion-MNIST")
        #expect(fashion.name == FashionMNIST.name && fashion.classNames == FashionMNIST.classNames)
        do {
            _ = try fashion.load(.train)
            Issue.record("2×3 images accepted as Fashion-MNIST")
        } catch {
            #expect(error.description.contains("28×28"))
        }
        #expect(IDXImageFolder(directory: FashionMNIST.defaultDirectory).name == "Fashion-MNIST")
    }

    /// `gather` fills an image batch with the rows and labels at the indices and resizes it when the count
    /// changes; `batch(_:)` and `chunks(of:)` cover the source in order.
    @Test func imageSourceGathersBatches() {
        let images = Matrix<Float>(rows: 5, columns: 2, storage: (0..<10).map(Float.init))
        let data = LabeledImages(images: images, labels: [0, 1, 2, 0, 1], height: 1, width: 2, channels: 1, classNames: [], name: "five")
        var batch = data.makeBatch(capacity: 2)
        data.gather([4, 0], into: &batch)
        #expect(batch.images.storage == [8, 9, 0, 1] && batch.labels == [1, 0] && batch.count == 2)
        data.gather([1, 2, 3], into: &batch)
        #expect(batch.count == 3 && batch.input.storage == [2, 3, 4, 5, 6, 7])
        #expect(data.chunks(of: 2) == [0..<2, 2..<4, 4..<5])
        #expect(data.batch([3]).labels == [0])
    }

    /// The feeder serves a source of padded token sequences exactly as it serves images: the seeded order,
    /// one batch per step, every example once per epoch.
    @Test func feederServesTokenSequences() {
        let sentences = Sentences(sequences: (0..<7).map { i in Array(repeating: i + 1, count: i % 3 + 1) }, labels: Array(0..<7))
        let batches = MiniBatches(count: 7, batchSize: 3, seed: 4)
        var feeder = BatchFeeder(data: sentences, batches: batches)
        var seen: [Int] = []
        for s in 0..<batches.batchesPerEpoch {
            feeder.load(step: s)
            let b = feeder.batch
            for r in 0..<b.count {
                let i = b.labels[r]
                seen.append(i)
                let real = (0..<b.length).filter { b.mask[r, $0] == 1 }
                #expect(real == Array(0..<(i % 3 + 1)) && real.allSatisfy { b.tokens[r, $0] == Float(i + 1) })
            }
        }
        #expect(seen == batches.order(epoch: 0))
    }

    /// Token batches reject inconsistent shapes and non-0/1 masks with the field named.
    @Test func tokenBatchesValidate() throws {
        let tokens = Matrix<Float>(rows: 2, columns: 3)
        #expect(throws: DatasetError.self) { try TokenBatch(tokens: tokens, mask: Matrix(rows: 2, columns: 2), labels: [0, 1]) }
        #expect(throws: DatasetError.self) {
            try TokenBatch(tokens: tokens, mask: Matrix(rows: 2, columns: 3, storage: [1, 1, 0.5, 1, 0, 0]), labels: [0, 1])
        }
    }
}
