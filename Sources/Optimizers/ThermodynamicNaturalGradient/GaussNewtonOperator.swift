import CBLAS
import Linalg
import NeuralNet
import ThermoDevice

/// The damped generalised Gauss–Newton matrix of one batch in factored form (REFERENCE.md §4),
///
///     F v = J_fᵀ H_L J_f v / b + λ v,
///
/// with `J_f` the model Jacobian (`b·d_z × N`, a `LinearizedModel`) and `H_L` the loss Hessian in the
/// outputs (`OutputCurvature`; softmax cross-entropy: `diag(p) − p pᵀ` per example). The `N × N`
/// matrix is never formed: each product is one JVP, `H_L` per example and one VJP — the three resistor
/// arrays `J_f`, `H_L`, `J_fᵀ` of the TNGD device, `b d_z (b d_z + 2N)` resistors in all.
public final class GaussNewtonOperator<Scalar: NeuralScalar> {
    public let linearization: LinearizedModel<Scalar>
    public let curvature: OutputCurvature<Scalar>
    /// Tikhonov damping `λ`.
    public let damping: Scalar
    /// Products `F v` computed so far (each ≈ one forward + one backward pass).
    public private(set) var products = 0

    public init(linearization: LinearizedModel<Scalar>, curvature: OutputCurvature<Scalar>, damping: Scalar) {
        precondition(curvature.examples == linearization.examples && curvature.outputDimension == linearization.outputDimension,
                     "GaussNewtonOperator: curvature is \(curvature.examples)×\(curvature.outputDimension), model "
                     + "\(linearization.examples)×\(linearization.outputDimension)")
        self.linearization = linearization
        self.curvature = curvature
        self.damping = damping
    }

    /// `N`.
    public var dimension: Int { linearization.parameterCount }

    /// Resistors of the device realising `J_f`, `H_L` and `J_fᵀ`: `b d_z (b d_z + 2N)`.
    public var resistorCount: Int {
        let bd = linearization.examples * linearization.outputDimension
        return bd * (bd + 2 * dimension)
    }

    /// `result ← α F x + β result` for one vector `x` (`N` values).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: UnsafePointer<Scalar>, alpha: Scalar, beta: Scalar, into result: UnsafeMutablePointer<Scalar>,
                      scratch: UnsafeMutablePointer<Scalar>) {
        let n = dimension
        var u = curvature.hessianProduct(linearization.jvp(x))
        u.scale(by: 1 / Scalar(linearization.examples))
        linearization.vjp(u, into: scratch)
        Scalar.axpy(Int32(n), damping, x, 1, scratch, 1)             // scratch = F x
        if beta == 0 {
            for i in 0..<n { result[i] = alpha * scratch[i] }
        } else {
            if beta != 1 { Scalar.scal(Int32(n), beta, result, 1) }
            Scalar.axpy(Int32(n), alpha, scratch, 1, result, 1)
        }
        products += 1
    }

    /// `F x` for a flat vector (tests, power iteration).
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

    /// The drift of the TNGD device, `Y ← α X Fᵀ + β Y` row by row (`F` is symmetric), for `LangevinChains`.
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
