import ArgumentParser
import Foundation
import Linalg
import Reporting

/// `thermograd bench blas`: GEMM throughput in Float and Double, the practical peak that every
/// later performance goal is stated against.
struct BenchBLAS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "Measure GEMM GFLOP/s (Float and Double) on OpenBLAS: this machine's practical peak.",
        discussion: """
        For each size n, times C = A·B for n×n matrices (2n³ floating-point operations) repeatedly and \
        reports the median time and GFLOP/s. The largest median GFLOP/s per precision is reported as \
        "peak_gflops".
        """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "Matrix sizes n.")
    var sizes: [Int] = [256, 512, 1024, 2048]

    @OptionGroup var threading: ThreadsOption<OpenBLASChoosesThreads>

    @Option(name: .long, help: "Minimum measured seconds per size and precision.")
    var seconds: Double = 0.5

    @Option(name: .long, help: "Seed for the random matrices.")
    var seed: UInt64 = 1

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 && $0 <= 16384 }) else {
            throw ValidationError("--sizes must be between 1 and 16384")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    struct Row: Codable {
        var precision: String
        var n: Int
        var repeats: Int
        var medianSeconds: Double
        var madSeconds: Double
        var gflops: Double
    }

    struct Report: Codable {
        var benchmark = "blas-gemm"
        var threads: Int
        var openblas: String
        var core: String
        var results: [Row]
        var peakGflops: [String: Double]
    }

    func run() throws {
        threading.apply()
        var rng = Xoshiro256StarStar(seed: seed)
        var rows: [Row] = []
        for n in sizes {
            rows.append(Self.measure(Float.self, n: n, minimumSeconds: seconds, rng: &rng))
            rows.append(Self.measure(Double.self, n: n, minimumSeconds: seconds, rng: &rng))
        }
        var peak: [String: Double] = [:]
        for r in rows { peak[r.precision] = max(peak[r.precision] ?? 0, r.gflops) }
        try JSONReport.print(Report(threads: BLASThreads.current, openblas: BLASThreads.configuration,
                                    core: BLASThreads.coreName, results: rows, peakGflops: peak))
    }

    /// Times `C = A·B` for random `n × n` matrices (drawn from `rng`, `A` first) for at least 3 repeats and
    /// `minimumSeconds`: the median and its GFLOP/s (`2n³` flops). `bench device` measures its GEMM peak with it too.
    static func measure<S: BLASScalar>(_: S.Type, n: Int, minimumSeconds: Double, rng: inout Xoshiro256StarStar) -> Row {
        let a: Matrix<S> = rng.normalMatrix(rows: n, columns: n)
        let b: Matrix<S> = rng.normalMatrix(rows: n, columns: n)
        var c = Matrix<S>(rows: n, columns: n)
        let times = BenchmarkTiming.repeatedSeconds(minimumRepeats: 3, minimumSeconds: minimumSeconds) {
            BLAS.gemm(a, b, into: &c)
        }
        let med = BenchmarkTiming.median(times)
        return Row(precision: S.self == Float.self ? "float" : "double", n: n, repeats: times.count,
                   medianSeconds: med, madSeconds: BenchmarkTiming.medianAbsoluteDeviation(times),
                   gflops: 2 * Double(n) * Double(n) * Double(n) / med / 1e9)
    }
}
