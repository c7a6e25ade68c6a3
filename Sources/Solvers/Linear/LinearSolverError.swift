import Foundation
import Linalg

/// Why a natural-gradient linear solve failed; each case says what to do.
public enum LinearSolverError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A layer has no Jacobian–vector rule (`LinearizedModel`), so the solver has no GGN-vector products.
    case unsupportedLayer(summary: String, solver: String)
    /// A dense solve (`exact`: the `N × N` GGN; `woodbury`: the `b·d × N` Jacobian twice) would need more
    /// memory than `limit` bytes.
    case denseSolveTooLarge(method: String, parameters: Int, bytes: Double, limit: Int)
    /// A linear-algebra routine failed (the damped GGN was not positive definite in working precision, …).
    case linearAlgebra(LinalgError)
    /// The solution holds NaN or ±∞.
    case nonFinite(solver: String)
    /// The simulated device refused or failed the run (`detail` is its error).
    case device(detail: String)
    /// Saved solver state does not fit (missing or malformed entry).
    case stateMismatch(String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(summary, solver):
            return "natural gradient (\(solver) solver): no GGN-vector product rule for layer \(summary); use Linear, Conv2d, "
                + "ReLU, Tanh, GELU, LayerNorm, pooling, Flatten and Dropout layers, --optimizer ngd-exact, or K-FAC"
        case let .denseSolveTooLarge(method, parameters, bytes, limit):
            let tib = Double(1 << 40), gibibyte = Double(1 << 30)
            let gib = { (x: Double) in x >= tib ? String(format: "%.1f TiB", x / tib) : String(format: "%.2f GiB", x / gibibyte) }
            let what = method == "exact" ? "the dense N × N GGN" : "the dense Jacobian"
            return "NGD-\(method) would build \(what) for N = \(parameters) parameters: \(gib(bytes)) "
                + "(limit \(gib(Double(limit)))); use --optimizer ngd-cg (matrix-free GGN-vector products) or kfac"
        case let .linearAlgebra(error):
            return "natural gradient: \(error); raise the damping λ"
        case let .nonFinite(solver):
            return "natural gradient (\(solver) solver): the solution contains NaN or infinity; lower the learning rate or raise the damping λ"
        case let .device(detail):
            return "the device run failed: \(detail)"
        case let .stateMismatch(detail):
            return "natural-gradient solver state: \(detail); resume with the same optimiser and solver settings"
        }
    }
}
