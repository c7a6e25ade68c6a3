import NeuralNet
import Solvers
/// Settings of natural-gradient descent on the GGN (`NaturalGradientDescent`), immutable and validated once.
public struct NaturalGradientConfiguration: Sendable, Equatable, Codable, CustomStringConvertible {
    /// How `(F + λI) x = ∇L` is solved (`NaturalGradientSolve`).
    public enum Method: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
        case exact
        case conjugateGradient = "cg"
        case woodbury
        public var description: String { rawValue }
    }

    public var method: Method = .conjugateGradient
    /// Tikhonov damping `λ` (the TNGD paper: 0.01 on MNIST).
    public var damping: Double = 1e-2
    /// CG stops when `‖r‖ ≤ tolerance ‖∇L‖`.
    public var cgTolerance: Double = 1e-6
    public var cgMaxIterations = 50
    /// Start CG from the previous step's solution (the role TNGD's warm start plays on the device).
    public var warmStart = true

    public init() {}

    public func validate() throws(KFACError) {
        guard damping > 0, damping.isFinite else {
            throw .invalidConfiguration(field: "damping", value: "\(damping)", requirement: "use a positive λ such as 1e-2")
        }
        guard cgTolerance > 0 else {
            throw .invalidConfiguration(field: "cgTolerance", value: "\(cgTolerance)", requirement: "must be positive, e.g. 1e-6")
        }
        guard cgMaxIterations >= 1 else {
            throw .invalidConfiguration(field: "cgMaxIterations", value: "\(cgMaxIterations)", requirement: "must be ≥ 1")
        }
    }

    public var description: String {
        "NGD(\(method), λ \(damping)" + (method == .conjugateGradient
            ? ", CG tolerance \(cgTolerance), ≤ \(cgMaxIterations) iterations, warm start \(warmStart))" : ")")
    }

    /// The linear solver `method` names: dense Cholesky, CG (`cgTolerance`, `cgMaxIterations`) or Woodbury.
    public func makeSolver<S: NeuralScalar>(_: S.Type = S.self) -> any LinearSolver<S> {
        switch method {
        case .exact: return DenseLinearSolver<S>()
        case .conjugateGradient: return ConjugateGradientLinearSolver<S>(tolerance: cgTolerance, maxIterations: cgMaxIterations)
        case .woodbury: return WoodburyLinearSolver<S>()
        }
    }
}
