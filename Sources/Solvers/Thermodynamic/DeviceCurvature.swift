import Curvature
import Linalg
import NeuralNet
import ThermoDevice

/// The matrix a TNGD device run relaxes with (docs/tngd.md#curvature): anything that gives `F x` products.
/// The ideal device is `GaussNewtonOperator` (symmetric, matrix-free); a device with quantising DACs or
/// mismatched resistors is `ProgrammedGaussNewton` (the arrays as realised; with mismatch `F̃` is no
/// longer exactly symmetric, which the Euler–Maruyama drift `F̃ g̃ − ∇ℓ` does not need).
public protocol DeviceCurvature<Scalar>: LinearOperator where Scalar: NeuralScalar {
    /// Tikhonov damping `λ` (the floor of the spectrum).
    var damping: Scalar { get }
    /// Resistors of the device realising `J_f`, `H_L` and `J_fᵀ`: `b d_z (b d_z + 2N)`.
    var resistorCount: Int { get }
}

extension DeviceCurvature {
    /// The drift of the TNGD device for `LangevinChains`: row by row `y ← α F x + β y` (the chains' `X Fᵀ`
    /// convention; each row is one chain's state).
    public func drift() -> MatrixFreeDrift<Scalar> {
        let n = dimension
        var scratch = [Scalar](repeating: 0, count: n)
        return MatrixFreeDrift(dimension: n) { x, rows, ldx, alpha, beta, y, ldy in
            scratch.withUnsafeMutableBufferPointer { s in
                for r in 0..<rows { self.apply(x + r * ldx, alpha: alpha, beta: beta, into: y + r * ldy, scratch: s.baseAddress!) }
            }
        }
    }

    /// An upper estimate of `λ_max(F)`: `iterations` power iterations from `start` (or a fixed vector),
    /// the Rayleigh quotient times `safetyFactor`. Returns the estimate and the last iterate (to warm-start
    /// the next estimate). Used only to pick a stable Euler–Maruyama step (`δt λ_max < 2`).
    public func largestEigenvalueBound(iterations: Int, safetyFactor: Double, start: [Scalar]?) -> (bound: Double, vector: [Scalar]) {
        var v = start?.count == dimension ? start! : (0..<dimension).map { Scalar(1 + ($0 % 7)) }
        var rayleigh = Double(damping)
        for _ in 0..<Swift.max(1, iterations) {
            let norm = BLAS.norm(v)
            guard norm > 0, norm.isFinite else { break }
            BLAS.scal(1 / norm, &v)
            let fv = product(v)
            rayleigh = Double(BLAS.dot(v, fv))
            v = fv
        }
        let norm = BLAS.norm(v)
        if norm > 0 { BLAS.scal(1 / norm, &v) }
        return (safetyFactor * Swift.max(rayleigh, Double(damping)), v)
    }
}

/// The ideal device: the GGN operator itself, matrix-free.
extension GaussNewtonOperator: DeviceCurvature {}
