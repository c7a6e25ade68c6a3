import ArgumentParser
import Communication
import Foundation
import Linalg
import MPICommunication
import Reporting

/// `thermograd bench collectives`: run under `mpirun -np N`, checks every collective of `MPICommunicator`
/// against values each rank can predict, then times an all-reduce of `--elements` Floats. Rank 0 prints
/// JSON; a wrong value ends the job with a message naming the check (docs/multi-process.md#measurements).
struct BenchCollectives: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectives",
        abstract: "Check MPI all-reduce, broadcast, gather and barrier, and time an all-reduce (run under mpirun).",
        discussion: """
        As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the \
        environment (docs/multi-process.md#running).

        Example:
          mpirun -np 2 thermograd bench collectives
        """
    )

    @Option(help: "Floats in the timed all-reduce.")
    var elements: Int = 1_000_000
    @Option(help: "Timed repetitions (the median is reported).")
    var repeats: Int = 20

    func validate() throws {
        guard elements >= 1, elements <= Int(Int32.max) else { throw ValidationError("--elements must be in 1…\(Int32.max), got \(elements)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    struct Report: Codable {
        var ranks: Int
        var checks: [String]
        var elements: Int
        var medianSeconds: Double
        var megabytesPerSecond: Double
    }

    func run() throws {
        let c = try MPICommunicator.world()
        defer { c.finalize() }
        let (p, r) = (c.size, c.rank)
        func require(_ ok: Bool, _ what: String) { if !ok { c.abort(message: "rank \(r) of \(p): check failed: \(what)", code: 1) } }
        // Sum and maximum of (rank + 1, −rank): Σ = p(p+1)/2 and −p(p−1)/2; max = p and 0.
        var v: [Float] = [Float(r + 1), -Float(r)]
        try c.allReduce(&v)
        require(v == [Float(p * (p + 1) / 2), -Float(p * (p - 1) / 2)], "all-reduce sum gave \(v)")
        var m: [Double] = [Double(r + 1), -Double(r)]
        try c.allReduce(&m, .max)
        require(m == [Double(p), 0], "all-reduce max gave \(m)")
        var b = Matrix<Float>(rows: 2, columns: 2, repeating: Float(r))
        try c.broadcast(&b, root: p - 1)
        require(b.storage.allSatisfy { $0 == Float(p - 1) }, "broadcast from rank \(p - 1) gave \(b.storage)")
        let g = try c.gather([Int64(r), Int64(10 * r)], root: 0)
        require(r != 0 || g == (0..<p).flatMap { [Int64($0), Int64(10 * $0)] }, "gather gave \(g)")
        let sent: Result<[String: Matrix<Double>], TensorBroadcastFailure>? = r == 0
            ? .success(["a": Matrix(rows: 1, columns: 3, storage: [1, 2, 3]), "b": Matrix(rows: 2, columns: 1, storage: [4, 5])]) : nil
        let t = try c.broadcastTensors(sent, root: 0)
        require(t["a"]?.storage == [1, 2, 3] && t["b"]?.rows == 2, "named tensors gave \(t)")
        try c.barrier()

        var x = [Float](repeating: 1, count: elements)
        var times: [Double] = []
        for _ in 0..<repeats {
            for i in x.indices { x[i] = 1 }
            try c.barrier()
            let start = ContinuousClock.now
            try c.allReduce(&x)
            let d = ContinuousClock.now - start
            times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            require(x[0] == Float(p) && x[elements - 1] == Float(p), "timed all-reduce gave \(x[0])")
        }
        let median = times.sorted()[times.count / 2]
        guard c.isRoot else { return }
        let report = Report(ranks: p, checks: ["all-reduce sum", "all-reduce max", "broadcast", "gather", "named tensors", "barrier"],
                            elements: elements, medianSeconds: median, megabytesPerSecond: Double(4 * elements) / median / 1e6)
        try JSONReport.print(report)
    }
}
