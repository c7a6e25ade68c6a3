import Curvature
import Linalg
import NeuralNet

/// `(F + λI)⁻¹ b` by conjugate gradient on the operator's matrix-free products
/// (`NaturalGradientSolve.conjugateGradient`): one linearisation per solve, then one JVP + one VJP per
/// iteration, `O(c b N)` time for `c` iterations and `O(N)` memory. Starts from the previous solution
/// when given one (warm start) and stops when `‖r‖ ≤ tolerance ‖b‖` or after `maxIterations`.
public final class ConjugateGradientLinearSolver<Scalar: NeuralScalar>: LinearSolver {
    /// Relative residual at which CG stops.
    public let tolerance: Double
    public let maxIterations: Int
    /// Iterations and relative residual of the last solve.
    public private(set) var lastIterations = 0
    public private(set) var lastResidual = 0.0

    public init(tolerance: Double, maxIterations: Int) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    public var name: String { "cg" }
    public var usesWarmStart: Bool { true }

    public func solve(_ f: GaussNewtonOperator<Scalar>, rhs: [Scalar], warmStart: [Scalar]?) throws(LinearSolverError) -> [Scalar] {
        try linearize(f)
        let r = NaturalGradientSolve.conjugateGradient(rhs: rhs, initial: warmStart?.count == rhs.count ? warmStart : nil,
                                                       tolerance: Scalar(tolerance), maxIterations: maxIterations) { f.product($0) }
        lastIterations = r.iterations
        lastResidual = Double(r.relativeResidual)
        return r.solution
    }

    public var metrics: [(name: String, value: Double)] {
        [("cg_iterations", Double(lastIterations)), ("cg_residual", lastResidual)]
    }
}
