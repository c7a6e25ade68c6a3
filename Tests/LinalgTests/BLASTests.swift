import Linalg
import Testing
import _TestSupport

/// Every BLAS wrapper against naive loops, on random shapes including 1×1 and non-square, in Float
/// and Double. Tolerance: a dot product of length k in precision ε has relative error ≲ k·ε; we allow
/// 8·max(k,1)·ε relative to the product of the operands' norms.
@Suite("BLAS wrappers")
struct BLASTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (3, 4, 1), (17, 9, 23), (64, 33, 48)]

    func checkGemm<S: BLASScalar>(_: S.Type, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed)
        for (m, n, k) in Self.shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a: Matrix<S> = ta ? rng.normalMatrix(rows: k, columns: m) : rng.normalMatrix(rows: m, columns: k)
                let b: Matrix<S> = tb ? rng.normalMatrix(rows: n, columns: k) : rng.normalMatrix(rows: k, columns: n)
                var c: Matrix<S> = rng.normalMatrix(rows: m, columns: n)
                let c0 = c
                let alpha: S = 0.75, beta: S = -0.5
                BLAS.gemm(a, transposeA: ta, b, transposeB: tb, alpha: alpha, beta: beta, into: &c)
                var expected = naiveProduct(a, transposeA: ta, b, transposeB: tb)
                expected.scale(by: alpha)
                expected.axpy(beta, c0)
                let tol = S(8 * max(k, 1)) * S.ulpOfOne * (a.frobeniusNorm * b.frobeniusNorm + c0.frobeniusNorm)
                #expect((c - expected).frobeniusNorm <= tol, "gemm \(m)×\(n)×\(k) tA=\(ta) tB=\(tb) \(S.self)")
            }
        }
    }

    @Test func gemmMatchesNaiveLoops() {
        checkGemm(Float.self, seed: 1)
        checkGemm(Double.self, seed: 2)
    }

    func checkGemvSyrk<S: BLASScalar>(_: S.Type, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed)
        for (m, n, _) in Self.shapes {
            let a: Matrix<S> = rng.normalMatrix(rows: m, columns: n)
            for transpose in [false, true] {
                let x: Matrix<S> = rng.normalMatrix(rows: transpose ? m : n, columns: 1)
                var y: Matrix<S> = rng.normalMatrix(rows: transpose ? n : m, columns: 1)
                let y0 = y
                var ys = y.storage
                BLAS.gemv(a, transpose: transpose, x.storage, alpha: 2, beta: 0.5, into: &ys)
                y = naiveProduct(a, transposeA: transpose, x)
                y.scale(by: 2)
                y.axpy(0.5, y0)
                let tol = S(8 * max(m, n)) * S.ulpOfOne * (a.frobeniusNorm * x.frobeniusNorm + y0.frobeniusNorm)
                #expect((Matrix(column: ys) - y).frobeniusNorm <= tol, "gemv \(m)×\(n) t=\(transpose) \(S.self)")

                let p = transpose ? n : m
                var c: Matrix<S> = Matrix(rows: p, columns: p, repeating: 1)
                BLAS.syrk(a, transpose: transpose, alpha: 1.5, beta: 2, into: &c)
                var expected = naiveProduct(a, transposeA: transpose, a, transposeB: !transpose)
                expected.scale(by: 1.5)
                expected.axpy(2, Matrix(rows: p, columns: p, repeating: 1))
                let tolS = S(8 * max(m, n)) * S.ulpOfOne * (a.frobeniusNorm * a.frobeniusNorm + S(2 * p))
                #expect((c - expected).frobeniusNorm <= tolS, "syrk \(m)×\(n) t=\(transpose) \(S.self)")
                #expect(c.isSymmetric(), "syrk result is fully symmetric")
            }
        }
    }

    @Test func gemvAndSyrkMatchNaiveLoops() {
        checkGemvSyrk(Float.self, seed: 3)
        checkGemvSyrk(Double.self, seed: 4)
    }

    func checkLevel1<S: BLASScalar>(_: S.Type, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed)
        for n in [1, 2, 7, 100] {
            let x: [S] = rng.normalMatrix(rows: n, columns: 1).storage
            var y: [S] = rng.normalMatrix(rows: n, columns: 1).storage
            let y0 = y
            BLAS.axpy(-1.25, x, &y)
            for i in 0..<n { #expect(abs(y[i] - (y0[i] - 1.25 * x[i])) <= 4 * S.ulpOfOne * (abs(y0[i]) + 2 * abs(x[i]))) }
            var z = x
            BLAS.scal(3, &z)
            for i in 0..<n { #expect(z[i] == 3 * x[i]) }
            let naiveDot = zip(x, y0).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let naiveNorm2 = x.reduce(0.0) { $0 + Double($1) * Double($1) }
            let scale = Double(BLAS.norm(x)) * Double(BLAS.norm(y0))
            #expect(abs(Double(BLAS.dot(x, y0)) - naiveDot) <= Double(4 * n) * Double(S.ulpOfOne) * scale)
            #expect(abs(Double(BLAS.norm(x)) - naiveNorm2.squareRoot()) <= Double(4 * n) * Double(S.ulpOfOne) * naiveNorm2.squareRoot())
        }
    }

    @Test func level1MatchesNaiveLoops() {
        checkLevel1(Float.self, seed: 5)
        checkLevel1(Double.self, seed: 6)
    }

    @Test func matrixOperatorsAndViews() {
        let a = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
        #expect(a.transposed() == Matrix([[1, 4], [2, 5], [3, 6]]))
        #expect(a.row(1) == [4, 5, 6])
        #expect(a.column(2) == [3, 6])
        #expect(a * a.transposed() == Matrix([[14, 32], [32, 77]]))
        #expect(a + a == 2 * a)
        #expect((a - a).maxAbs == 0)
        var s = Matrix<Double>([[1, 0], [5, 2]])
        s.symmetrizeFromLower()
        #expect(s == Matrix([[1, 5], [5, 2]]))
        #expect(s.trace == 3)
        s.addDiagonal(1)
        #expect(s.diagonalElements == [2, 3])
        #expect(Matrix<Float>.identity(3).trace == 3)
        #expect(!Matrix<Double>([[1, .nan]]).isFinite)
        #expect(a.converted(to: Float.self).converted(to: Double.self) == a)
    }
}
