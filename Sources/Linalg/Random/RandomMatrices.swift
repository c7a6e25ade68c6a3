import RealModule

extension Xoshiro256StarStar {
    /// A random symmetric positive-definite `n × n` matrix with eigenvalues log-uniform over
    /// `[1/condition, 1]` (so its condition number is exactly `condition`) in a random orthogonal basis
    /// (the eigenvectors of a Wishart matrix `G Gᵀ`), built in Double: the test problem of the device
    /// CLI, its benchmarks and the test suites.
    public mutating func randomSPD<S: BLASScalar>(_ n: Int, condition: Double) throws(LinalgError) -> Matrix<S> {
        let g: Matrix<Double> = normalMatrix(rows: n, columns: n)
        let (_, q) = try LAPACK.symmetricEigen(BLAS.matmul(g, g, transposeB: true))
        var qd = q
        for j in 0..<n {
            let lambda = n == 1 ? 1.0 : Double.exp(-Double.log(condition) * Double(j) / Double(n - 1))
            for i in 0..<n { qd[i, j] *= lambda }
        }
        var a = BLAS.matmul(qd, q, transposeB: true)
        a.symmetrizeFromLower()
        return a.converted(to: S.self)
    }
}
