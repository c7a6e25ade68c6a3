import Datasets
import Foundation
import Linalg
import Testing
import _TestSupport

/// An IDX header for unsigned bytes with the given dimensions.
func idxHeader(_ dims: [Int]) -> [UInt8] {
    var h: [UInt8] = [0, 0, 0x08, UInt8(dims.count)]
    for d in dims { h += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
    return h
}

func temporaryPath(_ name: String) -> String {
    NSTemporaryDirectory() + "thermograd-\(ProcessInfo.processInfo.processIdentifier)-\(name)"
}

@Suite struct IDXFileTests {
    @Test func parsesValidArray() throws {
        let file = try IDXFile(parsing: idxHeader([2, 3]) + [1, 2, 3, 4, 5, 6], path: "x", expectedDimensions: 2)
        #expect(file.dimensions == [2, 3] && file.bytes == [1, 2, 3, 4, 5, 6])
    }

    @Test func rejectsMalformedFiles() {
        #expect(throws: DatasetError.badMagic(path: "x", found: 0x0000_0903, expected: "an IDX file with 3 dimension(s) of unsigned bytes")) {
            try IDXFile(parsing: [0, 0, 9, 3, 0, 0, 0, 0], path: "x", expectedDimensions: 3)
        }
        // Labels file where images are expected.
        #expect(throws: DatasetError.self) { try IDXFile(parsing: idxHeader([2]) + [0, 1], path: "x", expectedDimensions: 3) }
        #expect(throws: DatasetError.truncated(path: "x", expectedBytes: 6, actualBytes: 5)) {
            try IDXFile(parsing: idxHeader([2, 3]) + [1, 2, 3, 4, 5], path: "x")
        }
        #expect(throws: DatasetError.truncated(path: "x", expectedBytes: 12, actualBytes: 6)) {
            try IDXFile(parsing: Array(idxHeader([2, 3])[0..<6]), path: "x")
        }
        #expect(throws: DatasetError.trailingBytes(path: "x", expectedBytes: 2, actualBytes: 3)) {
            try IDXFile(parsing: idxHeader([2]) + [1, 2, 3], path: "x")
        }
    }

    @Test func missingFileSaysHowToInstall() {
        do {
            _ = try FashionMNIST.load(.test, directory: "/nonexistent-thermograd")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("apt-get install dataset-fashion-mnist"))
            #expect(error.description.contains("make deps"))
        }
    }

    @Test func plainAndTruncatedFilesOnDisk() throws {
        let plain = temporaryPath("plain.idx")
        try Data(idxHeader([3]) + [7, 8, 9]).write(to: URL(fileURLWithPath: plain))
        defer { try? FileManager.default.removeItem(atPath: plain) }
        #expect(try IDXFile(contentsOf: plain, expectedDimensions: 1).bytes == [7, 8, 9])

        // A gzip stream cut in the middle (from the installed data set) must be reported, not half-read.
        let source = FashionMNIST.paths(.test).labels
        guard let whole = FileManager.default.contents(atPath: source) else { return } // data set not installed
        let cut = temporaryPath("cut.gz")
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        defer { try? FileManager.default.removeItem(atPath: cut) }
        #expect(throws: DatasetError.self) { try IDXFile(contentsOf: cut, expectedDimensions: 1) }
    }
}

@Suite struct FashionMNISTTests {
    @Test func loadsTestSplit() throws {
        guard fashionMNISTIsInstalled() else { return }
        let data = try FashionMNIST.load(.test)
        #expect(data.count == 10_000 && data.features == 784 && data.height == 28)
        // The test split is balanced: 1,000 images per class.
        for c in 0..<10 { #expect(data.labels.filter { $0 == c }.count == 1000) }
        // Normalised pixels: bytes 0 and 255 map to (0 − 0.286)/0.353 and (1 − 0.286)/0.353.
        let (lo, hi) = (data.images.storage.min()!, data.images.storage.max()!)
        #expect(abs(lo + 0.2860 / 0.3530) < 1e-5 && abs(hi - 0.7140 / 0.3530) < 1e-5)
        let subset = data.prefix(100)
        #expect(subset.count == 100 && subset.images.row(99) == data.images.row(99))
    }
}

@Suite struct MiniBatchTests {
    @Test func seededOrderCoversEveryExampleOnce() {
        let batches = MiniBatches(count: 103, batchSize: 10, seed: 5)
        #expect(batches.batchesPerEpoch == 11)
        let order = batches.order(epoch: 0)
        #expect(order.sorted() == Array(0..<103))
        #expect(order == MiniBatches(count: 103, batchSize: 10, seed: 5).order(epoch: 0))
        #expect(order != batches.order(epoch: 1))
        #expect(batches.batch(10, of: order).count == 3)
        #expect(MiniBatches(count: 103, batchSize: 10, seed: 5, dropLast: true).batchesPerEpoch == 10)
    }

    @Test func gatherCopiesRowsAndLabels() {
        let images = Matrix<Float>(rows: 4, columns: 2, storage: [0, 1, 10, 11, 20, 21, 30, 31])
        let data = LabeledImages(images: images, labels: [0, 1, 2, 3], height: 1, width: 2, channels: 1, classNames: [])
        var batch = Matrix<Float>(rows: 2, columns: 2)
        var labels = [0, 0]
        data.gather([3, 1], into: &batch, labels: &labels)
        #expect(batch.storage == [30, 31, 10, 11] && labels == [3, 1])
    }
}

@Suite struct BatchFeederTests {
    /// Step s holds batch s % batchesPerEpoch of epoch s / batchesPerEpoch in MiniBatches' seeded order:
    /// every example once per epoch, the last batch smaller, rows and labels gathered together.
    @Test func stepsFollowTheSeededEpochOrder() {
        let n = 10
        var images = Matrix<Float>(rows: n, columns: 2)
        for i in 0..<n { images[i, 0] = Float(i); images[i, 1] = Float(-i) }
        let data = LabeledImages(images: images, labels: Array(100..<(100 + n)), height: 1, width: 2, channels: 1,
                                 classNames: ["x"])
        let batches = MiniBatches(count: n, batchSize: 4, seed: 3)
        var feeder = BatchFeeder(data: data, batches: batches)
        for epoch in 0..<2 {
            var seen: [Int] = []
            for index in 0..<batches.batchesPerEpoch {
                let s = epoch * batches.batchesPerEpoch + index
                feeder.load(step: s)
                #expect(feeder.epoch(ofStep: s) == epoch)
                #expect(feeder.labels.count == (index == 2 ? 2 : 4))
                for r in 0..<feeder.labels.count {
                    let i = Int(feeder.images[r, 0])
                    #expect(feeder.images[r, 1] == -Float(i) && feeder.labels[r] == 100 + i)
                    seen.append(i)
                }
            }
            #expect(seen == batches.order(epoch: epoch))
            #expect(Set(seen).count == n)
        }
        // Loading an earlier step again (as a resumed run does) gives the same batch.
        feeder.load(step: 4)
        let again = feeder.labels
        feeder.load(step: 1); feeder.load(step: 4)
        #expect(feeder.labels == again)
    }
}
