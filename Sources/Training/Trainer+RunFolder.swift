import Datasets
import Foundation
import Reporting

/// The run folder's safety rules: a new run never silently replaces an old one, a resume writes nothing
/// before its checkpoint has been accepted, temporary files of a killed run are removed, and a checkpoint
/// remembers which data it was trained on.
extension Trainer {
    /// The files a run writes in its folder.
    public var runFiles: [String] { [checkpointPath, metricsPath, epochsPath, configPath, summaryPath, plotPath] }

    /// Refuses to start a new run in a folder that holds one (unless `overwrite`, which deletes its files
    /// first, so that a new run killed early never leaves the old checkpoint beside new metrics).
    func prepareNewRunFolder(overwrite: Bool) throws {
        let fm = FileManager.default
        let existing = runFiles.filter { fm.fileExists(atPath: $0) }
        if !existing.isEmpty {
            guard overwrite else {
                throw TrainingError.runExists(folder: configuration.outputDirectory,
                                              files: existing.map { URL(fileURLWithPath: $0).lastPathComponent })
            }
            for path in existing {
                do { try fm.removeItem(atPath: path) } catch {
                    throw TrainingError.output("cannot remove \(path) for --overwrite: \(error.localizedDescription)")
                }
            }
        }
        try OutputFolder.create(configuration.outputDirectory)
    }

    /// A fingerprint of the examples this run trains and evaluates on: counts, then FNV-1a (64 bit) over the
    /// pixels' bit patterns and the labels of both splits. Stored in every checkpoint (metadata `data`);
    /// `--resume` on other data (another --data-dir) is refused by name.
    public static func dataFingerprint(train: LabeledImages, test: LabeledImages) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) { hash = (hash ^ word) &* 0x0000_0100_0000_01b3 }
        for split in [train, test] {
            split.images.withUnsafeBufferPointer { pixels in for p in pixels { mix(UInt64(p.bitPattern)) } }
            for label in split.labels { mix(UInt64(bitPattern: Int64(label))) }
        }
        return "\(train.count) training / \(test.count) test examples, hash \(String(hash, radix: 16))"
    }
}
