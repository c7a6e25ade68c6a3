import Foundation
import Linalg

/// Seeded test problems for the device's CLI, benchmarks and tests.
public enum BenchmarkProblems {
    /// A symmetric positive-definite `n × n` matrix with eigenvalues log-uniform over `[1/κ, 1]`
    /// (condition number exactly κ) in a random orthogonal basis (eigenvectors of a Wishart matrix),
    /// built in Double. The same recipe as `_TestSupport.randomSPD`, public here so the CLI can use it.
    public static func randomSPD<S: BLASScalar>(_ n: Int, condition kappa: Double, seed: UInt64) throws(LinalgError) -> Matrix<S> {
        var rng = Xoshiro256StarStar(seed: seed, stream: 11)
        let g: Matrix<Double> = rng.normalMatrix(rows: n, columns: n)
        let (_, q) = try LAPACK.symmetricEigen(BLAS.matmul(g, g, transposeB: true))
        var qd = q
        for j in 0..<n {
            let lambda = n == 1 ? 1.0 : exp(-log(kappa) * Double(j) / Double(n - 1))
            for i in 0..<n { qd[i, j] *= lambda }
        }
        var a = BLAS.matmul(qd, q, transposeB: true)
        a.symmetrizeFromLower()
        return a.converted(to: S.self)
    }

    /// A standard-normal vector of length `n`.
    public static func randomVector<S: BLASScalar>(_ n: Int, seed: UInt64) -> [S] {
        var rng = Xoshiro256StarStar(seed: seed, stream: 12)
        return (0..<n).map { _ in S(rng.nextNormal()) }
    }
}
