import Linalg
import Testing
import _TestSupport

/// Factorisations and solves: backward-error residuals below 1e-10 (Double) / 1e-4 (Float)
/// relative, on well-conditioned random matrices (condition 100) of several sizes including 1×1;
/// failures come back as typed errors.
@Suite("LAPACK wrappers")
struct LAPACKTests {
    static let sizes = [1, 2, 5, 31, 100]

    func tolerance<S: BLASScalar>(_: S.Type) -> S { S.self == Double.self ? 1e-10 : 1e-4 }

    func checkCholesky<S: BLASScalar>(_: S.Type, seed: UInt64) throws {
        var rng = Xoshiro256StarStar(seed: seed)
        for n in Self.sizes {
            let a: Matrix<S> = try rng.randomSPD(n, condition: 100)
            let factor = try LAPACK.cholesky(a)
            let l = factor.lower
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { #expect(l[i, j] == 0) } }
            #expect(relativeError(BLAS.matmul(l, l, transposeB: true), a) < tolerance(S.self), "L Lᵀ = A, n=\(n)")

            let b: Matrix<S> = rng.normalMatrix(rows: n, columns: 3)
            let x = try factor.solve(b)
            #expect(relativeError(BLAS.matmul(a, x), b) < tolerance(S.self), "potrs residual, n=\(n)")
            let x1 = try factor.solve(b.column(0))
            #expect(relativeError(BLAS.matvec(a, x1), b.column(0)) < tolerance(S.self))

            let inv = try LAPACK.inverseSPD(a)
            #expect(inv.isSymmetric())
            #expect(relativeError(BLAS.matmul(a, inv), Matrix<S>.identity(n)) < tolerance(S.self), "potri, n=\(n)")
        }
    }

    @Test func choleskySolvesAndInverts() throws {
        try checkCholesky(Float.self, seed: 10)
        try checkCholesky(Double.self, seed: 11)
    }

    func checkEigen<S: BLASScalar>(_: S.Type, seed: UInt64) throws {
        var rng = Xoshiro256StarStar(seed: seed)
        for n in Self.sizes {
            let g: Matrix<S> = rng.normalMatrix(rows: n, columns: n)
            var a = g + g.transposed() // symmetric, indefinite
            a.symmetrizeFromLower()
            let (values, q) = try LAPACK.symmetricEigen(a)
            #expect(values == values.sorted(), "ascending eigenvalues")
            #expect(relativeError(BLAS.matmul(q, transposeA: true, q), Matrix<S>.identity(n)) < tolerance(S.self))
            var qLambda = q
            for i in 0..<n { for j in 0..<n { qLambda[i, j] *= values[j] } }
            #expect(relativeError(BLAS.matmul(a, q), qLambda) < tolerance(S.self), "A Q = Q Λ, n=\(n)")
        }
    }

    @Test func symmetricEigendecomposition() throws {
        try checkEigen(Float.self, seed: 12)
        try checkEigen(Double.self, seed: 13)
    }

    func checkSolve<S: BLASScalar>(_: S.Type, seed: UInt64) throws {
        var rng = Xoshiro256StarStar(seed: seed)
        for n in Self.sizes {
            var a: Matrix<S> = rng.normalMatrix(rows: n, columns: n)
            a.addDiagonal(S(2 * n.squareRootApprox)) // keeps the random matrix well conditioned
            let b: Matrix<S> = rng.normalMatrix(rows: n, columns: 4)
            let x = try LAPACK.solve(a, b)
            #expect(relativeError(BLAS.matmul(a, x), b) < tolerance(S.self), "gesv residual, n=\(n)")
            let v = try LAPACK.solve(a, b.column(1))
            #expect(relativeError(BLAS.matvec(a, v), b.column(1)) < tolerance(S.self))
        }
    }

    @Test func generalSolve() throws {
        try checkSolve(Float.self, seed: 14)
        try checkSolve(Double.self, seed: 15)
    }

    @Test func notPositiveDefiniteIsATypedError() throws {
        // Leading 2×2 minor is 1·1 − 2·2 < 0: potrf stops at minor 2.
        let a = Matrix<Double>([[1, 2, 0], [2, 1, 0], [0, 0, 1]])
        #expect(throws: LinalgError.notPositiveDefinite(routine: "dpotrf", leadingMinor: 2)) {
            try LAPACK.cholesky(a)
        }
        var big = Matrix<Float>.identity(9)
        big[6, 6] = -1
        do {
            _ = try LAPACK.inverseSPD(big)
            Issue.record("expected an error")
        } catch {
            #expect(error == .notPositiveDefinite(routine: "spotrf", leadingMinor: 7))
            #expect(error.description.contains("not positive definite at leading minor 7"))
        }
    }

    @Test func singularNonFiniteAndMisshapenInputsAreTypedErrors() {
        let singular = Matrix<Double>([[1, 2], [2, 4]])
        #expect(throws: LinalgError.singular(routine: "dgesv", pivot: 2)) { try LAPACK.solve(singular, [1, 1]) }
        #expect(throws: LinalgError.nonFinite(operation: "dpotrf")) {
            try LAPACK.cholesky(Matrix<Double>([[1, .nan], [.nan, 1]]))
        }
        #expect(throws: LinalgError.nonFinite(operation: "ssyevd")) {
            try LAPACK.symmetricEigen(Matrix<Float>([[.infinity]]))
        }
        #expect(throws: LinalgError.self) { try LAPACK.cholesky(Matrix<Double>(rows: 2, columns: 3)) }
        #expect(throws: LinalgError.self) { try LAPACK.solve(Matrix<Double>.identity(2), Matrix<Double>(rows: 3, columns: 1)) }
    }
}

private extension Int {
    var squareRootApprox: Double { Double(self).squareRoot() }
}
