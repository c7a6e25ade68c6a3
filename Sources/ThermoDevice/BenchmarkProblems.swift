import Foundation
import Linalg

/// Seeded test problems for the device's CLI, benchmarks and tests.
public enum BenchmarkProblems {
    /// A symmetric positive-definite `n × n` matrix with condition number exactly κ
    /// (`Xoshiro256StarStar.randomSPD`) from its own stream of `seed`.
    public static func randomSPD<S: BLASScalar>(_ n: Int, condition kappa: Double, seed: UInt64) throws(LinalgError) -> Matrix<S> {
        var rng = Xoshiro256StarStar(seed: seed, stream: 11)
        return try rng.randomSPD(n, condition: kappa)
    }

    /// A standard-normal vector of length `n`.
    public static func randomVector<S: BLASScalar>(_ n: Int, seed: UInt64) -> [S] {
        var rng = Xoshiro256StarStar(seed: seed, stream: 12)
        return (0..<n).map { _ in S(rng.nextNormal()) }
    }
}
