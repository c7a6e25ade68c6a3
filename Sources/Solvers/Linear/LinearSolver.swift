import Curvature
import Linalg
import NeuralNet

/// A solver of the damped natural-gradient system of one batch (docs/tngd.md),
///
///     (F + λI) x = b,    F = s J_fᵀ H_L J_f / b,
///
/// given as the one GGN operator (`GaussNewtonOperator`, which holds `λ` and `s`). Implementations, digital
/// and thermodynamic side by side: `DenseLinearSolver` (Cholesky of the dense `F`), `ConjugateGradientLinearSolver`
/// (matrix-free products), `WoodburyLinearSolver` (the `b·d × b·d` push-through form) and
/// `ThermodynamicLinearSolver` (the simulated TNGD device). All agree with a dense solve up to their
/// tolerances (`LinearSolverTests`); natural-gradient descent takes any of them.
///
/// A solver is a reference type and may keep state between solves (a device's physical state); it exports
/// it as named tensors and scalars for checkpoints. Solving runs the model's backward passes and
/// **overwrites its parameter gradients**.
public protocol LinearSolver<Scalar>: AnyObject {
    associatedtype Scalar: NeuralScalar

    /// Short name for printouts (`"exact"`, `"cg"`, `"woodbury"`, `"thermodynamic"`).
    var name: String { get }
    /// Whether `solve` starts from `warmStart` (an iterative solver). Direct solvers ignore it; the device
    /// continues from its own physical state instead.
    var usesWarmStart: Bool { get }
    /// `x ≈ (F + λI)⁻¹ rhs` (`rhs` and `x` flat, `N` values, `model.trainableParameters` order), starting from
    /// `warmStart` (the previous solution, or nil) when `usesWarmStart`.
    func solve(_ f: GaussNewtonOperator<Scalar>, rhs: [Scalar], warmStart: [Scalar]?) throws(LinearSolverError) -> [Scalar]
    /// Figures of the last solve and cumulative counters, name → value in a fixed order (the optimiser
    /// prefixes the names for the metrics CSV).
    var metrics: [(name: String, value: Double)] { get }
    /// Everything needed to continue exactly (a device's carried state), as named tensors and scalars.
    func exportState() -> (tensors: [String: Matrix<Scalar>], scalars: [String: String])
    /// Restores `exportState()`'s output.
    func importState(tensors: [String: Matrix<Scalar>], scalars: [String: String]) throws(LinearSolverError)
}

extension LinearSolver {
    public var usesWarmStart: Bool { false }
    public var metrics: [(name: String, value: Double)] { [] }
    public func exportState() -> (tensors: [String: Matrix<Scalar>], scalars: [String: String]) { ([:], [:]) }
    public func importState(tensors: [String: Matrix<Scalar>], scalars: [String: String]) throws(LinearSolverError) {}

    /// Linearises `operator` (its products need it), reporting a layer without a tangent rule as this solver's error.
    func linearize(_ f: GaussNewtonOperator<Scalar>) throws(LinearSolverError) {
        do { try f.linearize() } catch {
            switch error { case let .unsupportedLayer(summary): throw .unsupportedLayer(summary: summary, solver: name) }
        }
    }
}

/// Largest dense matrices the `exact` and `woodbury` solvers may allocate: 2 GiB. The exact GGN of the
/// 670k-parameter Fashion-MNIST MLP would need 670k² × 4 B ≈ 1.6 TiB.
public let denseSolveMemoryLimit = 1 << 31

/// Throws `.denseSolveTooLarge` when `elements` scalars of `scalarBytes` each exceed `denseSolveMemoryLimit`.
func checkDenseSize(_ method: String, parameters: Int, elements: Double, scalarBytes: Int) throws(LinearSolverError) {
    let bytes = elements * Double(scalarBytes)
    guard bytes <= Double(denseSolveMemoryLimit) else {
        throw .denseSolveTooLarge(method: method, parameters: parameters, bytes: bytes, limit: denseSolveMemoryLimit)
    }
}
