import Curvature
import Linalg
import NeuralNet
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// The `LinearSolver` implementations on one GGN operator against an LU solve of the dense damped GGN built
/// here by loops over examples (independent of the operator's own dense forms).
@Suite struct LinearSolverTests {
    /// `s Σₙ Jₙᵀ Hₙ Jₙ / b + λ I` from the dense Jacobian, example by example.
    static func loopGGN(_ data: TestBatch, damping lambda: Double, dataScale s: Double) -> Matrix<Double> {
        let j = ModelJacobian.dense(data.model, input: data.input)
        let (b, d, n) = (data.curvature.examples, data.curvature.outputDimension, j.columns)
        var f = Matrix<Double>(rows: n, columns: n)
        for e in 0..<b {
            let h = data.curvature.hessian(example: e)
            for p in 0..<n { for q in 0..<n {
                var sum = 0.0
                for k in 0..<d { for l in 0..<d { sum += j[e * d + k, p] * h[k, l] * j[e * d + l, q] } }
                f[p, q] += s * sum / Double(b)
            } }
        }
        f.addDiagonal(lambda)
        return f
    }

    /// The four solvers. The device is noiseless and starts from the right-hand side; after `t = 60τ` at
    /// `λ = 0.5` the slowest mode keeps `e^{-30} ≈ 1e-13` of its start, so it is as exact as the others.
    static func solvers() throws -> [any LinearSolver<Double>] {
        let device = try ThermodynamicNaturalGradientConfiguration(
            analogTime: 60, damping: 0.5, initialState: .gradient, device: DeviceConfiguration(beta: .greatestFiniteMagnitude, timeStep: 0.1))
        return [DenseLinearSolver(), ConjugateGradientLinearSolver(tolerance: 1e-13, maxIterations: 500), WoodburyLinearSolver(),
                ThermodynamicLinearSolver(configuration: device)]
    }

    @Test("dense, CG, Woodbury and the device solve (F + λI) x = g like a dense LU solve (mean and summed F)",
          arguments: [LossNormalization.mean, .sum])
    func solversAgreeWithDenseSolve(_ normalization: LossNormalization) throws {
        let model = makeNetwork([3, 4, 3], activation: .tanh, seed: 31)
        let data = TestBatch(model: model, loss: .crossEntropy, examples: 4, seed: 32)
        let g = ModelJacobian.flattenedGradients(model)
        let lambda = 0.5, s = normalization == .sum ? 4.0 : 1.0
        let reference = try LAPACK.solve(Self.loopGGN(data, damping: lambda, dataScale: s), g)
        // κ(F + λI) ≤ (‖F‖ + λ)/λ ~ 10 here, so 1e-13 residuals and rounding give errors far below 1e-9.
        for solver in try Self.solvers() {
            let x = try solver.solve(GaussNewtonOperator(batch: data.batch, damping: lambda, dataScale: s), rhs: g, warmStart: nil)
            #expect(relativeError(x, reference) < 1e-9, "\(solver.name)")
        }
    }

    @Test("CG started at the solution stops at once; direct solvers ignore the warm start")
    func warmStart() throws {
        let model = makeNetwork([3, 4, 3], activation: .relu, seed: 33)
        let data = TestBatch(model: model, loss: .mse, examples: 3, seed: 34)
        let g = ModelJacobian.flattenedGradients(model)
        let reference = try LAPACK.solve(Self.loopGGN(data, damping: 0.1, dataScale: 1), g)
        let cg = ConjugateGradientLinearSolver<Double>(tolerance: 1e-8, maxIterations: 50)
        _ = try cg.solve(GaussNewtonOperator(batch: data.batch, damping: 0.1), rhs: g, warmStart: reference)
        #expect(cg.lastIterations == 0 && cg.usesWarmStart)
        let dense = DenseLinearSolver<Double>()
        let x = try dense.solve(GaussNewtonOperator(batch: data.batch, damping: 0.1), rhs: g, warmStart: [Double](repeating: 7, count: g.count))
        #expect(relativeError(x, reference) < 1e-10 && !dense.usesWarmStart)
    }

    @Test("a layer without a tangent rule: CG and the device name it, the dense solvers still solve")
    func unsupportedLayer() throws {
        var rng = Xoshiro256StarStar(seed: 35)
        let model = Sequential<Double>(inputFeatures: 3, [Linear<Double>(3, 4, rng: &rng), NaturalGradientTests.Doubling(),
                                                          Linear<Double>(4, 3, rng: &rng)])
        let data = TestBatch(model: model, loss: .crossEntropy, examples: 3, seed: 36)
        let g = ModelJacobian.flattenedGradients(model)
        let reference = try LAPACK.solve(Self.loopGGN(data, damping: 0.5, dataScale: 1), g)
        for solver in try Self.solvers() {
            let f = GaussNewtonOperator(batch: data.batch, damping: 0.5)
            if solver.name == "exact" || solver.name == "woodbury" {
                #expect(relativeError(try solver.solve(f, rhs: g, warmStart: nil), reference) < 1e-9, "\(solver.name)")
            } else {
                #expect(throws: LinearSolverError.unsupportedLayer(summary: "Doubling", solver: solver.name)) {
                    try solver.solve(f, rhs: g, warmStart: nil)
                }
            }
        }
    }
}
