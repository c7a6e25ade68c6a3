import CBLAS
import Linalg
import NeuralNet

/// The damped generalised Gauss–Newton matrix of one batch in factored form (docs/tngd.md#curvature),
///
///     F v = J_fᵀ H_L J_f v / b + λ v,
///
/// with `J_f` the model Jacobian (`b·d_z × N`, a `LinearizedModel`) and `H_L` the loss Hessian in the
/// outputs (`OutputCurvature`; softmax cross-entropy: `diag(p) − p pᵀ` per example). The `N × N`
/// matrix is never formed: each product is one JVP, `H_L` per example and one VJP — the three resistor
/// arrays `J_f`, `H_L`, `J_fᵀ` of the TNGD device, `b d_z (b d_z + 2N)` resistors in all.
///
/// `dataScale` `s` multiplies the data term, `F v = s J_fᵀ H_L J_f v / b + λ v`: 1 for the mean loss over
/// the batch (our convention, the default), `b` for the batch-sum convention (see
/// `ThermodynamicNaturalGradientConfiguration.LossNormalization`).
public final class GaussNewtonOperator<Scalar: NeuralScalar> {
    public let linearization: LinearizedModel<Scalar>
    public let curvature: OutputCurvature<Scalar>
    /// Tikhonov damping `λ`.
    public let damping: Scalar
    /// `s`: 1 (mean loss) or `b` (summed loss).
    public let dataScale: Scalar
    /// Products `F v` computed so far (each ≈ one forward + one backward pass).
    public private(set) var products = 0

    public init(linearization: LinearizedModel<Scalar>, curvature: OutputCurvature<Scalar>, damping: Scalar, dataScale: Scalar = 1) {
        precondition(curvature.examples == linearization.examples && curvature.outputDimension == linearization.outputDimension,
                     "GaussNewtonOperator: curvature is \(curvature.examples)×\(curvature.outputDimension), model "
                     + "\(linearization.examples)×\(linearization.outputDimension)")
        self.linearization = linearization
        self.curvature = curvature
        self.damping = damping
        self.dataScale = dataScale
    }

    /// `N`.
    public var dimension: Int { linearization.parameterCount }

    /// Resistors of the device realising `J_f`, `H_L` and `J_fᵀ`: `b d_z (b d_z + 2N)`.
    public var resistorCount: Int {
        let bd = linearization.examples * linearization.outputDimension
        return bd * (bd + 2 * dimension)
    }

    /// `result ← α F x + β result` for one vector `x` (`N` values): one JVP, `H_L`, one VJP.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: UnsafePointer<Scalar>, alpha: Scalar, beta: Scalar, into result: UnsafeMutablePointer<Scalar>,
                      scratch: UnsafeMutablePointer<Scalar>) {
        let n = dimension
        var u = curvature.hessianProduct(linearization.jvp(x))
        u.scale(by: dataScale / Scalar(linearization.examples))
        linearization.vjp(u, into: scratch)
        Scalar.axpy(Int32(n), damping, x, 1, scratch, 1)             // scratch = F x
        combine(n, alpha: alpha, scratch, beta: beta, into: result)
        products += 1
    }
}

/// `result ← α f + β result` over `n` values (the last step of every `DeviceCurvature.apply`).
package func combine<Scalar: BLASScalar>(_ n: Int, alpha: Scalar, _ f: UnsafePointer<Scalar>, beta: Scalar,
                                 into result: UnsafeMutablePointer<Scalar>) {
    if beta == 0 {
        for i in 0..<n { result[i] = alpha * f[i] }
    } else {
        if beta != 1 { Scalar.scal(Int32(n), beta, result, 1) }
        Scalar.axpy(Int32(n), alpha, f, 1, result, 1)
    }
}
