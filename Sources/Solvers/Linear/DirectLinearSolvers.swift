import Curvature
import Linalg
import NeuralNet

/// `(F + λI)⁻¹ b` by Cholesky of the dense damped GGN (`NaturalGradientSolve.exact`): `O(N³ + b d N²)` time,
/// `O(N²)` memory, the oracle for tiny models. Refuses sizes over `denseSolveMemoryLimit`.
public final class DenseLinearSolver<Scalar: NeuralScalar>: LinearSolver {
    public init() {}

    public var name: String { "exact" }

    /// Throws `.denseSolveTooLarge` when `F` (`N²`) and `J` (`b·d·N`) exceed `denseSolveMemoryLimit`.
    public static func checkSize(parameters: Int, jacobianRows: Int, scalarBytes: Int = MemoryLayout<Scalar>.size) throws(LinearSolverError) {
        let (n, r) = (Double(parameters), Double(jacobianRows))
        try checkDenseSize("exact", parameters: parameters, elements: n * n + r * n, scalarBytes: scalarBytes)
    }

    public func solve(_ f: GaussNewtonOperator<Scalar>, rhs: [Scalar], warmStart: [Scalar]?) throws(LinearSolverError) -> [Scalar] {
        try Self.checkSize(parameters: f.dimension, jacobianRows: f.curvature.examples * f.curvature.outputDimension)
        return try NaturalGradientSolve.exact(curvature: f.denseMatrix(), gradient: rhs, damping: f.damping)
    }
}

/// `(F + λI)⁻¹ b` by the Woodbury identity on `F = Jᵀ (M J)` (`NaturalGradientSolve.woodbury`):
/// `O(b²d²N + b³d³)` time, `O(b d N)` memory. Refuses sizes over `denseSolveMemoryLimit`.
public final class WoodburyLinearSolver<Scalar: NeuralScalar>: LinearSolver {
    public init() {}

    public var name: String { "woodbury" }

    /// Throws `.denseSolveTooLarge` when `J` and `M J` (`2 b·d·N`) and the `b·d × b·d` kernel exceed the limit.
    public static func checkSize(parameters: Int, jacobianRows: Int, scalarBytes: Int = MemoryLayout<Scalar>.size) throws(LinearSolverError) {
        let (n, r) = (Double(parameters), Double(jacobianRows))
        try checkDenseSize("woodbury", parameters: parameters, elements: 2 * r * n + r * r, scalarBytes: scalarBytes)
    }

    public func solve(_ f: GaussNewtonOperator<Scalar>, rhs: [Scalar], warmStart: [Scalar]?) throws(LinearSolverError) -> [Scalar] {
        try Self.checkSize(parameters: f.dimension, jacobianRows: f.curvature.examples * f.curvature.outputDimension)
        let (j, mj) = f.denseJacobian()
        return try NaturalGradientSolve.woodbury(jacobian: j, weightedJacobian: mj, gradient: rhs, damping: f.damping)
    }
}
