import Datasets
import Foundation
import Testing

/// Problems with the data files that are not damage: an empty split, a folder or an unreadable file where a
/// data file should be. Each is named as what it is (the message used to say "damaged; reinstall").
@Suite struct DataFileProblemTests {
    func gzipFolder(_ name: String, trainImages: Int, testImages: Int) throws -> String {
        let dir = temporaryPath(name)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (prefix, n) in [("train", trainImages), ("t10k", testImages)] {
            // Uncompressed IDX files: zlib's gzread passes plain files through, as the loader documents.
            let images = idxHeader([n, 28, 28]) + [UInt8](repeating: 7, count: n * 784)
            let labels = idxHeader([n]) + [UInt8](repeating: 1, count: n)
            FileManager.default.createFile(atPath: "\(dir)/\(prefix)-images-idx3-ubyte.gz", contents: Data(images))
            FileManager.default.createFile(atPath: "\(dir)/\(prefix)-labels-idx1-ubyte.gz", contents: Data(labels))
        }
        return dir
    }

    @Test func emptySplitsAreRefused() throws {
        let noTrain = try gzipFolder("no-train", trainImages: 0, testImages: 3)
        defer { try? FileManager.default.removeItem(atPath: noTrain) }
        #expect(throws: DatasetError.empty(path: "\(noTrain)/train-images-idx3-ubyte.gz", what: "images")) {
            try FashionMNIST.load(.train, directory: noTrain)
        }
        #expect(try FashionMNIST.load(.test, directory: noTrain).count == 3)
        let noTest = try gzipFolder("no-test", trainImages: 2, testImages: 0)
        defer { try? FileManager.default.removeItem(atPath: noTest) }
        #expect(throws: DatasetError.self) { try FashionMNIST.load(.test, directory: noTest) }
    }

    @Test func folderInPlaceOfAFileIsNotCalledDamage() throws {
        let dir = temporaryPath("folder-in-place")
        try FileManager.default.createDirectory(atPath: dir + "/x.gz", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = #expect(throws: DatasetError.self) { try IDXFile(contentsOf: dir + "/x.gz") }
        #expect(error == .inaccessible(path: dir + "/x.gz", reason: "it is a folder, not a file"))
        #expect(error?.description.contains("damaged") == false)
    }
}
