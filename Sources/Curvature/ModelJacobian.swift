import Linalg
import NeuralNet

/// The dense Jacobian of a model's outputs with respect to all its parameters, for small models (the
/// oracles of exact natural gradient; docs/tngd.md#curvature).
///
/// `J` has `b·d` rows (row `n·d + k` is `∂y_{n,k}/∂θ`) and `N` columns, the parameters flattened in
/// `model.trainableParameters` order, each row-major. Built with one forward pass per example and `d`
/// vector–Jacobian products (`backward` with a unit output gradient) each: `O(b d)` backward passes.
/// **Overwrites every `Parameter.gradient`**; save the gradients first if you still need them.
public enum ModelJacobian {
    /// `J` (`b·d × N`) at `input` (`b × in`), forward in inference mode; each example's forward pass gets its
    /// row of `positionMask` (padded token batches: padding keys get no attention weight, pooling skips them).
    public static func dense<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>, positionMask: PositionMask? = nil) -> Matrix<S> {
        let parameters = model.trainableParameters
        let total = parameters.reduce(0) { $0 + $1.count }
        let d = model.outputFeatures
        var jacobian = Matrix<S>(rows: input.rows * d, columns: total)
        for n in 0..<input.rows {
            let x = Matrix(rows: 1, columns: input.columns, storage: input.row(n))
            _ = model.forward(x, context: ForwardContext(isTraining: false, examples: 1, positionMask: positionMask?.example(n)))
            for k in 0..<d {
                var e = Matrix<S>(rows: 1, columns: d)
                e[0, k] = 1
                model.zeroGradients()
                model.backward(e)
                var offset = 0
                jacobian.withMutableRow(n * d + k) { row in
                    for p in parameters {
                        p.gradient.withUnsafeBufferPointer { g in
                            (row.baseAddress! + offset).update(from: g.baseAddress!, count: g.count)
                        }
                        offset += p.count
                    }
                }
            }
        }
        return jacobian
    }

    /// All parameter gradients flattened in `trainableParameters` order (length `N`).
    public static func flattenedGradients<S: NeuralScalar>(_ model: Sequential<S>) -> [S] {
        model.trainableParameters.flatMap { $0.gradient.storage }
    }

    /// Splits a flat vector (length `N`) into per-parameter matrices keyed by name.
    public static func unflatten<S: NeuralScalar>(_ v: [S], like model: Sequential<S>) -> [String: Matrix<S>] {
        var out: [String: Matrix<S>] = [:]
        var offset = 0
        for p in model.trainableParameters {
            out[p.name] = Matrix(rows: p.value.rows, columns: p.value.columns, storage: Array(v[offset..<(offset + p.count)]))
            offset += p.count
        }
        precondition(offset == v.count, "unflatten: vector has \(v.count) entries, model \(offset)")
        return out
    }
}
