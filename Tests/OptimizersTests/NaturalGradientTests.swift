import Curvature
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import _TestSupport

/// Natural gradient on the GGN: forward-mode tangents against finite differences, GGN-vector products
/// against the dense GGN, and exact / CG / Woodbury against an independent dense solve (docs/tngd.md#digital-baselines).
@Suite("Natural gradient")
struct NaturalGradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let activation: TestActivation
        let loss: TestLoss
        let examples: Int
        var testDescription: String { "\(activation), \(loss), b = \(examples)" }
    }
    static let cases = [Case(activation: .tanh, loss: .crossEntropy, examples: 3), Case(activation: .relu, loss: .mse, examples: 4),
                        Case(activation: .none, loss: .mse, examples: 2)]

    /// An independent dense `F = (1/b) Σₙ Jₙᵀ Hₙ Jₙ` by explicit loops over the Jacobian.
    static func loopGGN(_ j: Matrix<Double>, _ h: OutputCurvature<Double>) -> Matrix<Double> {
        let (b, d, n) = (h.examples, h.outputDimension, j.columns)
        var f = Matrix<Double>(rows: n, columns: n)
        for e in 0..<b {
            let he = h.hessian(example: e)
            for k in 0..<d { for l in 0..<d where he[k, l] != 0 {
                let w = he[k, l] / Double(b)
                for p in 0..<n { let jp = j[e * d + k, p] * w; for q in 0..<n { f[p, q] += jp * j[e * d + l, q] } }
            } }
        }
        return f
    }

    @Test("forward-mode tangent J v equals central differences of the outputs", arguments: cases)
    func jvpMatchesFiniteDifferences(_ c: Case) throws {
        let model = makeNetwork([3, 4, 3], activation: c.activation, seed: 1)
        var rng = Xoshiro256StarStar(seed: 2)
        let x: Matrix<Double> = rng.normalMatrix(rows: c.examples, columns: 3)
        let n = model.parameterCount
        var v = [Double](repeating: 0, count: n)
        rng.fillNormal(&v)
        let tangent = v.withUnsafeBufferPointer { try! LinearizedModel(model, input: x).jvp($0.baseAddress!) }
        let fd = centralDifferenceTangent(model, input: x, along: v, step: 1e-6)
        // ReLU kinks are measure-zero for Gaussian data; central differences are O(h²) ≈ 1e-12 accurate.
        #expect(relativeError(tangent, fd) < 1e-7)
    }

    @Test("GGN-vector products equal the dense GGN times v", arguments: cases)
    func ggnVectorProduct(_ c: Case) throws {
        let model = makeNetwork([3, 4, 3], activation: c.activation, seed: 3)
        let data = TestBatch(model: model, loss: c.loss, examples: c.examples, seed: 4)
        let f = Self.loopGGN(ModelJacobian.dense(model, input: data.input), data.curvature)
        #expect(relativeError(GeneralizedGaussNewton.dense(model, input: data.input, curvature: data.curvature), f) < 1e-12)
        var rng = Xoshiro256StarStar(seed: 5)
        var v = [Double](repeating: 0, count: f.rows)
        rng.fillNormal(&v)
        let fv = try GeneralizedGaussNewton.product(model, input: data.input, curvature: data.curvature, v)
        #expect(relativeError(fv, BLAS.matvec(f, v)) < 1e-12)
    }

    @Test("exact NGD, NGD-CG and NGD-Woodbury equal a dense LU solve of (F + λI) x = ∇L", arguments: cases)
    func solversAgree(_ c: Case) throws {
        let model = makeNetwork([3, 4, 3], activation: c.activation, seed: 6)
        let data = TestBatch(model: model, loss: c.loss, examples: c.examples, seed: 7)
        let g = ModelJacobian.flattenedGradients(model)
        let lambda = 1e-3
        let j = ModelJacobian.dense(model, input: data.input)
        var damped = Self.loopGGN(j, data.curvature)
        damped.addDiagonal(lambda)
        let reference = try LAPACK.solve(damped, g)

        let exact = try NaturalGradientSolve.exact(curvature: GeneralizedGaussNewton.dense(model, input: data.input, curvature: data.curvature),
                                                   gradient: g, damping: lambda)
        #expect(relativeError(exact, reference) < 1e-9)
        let woodbury = try NaturalGradientSolve.woodbury(jacobian: j, weightedJacobian: GeneralizedGaussNewton.weightedRows(j, data.curvature),
                                                         gradient: g, damping: lambda)
        #expect(relativeError(woodbury, reference) < 1e-9)
        // CG: the system is N = 31 dimensional, so N iterations suffice in exact arithmetic; with
        // κ ≈ ‖F‖/λ ~ 1e3 rounding needs a few more. Tolerance 1e-12 on the residual.
        let cg = try NaturalGradientSolve.conjugateGradient(gradient: g, damping: lambda, tolerance: 1e-12, maxIterations: 500) {
            (v: [Double]) throws(CurvatureError) -> [Double] in
            try GeneralizedGaussNewton.product(model, input: data.input, curvature: data.curvature, v)
        }
        #expect(cg.relativeResidual <= 1e-12)
        #expect(relativeError(cg.solution, reference) < 1e-7, "after \(cg.iterations) iterations")
        // Convergence: F has rank ≤ b·d, so F + λI has at most b·d + 1 distinct eigenvalues and CG is exact
        // after b·d + 1 iterations (a couple more for rounding); before that the error decreases.
        var errors: [Double] = []
        let rankBound = c.examples * model.outputFeatures + 1
        for k in [1, 3, rankBound + 2] {
            let r = try NaturalGradientSolve.conjugateGradient(gradient: g, damping: lambda, tolerance: 1e-14, maxIterations: k) {
                (v: [Double]) throws(CurvatureError) -> [Double] in
                try GeneralizedGaussNewton.product(model, input: data.input, curvature: data.curvature, v)
            }
            errors.append(relativeError(r.solution, reference))
        }
        #expect(errors[0] > errors[1] && errors[2] < 1e-7, "\(errors)")
        let warm = try NaturalGradientSolve.conjugateGradient(gradient: g, damping: lambda, initial: reference, tolerance: 1e-8, maxIterations: 50) {
            (v: [Double]) throws(CurvatureError) -> [Double] in
            try GeneralizedGaussNewton.product(model, input: data.input, curvature: data.curvature, v)
        }
        #expect(warm.iterations == 0)
    }

    @Test("the NGD optimiser with SGD(η) moves θ by −η (F + λI)⁻¹ ∇L", arguments: NaturalGradientConfiguration.Method.allCases)
    func optimiserStep(_ method: NaturalGradientConfiguration.Method) throws {
        let model = makeNetwork([3, 4, 3], activation: .tanh, seed: 8)
        let data = TestBatch(model: model, loss: .crossEntropy, examples: 3, seed: 9)
        let reference = try Self.denseNaturalGradient(model, data, damping: 1e-2)
        let step = try Self.stepDirection(model, data, method: method, damping: 1e-2, cgMaxIterations: 200, learningRate: 0.5)
        #expect(relativeError(step.direction, reference) < 1e-8)
    }

    /// One step of the NGD optimiser with inner SGD(η) and CG tolerance 1e-12 on `data`'s batch (whose backward pass
    /// left the gradients): the direction it took, `(θ_before − θ_after) / η`, to compare with `denseNaturalGradient`,
    /// and the optimiser. The step must be applied.
    static func stepDirection(_ model: Sequential<Double>, _ data: TestBatch, method: NaturalGradientConfiguration.Method = NaturalGradientConfiguration().method,
                              damping: Double, cgMaxIterations: Int, learningRate eta: Double)
        throws -> (direction: [Double], optimizer: NaturalGradientDescent<Double>) {
        let before = model.namedParameters.flatMap { $0.value.storage }
        var config = NaturalGradientConfiguration()
        config.method = method
        config.damping = damping
        config.cgTolerance = 1e-12
        config.cgMaxIterations = cgMaxIterations
        let ngd = try NaturalGradientDescent(inner: try SGD<Double>(schedule: .constant(eta)), configuration: config)
        ngd.observeCurvature(data.batch)
        #expect(ngd.update(model.namedParameters) == .applied)
        return (zip(model.namedParameters.flatMap { $0.value.storage }, before).map { ($1 - $0) / eta }, ngd)
    }

    /// `(F + λI)⁻¹ ∇L` on `data` by a dense solve of the loop-built GGN, with the parameter gradients left as the
    /// batch's backward pass left them (`ModelJacobian.dense` re-runs the model and overwrites them).
    static func denseNaturalGradient(_ model: Sequential<Double>, _ data: TestBatch, damping: Double) throws -> [Double] {
        let g = ModelJacobian.flattenedGradients(model)
        var damped = loopGGN(ModelJacobian.dense(model, input: data.input), data.curvature)
        damped.addDiagonal(damping)
        let reference = try LAPACK.solve(damped, g)
        var o = 0
        for p in model.namedParameters {
            p.gradient = Matrix(rows: p.value.rows, columns: p.value.columns, storage: Array(g[o..<(o + p.count)]))
            o += p.count
        }
        return reference
    }

    /// A layer no curvature code knows (`y = 2x`), to reach the unsupported-layer path.
    final class Doubling: Module {
        typealias Scalar = Double
        var summary: String { "Doubling" }
        func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }
        func forward(_ x: Matrix<Double>, context: ForwardContext) -> Matrix<Double> { var y = x; y.scale(by: 2); return y }
        func backward(_ g: Matrix<Double>, options: BackwardOptions) -> Matrix<Double> {
            guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
            var d = g
            d.scale(by: 2)
            return d
        }
    }

    @Test("a failed NGD-CG solve makes update return .failed with the typed error; nothing moves, no silent plain step")
    func failedSolveIsNotAFallback() throws {
        var rng = Xoshiro256StarStar(seed: 21)
        let model = Sequential<Double>(inputFeatures: 3, [Linear<Double>(3, 4, rng: &rng), Doubling(), Linear<Double>(4, 3, rng: &rng)])
        let data = TestBatch(model: model, loss: .crossEntropy, examples: 3, seed: 22)
        let before = model.namedParameters.flatMap { $0.value.storage }
        let gradient = model.namedParameters.flatMap { $0.gradient.storage }
        let ngd = try NaturalGradientDescent(inner: try SGD<Double>(schedule: .constant(0.5)), configuration: NaturalGradientConfiguration())
        ngd.observeCurvature(data.batch)
        let outcome = ngd.update(model.namedParameters)
        guard case let .failed(reason) = outcome else { Issue.record("expected .failed, got \(outcome)"); return }
        #expect(reason.contains("Doubling"))
        #expect(model.namedParameters.flatMap { $0.value.storage } == before)
        #expect(model.namedParameters.flatMap { $0.gradient.storage } == gradient)
        #expect(ngd.failedSteps == 1 && ngd.step == 0)
    }

    @Test("dense NGD refuses sizes whose matrices exceed the memory limit, naming N, the bytes and ngd-cg")
    func denseSizeGuard() throws {
        // The Fashion-MNIST MLP 784-512-512-10: N = 669,706, F alone 669,706² × 4 B ≈ 1.6 TiB.
        do {
            try NaturalGradientDescent<Float>.checkDenseSize(.exact, parameters: 669_706, jacobianRows: 1280)
            Issue.record("no error")
        } catch {
            let n: Double = 669_706
            let bytes: Double = (n * n + 1280 * n) * 4
            let expected = LinearSolverError.denseSolveTooLarge(method: "exact", parameters: 669_706, bytes: bytes, limit: 1 << 31)
            #expect(error == expected)
            #expect(error.description.contains("669706") && error.description.contains("1.6 TiB")
                    && error.description.contains("ngd-cg"), "\(error)")
        }
        // 20,000 parameters: 1.6 GB fits; 30,000 parameters: 3.6 GB does not. CG is matrix-free.
        try NaturalGradientDescent<Float>.checkDenseSize(.exact, parameters: 20_000, jacobianRows: 100)
        #expect(throws: LinearSolverError.self) { try NaturalGradientDescent<Float>.checkDenseSize(.exact, parameters: 30_000, jacobianRows: 100) }
        try NaturalGradientDescent<Float>.checkDenseSize(.conjugateGradient, parameters: 669_706, jacobianRows: 1280)
        try NaturalGradientDescent<Float>.checkDenseSize(.woodbury, parameters: 20_000, jacobianRows: 1280)
    }
}
