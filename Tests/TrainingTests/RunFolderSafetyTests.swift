import Datasets
import Foundation
import Reporting
import Testing
import Training
import _TestSupport

/// No lost run: a new run never replaces an old one silently, a refused resume writes nothing, a resume never
/// shortens a finished run, a killed run's temporary files go, a checkpoint is not resumed on other data, and
/// a diverged run stops with an error instead of finishing with NaN metrics.
@Suite struct RunFolderSafetyTests {
    let train = clusters(count: 96, seed: 4), test = clusters(count: 12, seed: 6)

    func configuration(_ name: String, epochs: Int = 1) -> TrainingConfiguration {
        var c = smallConfiguration(name)
        c.epochs = epochs
        return c
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func newRunIntoAnExistingRunIsRefusedUnlessOverwritten() throws {
        let c = configuration("existing")
        let first = try Trainer(configuration: c, train: train, test: test)
        _ = try first.run()
        let checkpoint = bytes(first.checkpointPath)
        let error = #expect(throws: TrainingError.self) { try Trainer(configuration: c, train: train, test: test).run() }
        #expect(error?.description.contains("--resume") == true && error?.description.contains("--overwrite") == true)
        #expect(bytes(first.checkpointPath) == checkpoint)
        // --overwrite deletes the old files first: a metrics file from the old run never survives next to a new checkpoint.
        FileManager.default.createFile(atPath: first.summaryPath, contents: Data("old".utf8))
        var other = c
        other.learningRate = 0.02
        let second = try Trainer(configuration: other, train: train, test: test)
        _ = try second.run(overwrite: true)
        #expect(bytes(second.checkpointPath) != checkpoint)
        #expect(try String(contentsOfFile: second.configPath, encoding: .utf8).contains("\"learningRate\" : 0.02"))
    }

    @Test func refusedResumeLeavesTheFolderAsItWas() throws {
        let c = configuration("refused-resume")
        let first = try Trainer(configuration: c, train: train, test: test)
        _ = try first.run()
        let before = first.runFiles.map(bytes)
        var changed = c
        changed.learningRate = 0.5
        #expect(throws: CheckpointError.self) { try Trainer(configuration: changed, train: train, test: test).run(resume: true) }
        #expect(first.runFiles.map(bytes) == before)
        // Resume with fewer epochs than were trained: refused, config.json and summary.txt untouched.
        var longer = c
        longer.epochs = 2
        _ = try Trainer(configuration: longer, train: train, test: test).run(resume: true)
        let finished = first.runFiles.map(bytes)
        let error = #expect(throws: TrainingError.self) { try Trainer(configuration: c, train: train, test: test).run(resume: true) }
        #expect(error?.description.contains("never shortens a run") == true)
        #expect(first.runFiles.map(bytes) == finished)
    }

    @Test func failedResumeWithoutCheckpointWritesNothing() throws {
        let c = configuration("resume-nothing")
        try FileManager.default.createDirectory(atPath: c.outputDirectory, withIntermediateDirectories: true)
        #expect(throws: CheckpointError.self) { try Trainer(configuration: c, train: train, test: test).run(resume: true) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: c.outputDirectory).isEmpty)
    }

    @Test func temporaryFilesOfAKilledRunAreRemoved() throws {
        let c = configuration("orphans", epochs: 2)
        let trainer = try Trainer(configuration: c, train: train, test: test)
        _ = try trainer.run(stopAfterStep: 2)
        // PID 99999999 is above Linux's largest (2²²): no such process.
        let orphan = c.outputDirectory + "/.checkpoint.safetensors.tmp-99999999"
        let live = c.outputDirectory + "/.metrics.csv.tmp-1"   // PID 1 runs: not an orphan
        _ = FileManager.default.createFile(atPath: orphan, contents: Data("partial".utf8))
        _ = FileManager.default.createFile(atPath: live, contents: Data())
        var messages: [String] = []
        _ = try Trainer(configuration: c, train: train, test: test).run(resume: true, log: { messages.append($0) })
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(messages.contains { $0.contains(".checkpoint.safetensors.tmp-99999999") })
    }

    @Test func resumeOnOtherDataIsRefused() throws {
        let c = configuration("other-data", epochs: 2)
        _ = try Trainer(configuration: c, train: train, test: test).run(stopAfterStep: 2)
        let otherTrain = clusters(count: 96, seed: 5)
        let error = #expect(throws: CheckpointError.self) {
            try Trainer(configuration: c, train: otherTrain, test: test).run(resume: true)
        }
        #expect(error?.description.contains("other data") == true && error?.description.contains("96 training / 12 test examples") == true)
        #expect(Trainer.dataFingerprint(train: train, test: test) == Trainer.dataFingerprint(train: clusters(count: 96, seed: 4), test: test))
    }

    /// A half-written last line of epochs.csv (power loss mid-append) is dropped on resume and the run ends
    /// with the same weights and rows as one that was never interrupted.
    @Test func halfWrittenCSVLineIsDroppedOnResume() throws {
        let c = configuration("half-line", epochs: 3)
        let reference = try Trainer(configuration: configuration("half-line-reference", epochs: 3), train: train, test: test)
        _ = try reference.run()
        let stopped = try Trainer(configuration: c, train: train, test: test)
        _ = try stopped.run(stopAfterStep: 6)
        let handle = try #require(FileHandle(forWritingAtPath: stopped.epochsPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("3".utf8))
        try handle.close()
        let resumed = try Trainer(configuration: c, train: train, test: test)
        _ = try resumed.run(resume: true)
        for (p, q) in zip(reference.model.namedParameters, resumed.model.namedParameters) { #expect(p.value == q.value) }
        let a = CSVWriter.readAppended(try String(contentsOfFile: reference.epochsPath, encoding: .utf8))
        let b = CSVWriter.readAppended(try String(contentsOfFile: resumed.epochsPath, encoding: .utf8))
        #expect(b.droppedLines == 0 && a.rows.map { $0[0] } == b.rows.map { $0[0] })
        #expect(a.rows.map { $0[3] } == b.rows.map { $0[3] })
    }

    @Test(arguments: [(TrainingConfiguration.OptimizerKind.adam, 1e6), (.sgd, 1e6)])
    func divergedRunStopsWithAnError(optimizer: TrainingConfiguration.OptimizerKind, learningRate: Double) throws {
        var c = configuration("diverged-\(optimizer.rawValue)", epochs: 5)
        c.optimizer = optimizer
        c.learningRate = learningRate
        c.dropout = 0
        let trainer = try Trainer(configuration: c, train: train, test: test)
        let error = #expect(throws: TrainingError.self) { try trainer.run() }
        guard case let .diverged(step, since, _, _, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(step - since == 2 && step < trainer.totalSteps)
        #expect(error?.description.contains("smaller learning rate") == true)
        // The checkpoint left behind (if any) holds finite weights only: it loads.
        if FileManager.default.fileExists(atPath: trainer.checkpointPath) {
            let fresh = try Trainer(configuration: c, train: train, test: test)
            try Checkpoint.read(from: trainer.checkpointPath).restore(into: fresh.model, optimizer: fresh.optimizer, path: trainer.checkpointPath)
        }
    }

    /// The guard's rule on its own: three consecutive steps with a non-finite loss or one above 1000·ln C.
    @Test func divergenceRuleNeedsConsecutiveSteps() throws {
        let c = configuration("healthy", epochs: 2)
        let trainer = try Trainer(configuration: c, train: train, test: test)
        _ = try trainer.run()   // a learning run never trips the guard
        let guardHook = DivergenceGuard(classes: 10, learningRate: 0.1)
        #expect(abs(guardHook.threshold - 1000 * log(10.0)) < 1e-9 && guardHook.patience == 3)
    }
}
