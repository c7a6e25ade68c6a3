/// A failure reported by a BLAS/LAPACK wrapper. Every LAPACK `info != 0` becomes one of these, so a
/// caller never receives silently wrong numbers.
public enum LinalgError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Cholesky (`potrf`) found a leading minor that is not positive (1-based order, LAPACK's `info`).
    case notPositiveDefinite(routine: String, leadingMinor: Int)
    /// LU (`gesv`) found an exactly zero pivot (1-based), or `potri` a zero diagonal of the factor.
    case singular(routine: String, pivot: Int)
    /// An eigenvalue iteration (`syevd`) failed to converge.
    case noConvergence(routine: String, info: Int)
    /// LAPACK rejected argument number `argument` (a bug in the caller or the wrapper).
    case illegalArgument(routine: String, argument: Int)
    /// Operand shapes do not fit the operation.
    case dimensionMismatch(operation: String, detail: String)
    /// An operand holds NaN or ±∞.
    case nonFinite(operation: String)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(routine, minor):
            return "\(routine): matrix is not positive definite at leading minor \(minor); "
                + "add damping (A + λI) or check that the matrix is symmetric positive definite"
        case let .singular(routine, pivot):
            return "\(routine): matrix is singular (zero pivot at position \(pivot)); the system has no unique solution"
        case let .noConvergence(routine, info):
            return "\(routine): eigenvalue iteration did not converge (info = \(info)); check the input for extreme values"
        case let .illegalArgument(routine, argument):
            return "\(routine): argument \(argument) had an illegal value (a Thermograd bug; please report it)"
        case let .dimensionMismatch(operation, detail):
            return "\(operation): shapes do not fit: \(detail)"
        case let .nonFinite(operation):
            return "\(operation): input contains NaN or infinity"
        }
    }
}
