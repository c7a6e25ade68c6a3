import Linalg

/// Why the simulated thermodynamic device refused a configuration, a matrix or a call.
///
/// Every case says what was wrong and what to do about it; none is a crash. A physical device
/// programmed with an indefinite matrix or run with a diverging integrator would blow up; the
/// simulator refuses instead.
public enum ThermoDeviceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The matrix is not square.
    case notSquare(rows: Int, columns: Int)
    /// The matrix is not symmetric: `|a_ij − a_ji|` at `(row, column)` exceeds the tolerance.
    case notSymmetric(row: Int, column: Int, asymmetry: Double, tolerance: Double)
    /// An input (`what`) holds NaN or ±∞.
    case nonFinite(what: String)
    /// The problem is larger than the device (`n > maximumSize`).
    case tooLarge(size: Int, maximumSize: Int)
    /// Operand shapes do not fit (for example `b` has the wrong length).
    case dimensionMismatch(detail: String)
    /// The matrix actually realised by the couplings (after scaling, DAC quantisation and component
    /// mismatch) is not positive definite: the device would diverge.
    case notPositiveDefinite(smallestEigenvalue: Double, stage: String)
    /// The Euler–Maruyama step `δt` (in τ) is at or above the stability limit for the programmed
    /// spectrum; `largestStable` is the supremum of stable steps.
    case unstableTimeStep(timeStep: Double, largestStable: Double, lambdaMax: Double, dynamics: String)
    /// A configuration or call parameter is out of its valid range.
    case invalidParameter(name: String, value: String, requirement: String)
    /// The requested combination is not implemented (for example the exact integrator with inertia).
    case unsupported(detail: String)
    /// A LAPACK call used by the integrator's set-up failed.
    case linalg(LinalgError)

    public var description: String {
        switch self {
        case let .notSquare(r, c):
            return "ThermoDevice: the coupling matrix must be square, got \(r)×\(c)"
        case let .notSymmetric(i, j, asym, tol):
            return "ThermoDevice: the coupling matrix must be symmetric (couplings are reciprocal), but "
                + "|a[\(i),\(j)] − a[\(j),\(i)]| = \(asym) > \(tol); pass (A + Aᵀ)/2 if the asymmetry is round-off"
        case let .nonFinite(what):
            return "ThermoDevice: \(what) contains NaN or infinity; check the upstream computation"
        case let .tooLarge(n, maximum):
            return "ThermoDevice: problem size \(n) exceeds the device's \(maximum) cells; split the problem "
                + "(block-diagonal factors) or raise DeviceConfiguration.maximumSize"
        case let .dimensionMismatch(detail):
            return "ThermoDevice: shapes do not fit: \(detail)"
        case let .notPositiveDefinite(lambda, stage):
            return "ThermoDevice: the programmed matrix is not positive definite after \(stage) "
                + "(smallest eigenvalue \(lambda)); add damping (A + λI), use more DAC bits, the conservative "
                + "quantisation scheme, or a smaller mismatch ε"
        case let .unstableTimeStep(dt, stable, lmax, dynamics):
            return "ThermoDevice: Euler–Maruyama step δt = \(dt)τ diverges for the \(dynamics) dynamics with "
                + "λ_max = \(lmax); use δt < \(stable)τ (the largest stable value) or the exact integrator"
        case let .invalidParameter(name, value, requirement):
            return "ThermoDevice: \(name) = \(value) is invalid: \(requirement)"
        case let .unsupported(detail):
            return "ThermoDevice: not supported: \(detail)"
        case let .linalg(error):
            return "ThermoDevice: integrator set-up failed: \(error)"
        }
    }
}
