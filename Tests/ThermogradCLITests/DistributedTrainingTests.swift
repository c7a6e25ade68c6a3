import Foundation
import Linalg
import Testing
import Training

/// `mpirun -np N thermograd train --distributed` against one process on the same global batches
/// (docs/multi-process.md#data-parallel-steps): the weights and optimiser state of the checkpoints agree up to
/// Float summation order, a resume on another rank count is refused, and a failing rank ends the job.
///
/// Tolerance: the ranks add the same per-example terms as one process in another order. Each Float sum then
/// differs by a few units of 2⁻²⁴ relative to the sum of the terms' magnitudes, ~1e-6 of a gradient's scale;
/// SGD and K-FAC (damped, so the solve amplifies it by at most ~1/λ relative to the curvature scale) carry
/// that into the weights over k = 8 steps. We allow `1e-4 · max|w|` for every tensor, two orders above the
/// measured ~1e-6 and far below any real difference (one step of the learning rate, 1e-2…1e-3 · max|w|).
/// Adam divides by `√v`, which turns a rounding difference in a gradient entry that is itself at rounding
/// level into an O(η) change of that weight; its bound is on the relative Frobenius norm instead.
/// NGD-CG and TNGD (docs/multi-process.md#tngd-and-ngd-cg-on-several-ranks) solve `(F + λI) x = ∇L`: a rounding change
/// of `F v` or `∇L` moves `x` by at most `κ = λ_max/λ` times as much relatively; with λ = 0.1 and CG stopped
/// after a fixed 5 iterations (no tolerance test that could stop a rank one iteration earlier) and the
/// device's identical noise draws, the same `1e-4 · max|w|` bound holds with room.
/// Serialized: each case starts up to five processes on a shared 2-core machine; run side by side, the
/// cases starve one another past their time limits.
@Suite(.serialized, .enabled(if: MPIRun.unavailable == nil, "needs mpirun and the built thermograd"),
       .enabled(if: FileManager.default.fileExists(atPath: KillResumeProcessTests.data + "/t10k-images-idx3-ubyte.gz"),
                "needs Fashion-MNIST (make deps)"))
struct DistributedTrainingTests {
    static let settings = ["train", "--hidden", "64", "--batch", "64", "--train-subset", "512", "--test-subset", "200",
                           "--epochs", "1", "--log-every", "4", "--seed", "3"]
    /// NGD-CG with a fixed number of CG iterations (a tolerance Float cannot reach).
    static let ngdCG = ["--optimizer", "ngd-cg", "--ngd-damping", "0.1", "--ngd-cg-iterations", "5", "--ngd-cg-tolerance", "1e-30"]

    /// Every tensor of two checkpoints: (name, one-process values, N-rank values).
    func tensors(_ a: String, _ b: String) throws -> [(String, [Float], [Float])] {
        let x = try Checkpoint.read(from: a).file.tensors, y = try Checkpoint.read(from: b).file.tensors
        #expect(Set(x.keys) == Set(y.keys), "checkpoint tensors differ: \(Set(x.keys).symmetricDifference(Set(y.keys)))")
        return try x.keys.sorted().compactMap { k in
            guard let t = y[k] else { return nil }
            let (u, v): (Matrix<Float>, Matrix<Float>) = (try x[k]!.matrix(), try t.matrix())
            return (k, u.storage, v.storage)
        }
    }

    func train(_ folder: String, ranks: Int, _ extra: [String]) throws -> (status: Int32, output: String, error: String) {
        if ranks == 0 {
            // One process, started by mpirun too (same launcher, same environment) but without --distributed.
            return try MPIRun.run(ranks: 1, Self.settings + extra + ["--out", folder])
        }
        return try MPIRun.run(ranks: ranks, Self.settings + extra + ["--out", folder, "--distributed"])
    }

    @Test(.timeLimit(.minutes(4)), arguments: [
        (["--optimizer", "sgd", "--lr", "0.05"], 2, false),
        (["--optimizer", "adam"], 2, true),
        (["--optimizer", "kfac", "--kfac-inv-interval", "2", "--kfac-damping", "0.01"], 2, false),
        (["--optimizer", "kfac", "--kfac-inv-interval", "2", "--kfac-damping", "0.01", "--kfac-broadcast", "gradients"], 3, false),
        (["--optimizer", "adam"], 4, true),
        (["--optimizer", "kfac", "--kfac-inv-interval", "2", "--kfac-damping", "0.01"], 4, false),
        (Self.ngdCG, 2, false),
        (Self.ngdCG, 4, false),
        (["--optimizer", "tngd", "--tngd-damping", "0.1", "--integrator", "euler-maruyama"], 2, false),
        (["--optimizer", "tngd", "--tngd-damping", "0.1", "--integrator", "euler-maruyama"], 4, false),
        (["--optimizer", "tngd", "--tngd-damping", "0.1"], 2, false),
        (["--optimizer", "tngd-adam", "--tngd-damping", "0.1", "--lr", "0.001"], 4, true),
    ] as [([String], Int, Bool)])
    func ranksReproduceOneProcess(options: [String], ranks: Int, frobenius: Bool) throws {
        let root = NSTemporaryDirectory() + "thermograd-dp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let one = try train(root + "/one", ranks: 0, options.filter { $0 != "--kfac-broadcast" && $0 != "gradients" })
        #expect(one.status == 0, "\(one.error)")
        let many = try train(root + "/many", ranks: ranks, options)
        #expect(many.status == 0, "\(many.error)")
        guard one.status == 0, many.status == 0 else { return }
        #expect(many.output.contains("communication (rank 0)"))
        let header = try String(contentsOfFile: root + "/many/metrics.csv", encoding: .utf8).prefix { $0 != "\n" }
        #expect(header.contains("communication_bytes") && header.contains("communication_seconds"))
        var worst = (name: "", ratio: 0.0)
        for (name, a, b) in try tensors(root + "/one/checkpoint.safetensors", root + "/many/checkpoint.safetensors") {
            #expect(a.count == b.count, "\(name)")
            let scale = Double(a.map { abs($0) }.max() ?? 0)
            guard scale > 0, a.count == b.count else { continue }
            let ratio: Double
            if frobenius || name.hasPrefix("optimizer.") {
                let d = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                ratio = (d / a.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
            } else {
                ratio = Double(zip(a, b).map { abs($0 - $1) }.max() ?? 0) / scale
            }
            if ratio > worst.ratio { worst = (name, ratio) }
        }
        #expect(worst.ratio <= 1e-4, "largest relative difference \(worst.ratio) in \(worst.name) (\(options), \(ranks) ranks)")
    }

    /// TK-FAC: the simulator eigendecomposes each damped factor, and a factor of rank ≤ b in 785 dimensions
    /// has a degenerate eigenspace whose basis changes with a rounding-level change of the factor; the device
    /// draws (identical) then land on other directions, so a run with other summation order (other ranks, or
    /// even one process pinned to a core) is a different, equally valid sample of the device — not a
    /// round-off neighbour. What must hold: both placements give the same numbers (same factors, same owners,
    /// same device seeds), and every device ran as often as in one process (device call counters).
    @Test(.timeLimit(.minutes(6)), arguments: [2, 4]) func thermodynamicKFACPlacementsAgreeAndEveryDeviceRunsOnce(ranks: Int) throws {
        let root = NSTemporaryDirectory() + "thermograd-dp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let options = ["--optimizer", "tkfac", "--kfac-inv-interval", "4", "--kfac-damping", "0.1", "--samples", "256"]
        let one = try train(root + "/one", ranks: 0, options)
        let inverses = try train(root + "/inverses", ranks: ranks, options)
        let gradients = try train(root + "/gradients", ranks: ranks, options + ["--kfac-broadcast", "gradients"])
        for r in [one, inverses, gradients] { #expect(r.status == 0, "\(r.error)") }
        guard [one, inverses, gradients].allSatisfy({ $0.status == 0 }) else { return }
        for (name, a, b) in try tensors(root + "/inverses/checkpoint.safetensors", root + "/gradients/checkpoint.safetensors")
            where name.hasPrefix("model.") || name.hasPrefix("optimizer.inner.") {
            #expect(a == b, "\(name) differs between --kfac-broadcast inverses and gradients")
        }
        for (name, a, b) in try tensors(root + "/one/checkpoint.safetensors", root + "/inverses/checkpoint.safetensors")
            where name.hasSuffix(".device_calls") {
            #expect(a == b, "\(name): device calls differ from one process")
        }
    }

    @Test(.timeLimit(.minutes(3))) func resumeOnAnotherRankCountIsRefusedAndFailuresEndTheJob() throws {
        let root = NSTemporaryDirectory() + "thermograd-dp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let two = try train(root + "/run", ranks: 2, [])
        #expect(two.status == 0, "\(two.error)")
        let resumed = try train(root + "/run", ranks: 0, ["--resume", "--epochs", "2"])
        #expect(resumed.status != 0)
        #expect(resumed.error.contains("2 ranks") && resumed.error.contains("mpirun -np 2"), "\(resumed.error)")
        // Rank 0 refuses the existing run folder; the job must end (not hang) with that rank's message.
        let again = try MPIRun.run(ranks: 2, Self.settings + ["--out", root + "/run", "--distributed"], timeout: 60)
        #expect(again.status != 0 && again.status != -9, "\(again.error)")
        #expect(again.error.contains("rank 0 of 2") && again.error.contains("already holds a run"), "\(again.error)")
        // Settings a distributed run cannot honour are refused by name.
        let dropout = try MPIRun.run(ranks: 2, Self.settings + ["--out", root + "/d", "--distributed", "--dropout", "0.1"], timeout: 60)
        #expect(dropout.status != 0 && dropout.error.contains("--dropout"), "\(dropout.error)")
    }
}

/// A rank that dies (SIGKILL) ends the whole job: `mpirun` notices the lost process and stops the others,
/// which would otherwise wait forever in their next all-reduce.
@Suite(.enabled(if: MPIRun.unavailable == nil, "needs mpirun and the built thermograd"),
       .enabled(if: FileManager.default.fileExists(atPath: KillResumeProcessTests.data + "/t10k-images-idx3-ubyte.gz"),
                "needs Fashion-MNIST (make deps)"))
struct KilledRankTests {
    /// Processes whose parent is `parent` and whose environment says `OMPI_COMM_WORLD_RANK=rank`.
    static func rankProcess(parent: Int32, rank: Int) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  status.split(separator: "\n").contains(where: { $0 == "PPid:\t\(parent)" }),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    @Test(.timeLimit(.minutes(2))) func aKilledRankEndsTheJob() throws {
        guard let mpirun = MPIRun.mpirun, let exe = KillResumeProcessTests.executable else { return }
        let root = NSTemporaryDirectory() + "thermograd-kill-rank-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        // Long enough (many epochs) that the job is surely still training when rank 1 is killed.
        p.arguments = ["-np", "2", "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1", exe] + DistributedTrainingTests.settings
            + ["--epochs", "200", "--distributed", "--out", root]
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // Wait for training to be under way (metrics.csv exists), then kill rank 1.
        var victim: Int32?
        let start = Date()
        while Date().timeIntervalSince(start) < 60 && p.isRunning {
            if FileManager.default.fileExists(atPath: root + "/metrics.csv"), let pid = Self.rankProcess(parent: p.processIdentifier, rank: 1) {
                victim = pid
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let pid = try #require(victim, "rank 1 of the job was not found while it trained")
        kill(pid, SIGKILL)
        let killed = Date()
        while p.isRunning && Date().timeIntervalSince(killed) < 30 { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!p.isRunning, "the job still runs 30 s after rank 1 was killed")
        if !p.isRunning { #expect(p.terminationStatus != 0) }
    }
}
