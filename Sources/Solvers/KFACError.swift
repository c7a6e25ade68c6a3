import Linalg
import ThermoDevice

/// A failure of K-FAC or a factor solver (and invalid natural-gradient settings), saying what to do about it.
public enum KFACError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A configuration field is out of range.
    case invalidConfiguration(field: String, value: String, requirement: String)
    /// A damped factor could not be inverted even after the retries with larger damping (and in Double).
    case factorInversionFailed(layer: String, factor: String, attempts: Int, lastError: LinalgError)
    /// `precondition` was called for a layer whose factors the solver has never seen.
    case layerNotRefreshed(layer: String, solver: String)
    /// A gradient does not have the shape of the factors.
    case shapeMismatch(layer: String, detail: String)
    /// Saved state does not fit this optimiser (other model, other solver, missing tensor).
    case stateMismatch(key: String, detail: String)
    /// A thermodynamic device refused or failed a factor operation (TK-FAC; `operation` names the factor
    /// and the protocol, e.g. "program A + λ_A I").
    case device(layer: String, operation: String, error: ThermoDeviceError)
    /// The rank that owns a layer's solver work failed it (K-FAC on several ranks; `reason` is its error).
    case otherRank(rank: Int, layer: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, value, requirement):
            return "K-FAC configuration: \(field) = \(value) is invalid; \(requirement)"
        case let .factorInversionFailed(layer, factor, attempts, lastError):
            return "K-FAC: the \(factor) factor of \(layer) could not be inverted after \(attempts) attempts "
                + "(\(lastError)); raise --kfac-damping, lower the learning rate, or use --kfac-solver eigen"
        case let .layerNotRefreshed(layer, solver):
            return "K-FAC: solver \(solver) has no inverse for \(layer) yet; call refresh(layer:factors:damping:) first"
        case let .shapeMismatch(layer, detail):
            return "K-FAC: shapes of \(layer) do not fit: \(detail)"
        case let .stateMismatch(key, detail):
            return "K-FAC state: \(key): \(detail); resume with the same model, optimiser and solver settings"
        case let .device(layer, operation, error):
            return "TK-FAC: \(operation) of \(layer) failed on the device: \(error)"
        case let .otherRank(rank, layer, reason):
            return "K-FAC: rank \(rank), which owns \(layer), failed: \(reason)"
        }
    }
}
