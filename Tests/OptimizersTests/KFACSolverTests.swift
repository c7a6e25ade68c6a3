import Curvature
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import _TestSupport

/// The factor solvers against a dense solve of `((G + λ_G I) ⊗ (A + λ_A I)) vec(U) = vec(∇)` (row-major
/// vec, so `(G ⊗ A) vec(U) = vec(G U A)`), the damping rules, and the Cholesky failure path.
@Suite("K-FAC factor solvers")
struct KFACSolverTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let kind: FactorSolverKind
        let piCorrection: Bool
        /// Activation factor of rank < size (a PSD Gram matrix of fewer samples than features).
        let rankDeficient: Bool
        var testDescription: String { "\(kind), π \(piCorrection), rank-deficient A \(rankDeficient)" }
    }
    static let cases = FactorSolverKind.allCases.flatMap { k in
        [false, true].flatMap { pi in [false, true].map { Case(kind: k, piCorrection: pi, rankDeficient: $0) } }
    }

    static func factors(rankDeficient: Bool, seed: UInt64) throws -> KroneckerFactors<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        let a: Matrix<Double>
        if rankDeficient {
            let x: Matrix<Double> = rng.normalMatrix(rows: 2, columns: 5)
            a = BLAS.matmul(x, transposeA: true, x)
        } else {
            a = 3 * (try rng.randomSPD(5, condition: 50) as Matrix<Double>)
        }
        let g: Matrix<Double> = 0.01 * (try rng.randomSPD(3, condition: 20) as Matrix<Double>)
        return KroneckerFactors(activation: a, gradient: g)
    }

    /// `vec(U) = ((G + λ_G I) ⊗ (A + λ_A I))⁻¹ vec(∇)` by LU on the dense Kronecker product.
    static func denseSolve(_ f: KroneckerFactors<Double>, _ d: FactorDamping<Double>, _ gradient: Matrix<Double>) throws -> Matrix<Double> {
        var a = f.activation, g = f.gradient
        a.addDiagonal(d.activation)
        g.addDiagonal(d.gradient)
        let dense = KroneckerFactors(activation: a, gradient: g).denseBlock()
        let x = try LAPACK.solve(dense, gradient.storage)
        return Matrix(rows: gradient.rows, columns: gradient.columns, storage: x)
    }

    @Test("U equals the dense Kronecker solve", arguments: cases)
    func preconditionMatchesDenseSolve(_ c: Case) throws {
        let f = try Self.factors(rankDeficient: c.rankDeficient, seed: 3)
        let lambda = 1e-2
        let d = c.piCorrection ? FactorDamping.piCorrected(f, damping: lambda) : .uniform(lambda)
        var rng = Xoshiro256StarStar(seed: 4)
        let gradient: Matrix<Double> = rng.normalMatrix(rows: 3, columns: 5)
        let solver: any FactorSolver<Double> = c.kind.makeSolver()
        try solver.refresh(layer: "layers.0", factors: f, damping: d)
        let u = try solver.precondition(layer: "layers.0", gradient: gradient)
        #expect(relativeError(u, try Self.denseSolve(f, d, gradient)) < 1e-10)
        #expect(solver.metrics.refreshes == 1)
        #expect(solver.metrics.choleskyRetries == 0)
    }

    @Test("π-correction: λ_A λ_G = λ, and moving a scale c from G to A leaves U unchanged")
    func piCorrection() throws {
        let f = try Self.factors(rankDeficient: false, seed: 5)
        let d = FactorDamping.piCorrected(f, damping: 1e-3)
        #expect(abs(d.activation * d.gradient - 1e-3) < 1e-15)
        let pi = ((f.activation.trace / 5) / (f.gradient.trace / 3)).squareRoot()
        #expect(abs(d.activation - pi * 1e-3.squareRoot()) < 1e-15)
        let scaled = KroneckerFactors(activation: 7 * f.activation, gradient: (1.0 / 7) * f.gradient)
        var rng = Xoshiro256StarStar(seed: 6)
        let gradient: Matrix<Double> = rng.normalMatrix(rows: 3, columns: 5)
        let s1 = CholeskyFactorSolver<Double>(), s2 = CholeskyFactorSolver<Double>()
        try s1.refresh(layer: "l", factors: f, damping: d)
        try s2.refresh(layer: "l", factors: scaled, damping: .piCorrected(scaled, damping: 1e-3))
        #expect(relativeError(try s1.precondition(layer: "l", gradient: gradient),
                              try s2.precondition(layer: "l", gradient: gradient)) < 1e-12)
    }

    @Test("a failed Cholesky retries with 10× damping and reports the retries")
    func choleskyRetries() throws {
        // diag(1, −0.5, 2) + λI is indefinite for λ = 1e-3, 1e-2, 1e-1 and positive definite for λ = 1.
        let m = Matrix<Double>.diagonal([1, -0.5, 2])
        let r = try DampedFactorInverse.cholesky(m, damping: 1e-3, retry: CholeskyRetryPolicy(maxRetries: 4))
        #expect(r.retries == 3 && !r.usedDouble)
        #expect(relativeError(r.inverse, .diagonal([0.5, 2, 1.0 / 3])) < 1e-14)

        let solver = CholeskyFactorSolver<Double>(retry: CholeskyRetryPolicy(maxRetries: 4))
        let f = KroneckerFactors(activation: m, gradient: .identity(2))
        try solver.refresh(layer: "layers.0", factors: f, damping: FactorDamping(activation: 1e-3, gradient: 1e-3))
        #expect(solver.metrics.choleskyRetries == 3)

        let strict = CholeskyFactorSolver<Double>(retry: CholeskyRetryPolicy(maxRetries: 1))
        #expect(throws: KFACError.self) {
            try strict.refresh(layer: "layers.0", factors: f, damping: FactorDamping(activation: 1e-3, gradient: 1e-3))
        }
        do {
            try strict.refresh(layer: "layers.0", factors: f, damping: FactorDamping(activation: 1e-3, gradient: 1e-3))
        } catch {
            #expect(error.description.contains("could not be inverted") && error.description.contains("damping"))
        }
    }

    @Test("a Float factor that fails in Float is inverted in Double and reported")
    func doublePrecisionFallback() throws {
        // v vᵀ with v = (1, 2, 3, 4) is exact in Float and singular: the second pivot is exactly 0. λ = 1e-9
        // vanishes in Float (1 + 1e-9 = 1), so every Float attempt fails. With no retries in Float, the
        // Double attempt (at the grown damping 7.5e-7, which Double resolves) succeeds.
        let v: [Float] = [1, 2, 3, 4]
        var m = Matrix<Float>(rows: 4, columns: 4)
        for i in 0..<4 { for j in 0..<4 { m[i, j] = v[i] * v[j] } }
        let policy = CholeskyRetryPolicy(maxRetries: 0)
        let r = try DampedFactorInverse.cholesky(m, damping: 1e-9, retry: policy)
        #expect(r.usedDouble)
        #expect(r.inverse.isFinite)
        let solver = CholeskyFactorSolver<Float>(retry: policy)
        try solver.refresh(layer: "l", factors: KroneckerFactors(activation: m, gradient: .identity(1)),
                           damping: FactorDamping(activation: 1e-9, gradient: 1))
        #expect(solver.metrics.doublePrecisionFallbacks == 1)
        let noFallback = CholeskyFactorSolver<Float>(retry: CholeskyRetryPolicy(maxRetries: 0, doublePrecisionFallback: false))
        #expect(throws: KFACError.self) {
            try noFallback.refresh(layer: "l", factors: KroneckerFactors(activation: m, gradient: .identity(1)),
                                   damping: FactorDamping(activation: 1e-9, gradient: 1))
        }
    }

    @Test("preconditioning an unknown layer is a typed error that says what to do")
    func unknownLayer() {
        let solver = EigenFactorSolver<Double>()
        #expect(throws: KFACError.layerNotRefreshed(layer: "layers.4", solver: "eigen")) {
            try solver.precondition(layer: "layers.4", gradient: Matrix(rows: 1, columns: 1))
        }
    }

    @Test("solver state round-trips through exportState/importState", arguments: FactorSolverKind.allCases)
    func stateRoundTrip(_ kind: FactorSolverKind) throws {
        let f = try Self.factors(rankDeficient: false, seed: 8)
        let a: any FactorSolver<Double> = kind.makeSolver(), b: any FactorSolver<Double> = kind.makeSolver()
        try a.refresh(layer: "layers.2", factors: f, damping: .uniform(1e-2))
        try b.importState(a.exportState())
        var rng = Xoshiro256StarStar(seed: 9)
        let gradient: Matrix<Double> = rng.normalMatrix(rows: 3, columns: 5)
        #expect(try a.precondition(layer: "layers.2", gradient: gradient) == b.precondition(layer: "layers.2", gradient: gradient))
    }
}
