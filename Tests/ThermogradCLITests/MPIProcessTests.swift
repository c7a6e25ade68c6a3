import Foundation
import Testing

/// Launches `mpirun` on the built `thermograd` (MPI may be initialised once per process, so ranks are
/// separate processes; docs/multi-process.md#running). Ranks run with one OpenBLAS thread each.
enum MPIRun {
    /// `mpirun` on the PATH or in /usr/bin (Debian openmpi-bin; `make deps` installs it).
    static var mpirun: String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/bin"
        for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/mpirun") {
            return "\(folder)/mpirun"
        }
        return nil
    }

    /// Runs `mpirun -np ranks --oversubscribe thermograd arguments…`; returns the exit status, standard output
    /// and standard error. Killed after `timeout` seconds (status −9), so a hang fails the test instead of the suite.
    static func run(ranks: Int, _ arguments: [String], timeout: Double = 120) throws -> (status: Int32, output: String, error: String) {
        guard let mpirun, let exe = KillResumeProcessTests.executable else {
            throw MPIRunUnavailable()
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = ["-np", String(ranks), "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1", exe] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = environment
        let folder = NSTemporaryDirectory() + "thermograd-mpirun-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Files, not pipes: reading two pipes one after the other can deadlock on a full buffer.
        FileManager.default.createFile(atPath: folder + "/out", contents: nil)
        FileManager.default.createFile(atPath: folder + "/err", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/err"))
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit(); return (-9, "", "timed out after \(timeout) s") }
        p.waitUntilExit()
        let read = { (name: String) in (try? String(contentsOfFile: folder + "/" + name, encoding: .utf8)) ?? "" }
        return (p.terminationStatus, read("out"), read("err"))
    }

    /// Why a multi-rank test cannot run, or nil.
    static var unavailable: String? {
        if mpirun == nil { return "mpirun is not installed (apt-get install openmpi-bin, or make deps)" }
        if KillResumeProcessTests.executable == nil { return "the thermograd executable is not next to the test bundle" }
        return nil
    }
}

struct MPIRunUnavailable: Error {}

@Suite(.enabled(if: MPIRun.unavailable == nil, "needs mpirun and the built thermograd"))
struct MPICollectivesTests {
    /// Every collective on 2 and 3 ranks (3 on 2 cores: oversubscribed) against values each rank predicts.
    @Test(.timeLimit(.minutes(2)), arguments: [2, 3])
    func collectivesGiveTheExpectedValues(ranks: Int) throws {
        let r = try MPIRun.run(ranks: ranks, ["bench", "collectives", "--elements", "1000", "--repeats", "2"])
        #expect(r.status == 0, "\(r.error)")
        #expect(r.output.contains("\"ranks\" : \(ranks)"))
        #expect(r.output.contains("named tensors"))
    }
}
