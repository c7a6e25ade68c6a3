import CBLAS
import Linalg

/// Forward-mode differentiation (Jacobian–vector products) of a model: the tangent `ẏ = J_θ θ̇` of the
/// outputs for a tangent `θ̇` of the parameters, with the rules
/// - `Linear`: `ẏ = ẋ Wᵀ + x Ẇᵀ + 1 ḃᵀ`;
/// - `ReLU`: `ẏ = 1[x > 0] ⊙ ẋ`; `Tanh`: `ẏ = (1 − y²) ⊙ ẋ`; `GELU`: `ẏ = (Φ(x) + x φ(x)) ⊙ ẋ`;
/// - `Flatten`, `Dropout` in inference mode: `ẏ = ẋ`; `Sequential`: the chain rule.
///
/// One call costs about two forward passes. With the vector–Jacobian product of `backward` this gives the
/// GGN-vector product `F v = (1/b) Jᵀ H J v` without forming `J` (NGD-CG, TNGD; REFERENCE.md §4).
/// Other layer types (Conv2d, LayerNorm, pooling, …) have no rule yet and are reported, not guessed.
public enum ForwardTangent {
    /// A layer type without a tangent rule.
    public struct UnsupportedLayer: Error, CustomStringConvertible {
        public let summary: String
        public var description: String {
            "forward-mode tangent: no rule for \(summary); use a model of Linear/ReLU/Tanh/GELU/Flatten layers"
        }
    }

    /// Outputs `y = f(x)` and their tangent for parameter tangents `tangents` (keyed by parameter name,
    /// same shapes; a missing name means a zero tangent). Runs the layers' forward passes (inference
    /// mode), so their caches afterwards belong to `input`.
    public static func jvp<S: NeuralScalar>(_ model: Sequential<S>, input: Matrix<S>,
                                           tangents: [String: Matrix<S>]) throws(UnsupportedLayer)
        -> (output: Matrix<S>, tangent: Matrix<S>) {
        let context = ForwardContext(isTraining: false, examples: input.rows)
        return try propagate(model, input, Matrix(rows: input.rows, columns: input.columns), tangents, context)
    }

    private static func propagate<S: NeuralScalar>(_ layer: any Layer<S>, _ x: Matrix<S>, _ dx: Matrix<S>,
                                                  _ tangents: [String: Matrix<S>], _ context: ForwardContext)
        throws(UnsupportedLayer) -> (Matrix<S>, Matrix<S>) {
        switch layer {
        case let seq as Sequential<S>:
            var (y, dy) = (x, dx)
            for l in seq.layers { (y, dy) = try propagate(l, y, dy, tangents, context) }
            return (y, dy)
        case let linear as Linear<S>:
            let y = linear.forward(x, context: context)
            // ẏ = ẋ Wᵀ + x Ẇᵀ + 1 ḃᵀ
            var dy = BLAS.matmul(dx, linear.weight.value, transposeB: true)
            if let dw = tangents[linear.weight.name] { dy.axpy(1, BLAS.matmul(x, dw, transposeB: true)) }
            if let bias = linear.bias, let db = tangents[bias.name] {
                let (rows, columns) = (dy.rows, dy.columns)
                dy.withUnsafeMutableBufferPointer { p in
                    db.withUnsafeBufferPointer { bp in
                        for i in 0..<rows { S.axpy(Int32(columns), 1, bp.baseAddress!, 1, p.baseAddress! + i * columns, 1) }
                    }
                }
            }
            return (y, dy)
        case is ReLU<S>:
            let y = layer.forward(x, context: context)
            return (y, scaled(dx, by: x) { $0 > 0 ? 1 : 0 })
        case is Tanh<S>:
            let y = layer.forward(x, context: context)
            return (y, scaled(dx, by: y) { 1 - $0 * $0 })
        case is GELU<S>:
            let y = layer.forward(x, context: context)
            let invSqrt2 = 1 / S(2).squareRoot()
            let invSqrt2Pi = 1 / (2 * S.pi).squareRoot()
            return (y, scaled(dx, by: x) { v in
                S(0.5) * (1 + S.errorFunction(v * invSqrt2)) + v * invSqrt2Pi * S.exponential(-S(0.5) * v * v)
            })
        case is Flatten<S>, is Dropout<S>:
            return (layer.forward(x, context: context), dx)
        default:
            throw UnsupportedLayer(summary: layer.summary)
        }
    }

    /// `dx ⊙ f(reference)` element-wise.
    private static func scaled<S: BLASScalar>(_ dx: Matrix<S>, by reference: Matrix<S>, _ f: (S) -> S) -> Matrix<S> {
        var out = dx
        reference.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { o in for i in o.indices { o[i] *= f(r[i]) } }
        }
        return out
    }
}
