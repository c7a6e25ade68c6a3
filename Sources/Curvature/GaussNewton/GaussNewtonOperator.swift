import CBLAS
import Linalg
import NeuralNet

/// The damped generalised Gauss–Newton matrix of one batch (docs/tngd.md#digital-baselines), the one GGN operator of the
/// project: every natural-gradient solver (dense, CG, Woodbury, the TNGD device) receives it.
///
///     F v = s J_fᵀ H_L J_f v / b + λ v,
///
/// with `J_f` the model Jacobian (`b·d_z × N`, a `LinearizedModel`) and `H_L` the loss Hessian in the
/// outputs (`OutputCurvature`; softmax cross-entropy: `diag(p) − p pᵀ` per example). Products never form
/// the `N × N` matrix: each is one JVP, `H_L` per example and one VJP — the three resistor arrays `J_f`,
/// `H_L`, `J_fᵀ` of the TNGD device, `b d_z (b d_z + 2N)` resistors in all. Small models may ask for the
/// dense forms (`denseMatrix`, `denseJacobian`), built from the dense Jacobian (`ModelJacobian`).
///
/// `dataScale` `s` multiplies the data term: 1 for the mean loss over the batch (our convention, the
/// default), `b` for the batch-sum convention (`LossNormalization.sum`).
///
/// On several ranks (`shard`, docs/multi-process.md#tngd-and-ngd-cg-on-several-ranks) the operator holds this rank's
/// `b_r` examples only (its `J_f` and `H_L`) and every product sums the ranks' data terms
/// `s J_rᵀ H_r J_r v / b` in one all-reduce of `N` values, so `F v` is the global batch's product on every rank.
///
/// Made from a batch, the operator linearises the model lazily (`linearize()`, one forward pass in inference
/// mode) so that the dense solvers, which do not need the linearisation, also work for layers without a
/// tangent rule. Every product and dense form runs the model's backward and **overwrites its parameter
/// gradients**.
public final class GaussNewtonOperator<Scalar: NeuralScalar>: LinearOperator {
    public let model: Sequential<Scalar>
    /// The batch input `x`, `b × in`.
    public let input: Matrix<Scalar>
    public let curvature: OutputCurvature<Scalar>
    /// Tikhonov damping `λ`.
    public let damping: Scalar
    /// `s`: 1 (mean loss) or `b` (summed loss).
    public let dataScale: Scalar
    /// `N`, the trainable scalars.
    public let dimension: Int
    /// This rank's part of the global batch (nil: one process); `b` above is then `shard.globalCount`.
    public let shard: CurvatureShard?
    /// Products `F v` computed so far (each ≈ one forward + one backward pass).
    public private(set) var products = 0
    private var cachedLinearization: LinearizedModel<Scalar>?
    /// The batch's padding (`CurvatureBatch.positionMask`); the linearisation runs with it. The dense forms
    /// (`denseMatrix`, `denseJacobian`) evaluate one example at a time without it: use them on unpadded batches.
    public private(set) var positionMask: PositionMask?

    /// `F` of `model` at `input` with output curvature `curvature`; linearises on first use.
    /// With `shard`, `input` and `curvature` are this rank's examples of the shard's global batch.
    public init(model: Sequential<Scalar>, input: Matrix<Scalar>, curvature: OutputCurvature<Scalar>, damping: Scalar,
                dataScale: Scalar = 1, shard: CurvatureShard? = nil) {
        precondition(curvature.examples == input.rows, "GaussNewtonOperator: curvature has \(curvature.examples) examples, input \(input.rows)")
        precondition(shard.map { $0.count == input.rows } ?? true, "GaussNewtonOperator: \(input.rows) examples, the shard holds \(shard?.count ?? 0)")
        self.shard = shard
        self.model = model
        self.input = input
        self.curvature = curvature
        self.damping = damping
        self.dataScale = dataScale
        dimension = model.trainableParameters.reduce(0) { $0 + $1.count }
    }

    /// `F` of the batch a training step observed (of its global batch when it carries a shard).
    public convenience init(batch: CurvatureBatch<Scalar>, damping: Scalar, dataScale: Scalar = 1) {
        self.init(model: batch.model, input: batch.input, curvature: batch.curvature, damping: damping, dataScale: dataScale,
                  shard: batch.shard)
        positionMask = batch.positionMask
    }

    /// `F` on an existing linearisation.
    public init(linearization: LinearizedModel<Scalar>, curvature: OutputCurvature<Scalar>, damping: Scalar, dataScale: Scalar = 1) {
        precondition(curvature.examples == linearization.examples && curvature.outputDimension == linearization.outputDimension,
                     "GaussNewtonOperator: curvature is \(curvature.examples)×\(curvature.outputDimension), model "
                     + "\(linearization.examples)×\(linearization.outputDimension)")
        model = linearization.model
        input = linearization.input
        self.curvature = curvature
        self.damping = damping
        self.dataScale = dataScale
        shard = nil
        dimension = linearization.parameterCount
        cachedLinearization = linearization
        positionMask = linearization.positionMask
    }

    /// The model linearised at the batch (one forward pass the first time). A layer without a tangent rule
    /// is a typed error, never a silent fallback.
    @discardableResult
    public func linearize() throws(CurvatureError) -> LinearizedModel<Scalar> {
        if let cachedLinearization { return cachedLinearization }
        let l = try LinearizedModel(model, input: input, positionMask: positionMask)
        cachedLinearization = l
        return l
    }

    /// The linearisation; `linearize()` must have succeeded first.
    public var linearization: LinearizedModel<Scalar> {
        guard let cachedLinearization else { preconditionFailure("GaussNewtonOperator: call linearize() before using products") }
        return cachedLinearization
    }

    /// `b`: the examples of the (global) batch.
    public var batchExamples: Int { shard?.globalCount ?? curvature.examples }

    /// Resistors of the device realising `J_f`, `H_L` and `J_fᵀ` of the whole batch: `b d_z (b d_z + 2N)`.
    public var resistorCount: Int {
        let bd = batchExamples * curvature.outputDimension
        return bd * (bd + 2 * dimension)
    }

    /// `result ← α F x + β result` for one vector `x` (`N` values): one JVP, `H_L`, one VJP, `+ λx`;
    /// `scratch` holds `N` values. Needs `linearize()` first. With a shard: the data term of this rank's
    /// examples, summed over the ranks (every rank must call it at the same time).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: UnsafePointer<Scalar>, alpha: Scalar, beta: Scalar, into result: UnsafeMutablePointer<Scalar>,
                      scratch: UnsafeMutablePointer<Scalar>) {
        let linearization = self.linearization
        let n = dimension
        var u = curvature.hessianProduct(linearization.jvp(x))
        u.scale(by: dataScale / Scalar(batchExamples))
        linearization.vjp(u, into: scratch)
        shard?.sumOverRanks(scratch, count: n, what: "summing F·v over the ranks")
        Scalar.axpy(Int32(n), damping, x, 1, scratch, 1)             // scratch = F x
        combine(n, alpha: alpha, scratch, beta: beta, into: result)
        products += 1
    }

    /// The operator of the whole global batch on every rank, without a shard (`self` without one): the
    /// ranks' inputs and output curvatures are all-gathered (`b (in + d)` values). For what needs all
    /// examples together: the exact integrator's eigenbasis (`J Jᵀ` pairs examples of different ranks) and
    /// a non-ideal device's dense arrays. Every rank must call it at the same time; a failed all-reduce
    /// ends the job.
    public func wholeBatch() -> GaussNewtonOperator {
        guard let shard else { return self }
        return GaussNewtonOperator(model: model, input: shard.gatherRows(input, what: "gathering the batch inputs"),
                                   curvature: curvature.gathered(shard), damping: damping, dataScale: dataScale)
    }

    /// The undamped data term `s JᵀMJ` as a dense `N × N` matrix, from the dense Jacobian (`b·d` backward
    /// passes): `O(b d N²)` time, `O(N²)` memory — small models only.
    public func denseMatrix() -> Matrix<Scalar> {
        let (j, mj) = denseJacobian()
        return BLAS.matmul(j, transposeA: true, mj)
    }

    /// The dense Jacobian `J` (`b·d × N`) and `s M J` with `M = blockdiag(Hₙ)/b`, so that the data term is
    /// `Jᵀ (s M J)` (the Woodbury form). Padded token batches use the operator's position mask, as `apply` does.
    public func denseJacobian() -> (jacobian: Matrix<Scalar>, weighted: Matrix<Scalar>) {
        let j = ModelJacobian.dense(model, input: input, positionMask: positionMask)
        var mj = GeneralizedGaussNewton.weightedRows(j, curvature)
        if dataScale != 1 { mj.scale(by: dataScale) }
        return (j, mj)
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
