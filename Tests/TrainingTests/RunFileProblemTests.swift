import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Testing
import Training

/// Damaged or misplaced run files: a checkpoint holding NaN, a folder where the checkpoint should be, shapes
/// whose element count overflows, a half-written CSV line, an output path under a file; and settings that
/// cannot work (epochs whose step count overflows, a learning rate beyond Float).
@Suite struct RunFileProblemTests {
    func smallModel() -> (Sequential<Float>, Adam<Float>) {
        var rng = Xoshiro256StarStar(seed: 3)
        return (Sequential<Float>(inputFeatures: 4, [Linear(4, 3, rng: &rng), ReLU(), Linear(3, 2, rng: &rng)]),
                try! Adam<Float>(schedule: .constant(0.01)))
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteWeightsAreRefusedAndTheModelIsLeftAlone(bad: Float) throws {
        let (model, adam) = smallModel()
        var checkpoint = Checkpoint(model: model, optimizer: adam, step: 1)
        let name = "model.\(model.namedParameters[2].name)"
        var poisoned = try checkpoint.file.tensors[name]!.matrix(as: Float.self)
        poisoned[0, 1] = bad
        checkpoint.file.tensors[name] = SafetensorsTensor(poisoned)
        let (fresh, freshAdam) = smallModel()
        let before = fresh.namedParameters.map(\.value)
        let error = #expect(throws: CheckpointError.self) { try checkpoint.restore(into: fresh, optimizer: freshAdam, path: "c") }
        #expect(error?.description.contains(name) == true && error?.description.contains("non-finite") == true)
        #expect(fresh.namedParameters.map(\.value) == before)
    }

    @Test func folderInPlaceOfTheCheckpointIsNamed() throws {
        let dir = temporaryDirectory("checkpoint-folder") + "/checkpoint.safetensors"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(throws: CheckpointError.unreadable(path: dir, reason: "it is a folder, not a file")) { try Checkpoint.read(from: dir) }
    }

    /// Shapes whose element count overflows Int: a CheckpointError, not a trap in `reduce(1, *)`.
    @Test(arguments: [[Int.max, 2], [1 << 40, 1 << 40, 0], [-1, 4], [1 << 62, 1 << 62, 1 << 62]])
    func overflowingShapesAreMalformed(shape: [Int]) {
        let header = #"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,0]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header.utf8)
        #expect(throws: CheckpointError.self) { try SafetensorsFile(data: data, path: "x") }
    }

    @Test func halfWrittenCSVLinesAreDropped() {
        let header = "epoch,step,loss\n"
        #expect(CSVWriter.readAppended(header + "1,4,0.5\n2,8,0.4\n3").rows == [["1", "4", "0.5"], ["2", "8", "0.4"]])
        #expect(CSVWriter.readAppended(header + "1,4,0.5\n2,8").droppedLines == 1)
        // Cut after the last field but before the line break: dropped too (the value may be cut).
        #expect(CSVWriter.readAppended(header + "1,4,0.5\n2,8,0.4").rows == [["1", "4", "0.5"]])
        #expect(CSVWriter.readAppended(header + "1,4,0.5\n").droppedLines == 0)
        #expect(CSVWriter.readAppended("").rows.isEmpty)
        // CRLF line ends (a file edited on Windows) are line breaks, not part of a field.
        #expect(CSVWriter.parse("a,b\r\n1,2\r\n") == [["a", "b"], ["1", "2"]])
    }

    /// Found by fuzz/FuzzRunCSV: a field holding "\r\n" was written unquoted ("\r\n" is one Character, equal
    /// to neither "\r" nor "\n"), so it split the row when read back. The crasher is replayed as found.
    @Test func fieldsWithCRLFSurviveAWriteAndARead() throws {
        #expect(CSVWriter.escape("I\r\n7") == "\"I\r\n7\"")
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let crasher = repository.appendingPathComponent("fuzz/regressions/FuzzRunCSV/crlf-inside-a-field.csv")
        let table = CSVWriter.readAppended(String(decoding: try Data(contentsOf: crasher), as: UTF8.self))
        #expect(table.rows.count == 2)
        let rewritten = ([table.header] + table.rows).map { $0.map(CSVWriter.escape).joined(separator: ",") + "\n" }.joined()
        let again = CSVWriter.readAppended(rewritten)
        #expect(again.header == table.header && again.rows == table.rows)
    }

    /// Found by fuzz/FuzzRunCSV: a quote followed by a combining mark (U+0747) is one Character, so escaping
    /// by Character-level replacement left that quote single and the field did not read back.
    @Test func quoteBeforeACombiningMarkSurvivesAWriteAndARead() throws {
        #expect(CSVWriter.escape("a\"\u{747}b") == "\"a\"\"\u{747}b\"")
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let crasher = repository.appendingPathComponent("fuzz/regressions/FuzzRunCSV/quote-before-a-combining-mark.csv")
        let table = CSVWriter.readAppended(String(decoding: try Data(contentsOf: crasher), as: UTF8.self))
        #expect(!table.rows.isEmpty)
        let rewritten = ([table.header] + table.rows).map { $0.map(CSVWriter.escape).joined(separator: ",") + "\n" }.joined()
        let again = CSVWriter.readAppended(rewritten)
        #expect(again.header == table.header && again.rows == table.rows)
    }

    @Test func outputUnderAFileNamesTheFile() throws {
        let dir = temporaryDirectory("out-under-file")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/afile", contents: Data("x".utf8))
        let error = #expect(throws: ReportingError.self) { try OutputFolder.create(dir + "/afile/run") }
        #expect(error == .cannotCreateFolder(path: dir + "/afile/run", reason: "\(dir)/afile is a file, not a folder"))
        #expect(throws: ReportingError.self) { try AtomicFile.write("x", to: dir + "/afile/run/config.json") }
        #expect(throws: ReportingError.self) { try CSVWriter(path: dir + "/afile/m.csv", columns: ["a"]) }
        try OutputFolder.create(dir + "/fine/deeper")
        #expect(FileManager.default.fileExists(atPath: dir + "/fine/deeper"))
    }

    @Test func settingsThatCannotWorkAreRefused() {
        var c = TrainingConfiguration()
        c.epochs = Int.max
        #expect(throws: TrainingError.self) { try c.validate() }
        c.epochs = TrainingConfiguration.maximumEpochs
        #expect(throws: Never.self) { try c.validate() }
        c.learningRate = 1e39
        let error = #expect(throws: TrainingError.self) { try c.validate() }
        #expect(error?.description.contains("Float") == true)
    }

    /// The memory estimate counts the MLP's weights: about 14 TB for a 10⁹-wide hidden layer with Adam, and
    /// nothing overflows for absurd widths.
    @Test func memoryEstimateScalesWithTheWidths() {
        var c = TrainingConfiguration()
        c.mlpSizes = [784, 1_000_000_000, 10]
        let p = 785.0 * 1e9 + 1e9 * 11
        #expect(c.estimatedMemoryBytes() >= 4 * 4 * p)
        c.mlpSizes = [784, Int.max, Int.max, 10]
        #expect(c.estimatedMemoryBytes() > 1e30)
        c.mlpSizes = [784, 32, 10]
        #expect(c.estimatedMemoryBytes() < 1e9)
    }
}
