import Foundation
import Reporting
import Testing
import _TestSupport
import Training

/// The real process, killed: `thermograd train` is started, SIGKILLed in the middle of an epoch, resumed with
/// `--resume`, and its final weights and CSVs are compared with an uninterrupted run of the same settings
/// (equal bit for bit; only the timing columns differ).
@Suite struct KillResumeProcessTests {
    /// The `thermograd` executable built next to this test bundle (`swift test` builds every product).
    static var executable: String? {
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = here.appendingPathComponent("thermograd").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static let data = "/usr/share/datasets/fashion-mnist"

    func start(_ executable: String, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = environment
        try p.run()
        return p
    }

    /// Rows of a CSV without the named columns (timings differ between runs).
    func rows(_ path: String, dropping: Set<String>) throws -> [[String]] {
        let table = CSVWriter.readAppended(try String(contentsOfFile: path, encoding: .utf8))
        let keep = table.header.indices.filter { !dropping.contains(table.header[$0]) }
        return table.rows.map { row in keep.map { row[$0] } }
    }

    @Test(.timeLimit(.minutes(5))) func killedRunResumesToTheUninterruptedResult() throws {
        guard let exe = Self.executable else {
            Issue.record("the thermograd executable is not next to the test bundle; build it (swift build -c release)")
            return
        }
        guard fashionMNISTIsInstalled(directory: Self.data) else { return }
        let root = NSTemporaryDirectory() + "thermograd-kill-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // 60 steps per epoch, 2 epochs, dropout (a generator state to restore), a checkpoint every 7 steps.
        let settings = ["train", "--hidden", "256", "256", "--dropout", "0.1", "--batch", "100", "--train-subset", "6000",
                        "--test-subset", "500", "--epochs", "2", "--log-every", "5", "--checkpoint-every", "7", "--seed", "4"]
        let whole = try start(exe, settings + ["--out", root + "/whole"])
        whole.waitUntilExit()
        #expect(whole.terminationStatus == 0)

        let killed = try start(exe, settings + ["--out", root + "/killed"])
        // Kill once the metrics show step ≥ 75 (inside epoch 2, past a checkpoint), or at 120 s at the latest.
        let deadline = Date().addingTimeInterval(120)
        var lastStep = 0
        while killed.isRunning && Date() < deadline {
            if let text = try? String(contentsOfFile: root + "/killed/metrics.csv", encoding: .utf8) {
                lastStep = CSVWriter.readAppended(text).rows.compactMap { Int($0[0]) }.max() ?? 0
                if lastStep >= 75 { break }
            }
            usleep(2_000)
        }
        guard killed.isRunning else {
            Issue.record("the run finished before it could be killed (last logged step \(lastStep)); the machine was too fast for this test")
            return
        }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(killed.terminationReason == .uncaughtSignal && killed.terminationStatus == SIGKILL)
        let interrupted = try Checkpoint.read(from: root + "/killed/checkpoint.safetensors").step
        #expect(interrupted >= 70 && interrupted < 120, "checkpoint at step \(interrupted)")

        let resumed = try start(exe, settings + ["--out", root + "/killed", "--resume"])
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)

        let a = try Checkpoint.read(from: root + "/whole/checkpoint.safetensors").file
        let b = try Checkpoint.read(from: root + "/killed/checkpoint.safetensors").file
        #expect(a.metadata["step"] == "120" && b.metadata["step"] == "120")
        #expect(Set(a.tensors.keys) == Set(b.tensors.keys))
        for (name, tensor) in a.tensors { #expect(b.tensors[name] == tensor, "tensor \(name) differs after kill and resume") }
        let timing: Set<String> = ["wall_seconds", "examples_per_second", "forward_backward_seconds"]
        #expect(try rows(root + "/whole/metrics.csv", dropping: timing) == rows(root + "/killed/metrics.csv", dropping: timing))
        #expect(try rows(root + "/whole/epochs.csv", dropping: timing) == rows(root + "/killed/epochs.csv", dropping: timing))
    }
}
