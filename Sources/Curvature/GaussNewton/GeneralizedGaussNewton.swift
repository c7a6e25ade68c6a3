import Linalg
import NeuralNet

/// The generalised Gauss–Newton matrix of a model and loss on a batch (docs/tngd.md#curvature),
///
///     F = (1/b) Σₙ Jₙᵀ Hₙ Jₙ = Jᵀ M J,   M = blockdiag(Hₙ)/b,
///
/// with `Jₙ = ∂yₙ/∂θ` (`d × N`) and `Hₙ` the loss Hessian in the outputs (`OutputCurvature`). For MSE and
/// softmax cross-entropy `F` is also the (true) Fisher information. Damping `λI` is added by the solvers.
///
/// Both entry points run forward/backward passes on `model` and **overwrite its parameter gradients**.
public enum GeneralizedGaussNewton {
    /// Dense `F` (`N × N`) from the dense Jacobian (`ModelJacobian.dense`): small models only.
    public static func dense<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>,
                                              curvature: OutputCurvature<S>) -> Matrix<S> {
        let j = ModelJacobian.dense(model, input: input)
        return BLAS.matmul(j, transposeA: true, weightedRows(j, curvature))
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

    /// `F v` without forming `J`: one Jacobian–vector product (`LinearizedModel.jvp`), `M` applied per
    /// example, one vector–Jacobian product (`backward`). `v` and the result are flat in
    /// `model.trainableParameters` order. Linearises the model at `input` on every call (one extra forward);
    /// a solver making many products should linearise once and use `product(_:curvature:_:)`.
    public static func product<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>, curvature: OutputCurvature<S>,
                                                _ v: [S]) throws(CurvatureError) -> [S] {
        product(try linearize(model, input: input), curvature: curvature, v)
    }

    /// `model` linearised at `input` (one forward pass, inference mode); a layer without a tangent rule is
    /// a typed error (`.unsupportedLayer`), never a silent fallback.
    public static func linearize<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>) throws(CurvatureError) -> LinearizedModel<S> {
        try LinearizedModel(model, input: input)
    }

    /// `F v = (1/b) Jᵀ H J v` on a linearisation: `jvp`, `H/b` per example, `vjp`. Overwrites the gradients.
    public static func product<S: NeuralScalar>(_ linearization: LinearizedModel<S>, curvature: OutputCurvature<S>,
                                                _ v: [S]) -> [S] {
        precondition(v.count == linearization.parameterCount, "GGN product: v has \(v.count) entries for \(linearization.parameterCount) parameters")
        let tangent = v.withUnsafeBufferPointer { linearization.jvp($0.baseAddress!) }
        var u = curvature.hessianProduct(tangent)
        u.scale(by: 1 / S(curvature.examples))
        var out = [S](repeating: 0, count: v.count)
        out.withUnsafeMutableBufferPointer { linearization.vjp(u, into: $0.baseAddress!) }
        return out
    }
}
