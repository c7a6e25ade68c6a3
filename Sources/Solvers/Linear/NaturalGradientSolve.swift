import Linalg
import NeuralNet

/// Solvers of the damped natural-gradient system `(F + λI) x = g` with `F = Jᵀ M J` the GGN
/// (docs/tngd.md#digital-baselines). All three give the same `x` up to their tolerances; they differ in cost:
/// - `exact`: dense `F`, Cholesky — `O(N³ + b d N²)` time, `O(N²)` memory.
/// - `conjugateGradient`: `F v` products only — `O(c b N)` for `c` iterations, `O(N)` memory.
/// - `woodbury`: `(λI + JᵀMJ)⁻¹ = λ⁻¹[I − Jᵀ M (λI + J Jᵀ M)⁻¹ J]` (push-through form, valid for a
///   singular `M` such as cross-entropy's) — `O(b²d²N + b³d³)` time, `O(b d N)` memory.
///   This is the consistent form of the TNGD paper's Woodbury formula (whose v1 has a typo, docs/tngd.md#the-papers-typos-and-the-forms-we-implement).
public enum NaturalGradientSolve {
    /// `(F + λI)⁻¹ g` by Cholesky of the dense damped `F`.
    public static func exact<S: BLASScalar>(curvature f: Matrix<S>, gradient g: [S], damping lambda: S) throws(LinearSolverError) -> [S] {
        var damped = f
        damped.addDiagonal(lambda)
        do { return try LAPACK.cholesky(damped).solve(g) } catch { throw .linearAlgebra(error) }
    }

    /// `(λI + JᵀMJ)⁻¹ g` by the Woodbury identity (`mj` = `M J` from `GeneralizedGaussNewton.weightedRows`).
    public static func woodbury<S: BLASScalar>(jacobian j: Matrix<S>, weightedJacobian mj: Matrix<S>, gradient g: [S],
                                               damping lambda: S) throws(LinearSolverError) -> [S] {
        // Small system: (λI + J Jᵀ M) z = J g, with J Jᵀ M = J (M J)ᵀ since M is symmetric.
        var small = BLAS.matmul(j, mj, transposeB: true)
        small.addDiagonal(lambda)
        let jg = BLAS.matvec(j, g)
        let z: [S]
        do { z = try LAPACK.solve(small, jg) } catch { throw .linearAlgebra(error) }
        // x = (g − Jᵀ M z) / λ = (g − (M J)ᵀ z) / λ.
        var x = g
        BLAS.gemv(mj, transpose: true, z, alpha: -1, beta: 1, into: &x)
        BLAS.scal(1 / lambda, &x)
        return x
    }

    /// Result of a conjugate-gradient solve.
    public struct ConjugateGradientResult<S: BLASScalar> {
        public var solution: [S]
        public var iterations: Int
        /// `‖(F + λI)x − g‖ / ‖g‖` at exit.
        public var relativeResidual: S
    }

    /// Conjugate gradient on `(F + λI) x = g` with `apply(v) = F v` (undamped; `λ v` is added here).
    public static func conjugateGradient<S: BLASScalar, E: Error>(gradient g: [S], damping lambda: S, initial: [S]? = nil,
                                                                  tolerance: S, maxIterations: Int,
                                                                  apply: ([S]) throws(E) -> [S]) throws(E)
        -> ConjugateGradientResult<S> {
        try conjugateGradient(rhs: g, initial: initial, tolerance: tolerance, maxIterations: maxIterations) { (v: [S]) throws(E) -> [S] in
            var out = try apply(v)
            BLAS.axpy(lambda, v, &out)
            return out
        }
    }

    /// Conjugate gradient on `A x = b` for a symmetric positive definite `A` given by `apply(v) = A v`
    /// (Hestenes & Stiefel), from `initial` (warm start) or 0, until `‖r‖ ≤ tolerance ‖b‖` or `maxIterations`.
    /// In exact arithmetic it converges in at most `N` iterations; the error falls like `((√κ − 1)/(√κ + 1))^k`.
    public static func conjugateGradient<S: BLASScalar, E: Error>(rhs g: [S], initial: [S]? = nil, tolerance: S, maxIterations: Int,
                                                                  apply damped: ([S]) throws(E) -> [S]) throws(E)
        -> ConjugateGradientResult<S> {
        let gNorm = Swift.max(BLAS.norm(g), S.leastNormalMagnitude)
        var x = initial ?? [S](repeating: 0, count: g.count)
        var r = g
        if initial != nil { BLAS.axpy(-1, try damped(x), &r) }
        var p = r
        var rr = BLAS.dot(r, r)
        var k = 0
        while k < maxIterations && rr.squareRoot() > tolerance * gNorm {
            let ap = try damped(p)
            let alpha = rr / BLAS.dot(p, ap)
            BLAS.axpy(alpha, p, &x)
            BLAS.axpy(-alpha, ap, &r)
            let rrNew = BLAS.dot(r, r)
            let beta = rrNew / rr
            for i in p.indices { p[i] = r[i] + beta * p[i] }
            rr = rrNew
            k += 1
        }
        return ConjugateGradientResult(solution: x, iterations: k, relativeResidual: rr.squareRoot() / gNorm)
    }
}
