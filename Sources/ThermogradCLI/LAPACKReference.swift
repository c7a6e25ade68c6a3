import Foundation
import Linalg

/// The LAPACK answers (in Double) that `simulate` and `bench device` measure the device's estimates against, and the
/// relative errors they report: `‖x − x*‖₂ / ‖x*‖₂` for a solve, `‖M − A⁻¹‖_F / ‖A⁻¹‖_F` for an inverse.
enum LAPACKReference {
    /// `x* = A⁻¹ b`, by LAPACK in Double.
    static func solution<S: BLASScalar>(_ a: Matrix<S>, _ b: [S]) throws -> [Double] {
        try LAPACK.solve(a.converted(to: Double.self), b.map { Double($0) })
    }

    /// `A⁻¹` of a symmetric positive-definite `A`, by LAPACK in Double.
    static func inverse<S: BLASScalar>(_ a: Matrix<S>) throws -> Matrix<Double> {
        try LAPACK.inverseSPD(a.converted(to: Double.self))
    }

    /// `‖x − x*‖₂ / ‖x*‖₂` of a solution `x` against `reference = x*`.
    static func relativeError<S: BLASScalar>(_ x: [S], _ reference: [Double]) -> Double {
        zip(x, reference).reduce(0.0) { $0 + pow(Double($1.0) - $1.1, 2) }.squareRoot() / BLAS.norm(reference)
    }

    /// `‖M − A⁻¹‖_F / ‖A⁻¹‖_F` of an inverse estimate `M` against `reference = A⁻¹`.
    static func relativeError<S: BLASScalar>(_ estimate: Matrix<S>, _ reference: Matrix<Double>) -> Double {
        (estimate.converted(to: Double.self) - reference).frobeniusNorm / reference.frobeniusNorm
    }
}
