import Linalg

/// A linear operator on flat vectors, `x ↦ A x` with `A` of size `dimension × dimension`, given only
/// through products (the GGN `GaussNewtonOperator`, a device's realised arrays `ProgrammedGaussNewton`).
public protocol LinearOperator<Scalar>: AnyObject {
    associatedtype Scalar: BLASScalar
    /// `N`.
    var dimension: Int { get }
    /// `result ← α A x + β result` for one vector `x` (`N` values); `scratch` holds `N` values.
    func apply(_ x: UnsafePointer<Scalar>, alpha: Scalar, beta: Scalar, into result: UnsafeMutablePointer<Scalar>,
               scratch: UnsafeMutablePointer<Scalar>)
}

extension LinearOperator {
    /// `A x` for a flat vector (`N` values).
    public func product(_ x: [Scalar]) -> [Scalar] {
        var out = [Scalar](repeating: 0, count: dimension)
        var scratch = out
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in apply(xp.baseAddress!, alpha: 1, beta: 0, into: op.baseAddress!, scratch: sp.baseAddress!) }
            }
        }
        return out
    }
}
