import Linalg
import NeuralNet

/// The generalised Gauss–Newton matrix of a model and loss on a batch (docs/tngd.md#curvature),
///
///     F = (1/b) Σₙ Jₙᵀ Hₙ Jₙ = Jᵀ M J,   M = blockdiag(Hₙ)/b,
///
/// with `Jₙ = ∂yₙ/∂θ` (`d × N`) and `Hₙ` the loss Hessian in the outputs (`OutputCurvature`). For MSE and
/// softmax cross-entropy `F` is also the (true) Fisher information. The dense oracles of the tests; the
/// products and the damping `λI` belong to `GaussNewtonOperator`.
///
/// Every entry point runs forward/backward passes on `model` and **overwrites its parameter gradients**.
public enum GeneralizedGaussNewton {
    /// Dense `F` (`N × N`) from the dense Jacobian (`ModelJacobian.dense`): small models only.
    public static func dense<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>,
                                              curvature: OutputCurvature<S>) -> Matrix<S> {
        GaussNewtonOperator(model: model, input: input, curvature: curvature, damping: 0).denseMatrix()
    }

    /// `M J`: block `n` of `J`'s rows multiplied by `Hₙ / b` (`b·d × N`).
    public static func weightedRows<S: NeuralScalar>(_ j: Matrix<S>, _ curvature: OutputCurvature<S>) -> Matrix<S> {
        let (b, d, n) = (curvature.examples, curvature.outputDimension, j.columns)
        precondition(j.rows == b * d, "GGN: Jacobian has \(j.rows) rows for \(b) examples × \(d) outputs")
        var out = Matrix<S>(rows: j.rows, columns: n)
        for e in 0..<b {
            let h = curvature.hessian(example: e)
            let block = Matrix(rows: d, columns: n, storage: Array(j.storage[(e * d * n)..<((e + 1) * d * n)]))
            var hb = BLAS.matmul(h, block)
            hb.scale(by: 1 / S(b))
            out.withUnsafeMutableBufferPointer { o in
                hb.withUnsafeBufferPointer { src in (o.baseAddress! + e * d * n).update(from: src.baseAddress!, count: d * n) }
            }
        }
        return out
    }

    /// `F v` without forming `J` (flat, `model.trainableParameters` order): `GaussNewtonOperator`'s product
    /// with `λ = 0` after linearising the model at `input` (one extra forward). A solver making many products
    /// keeps one `GaussNewtonOperator` instead.
    public static func product<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>, curvature: OutputCurvature<S>,
                                                _ v: [S]) throws(CurvatureError) -> [S] {
        let f = GaussNewtonOperator(model: model, input: input, curvature: curvature, damping: 0)
        try f.linearize()
        return f.product(v)
    }
}
