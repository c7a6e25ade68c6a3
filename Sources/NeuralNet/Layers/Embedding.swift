import Linalg

/// A lookup table `y = E[t]`: each input entry is a token index `t ∈ 0..<vocabulary` (stored as a
/// whole number in the input matrix), each output row the `dimension`-long row of `E` for it.
///
/// Shapes: input `b × T` (examples × positions), output `(b·T) × dimension` — one row per position, so
/// that the following layers are applied per position with shared weights (K-FAC sees `positions = T`).
/// Backward adds `g` into `∂L/∂E` row by row (rows of repeated tokens add up); the input has no gradient
/// (a zero matrix is returned when one is asked for). Initialisation (PyTorch): `E ~ N(0, 1)`.
public final class Embedding<Scalar: NeuralScalar>: Module {
    public let vocabulary: Int
    public let dimension: Int
    public let weight: Parameter<Scalar>
    private var tokens: [Int] = []
    private var inputShape = (rows: 0, columns: 0)

    public init(vocabulary: Int, dimension: Int, rng: inout Xoshiro256StarStar) {
        precondition(vocabulary >= 1 && dimension >= 1, "Embedding needs a positive vocabulary and dimension")
        self.vocabulary = vocabulary
        self.dimension = dimension
        weight = Parameter(name: "weight", value: rng.normalMatrix(rows: vocabulary, columns: dimension))
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight)] }
    public var summary: String { "Embedding(\(vocabulary) × \(dimension))" }
    /// Output features per row; the row count grows by the number of positions.
    public func outputFeatures(forInput inputFeatures: Int) -> Int { dimension }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        inputShape = (x.rows, x.columns)
        tokens = x.storage.map { value in
            let t = Int(value.rounded())
            precondition(t >= 0 && t < vocabulary, "Embedding: token \(value) outside 0..<\(vocabulary)")
            return t
        }
        let d = dimension
        var y = Matrix<Scalar>(rows: tokens.count, columns: d)
        weight.value.withUnsafeBufferPointer { ep in
            y.withUnsafeMutableBufferPointer { yp in
                for (r, t) in tokens.enumerated() { (yp.baseAddress! + r * d).update(from: ep.baseAddress! + t * d, count: d) }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.rows == tokens.count && g.columns == dimension, "\(summary) backward got \(g.rows)×\(g.columns)")
        let d = dimension
        if options.parameterGradients && weight.isTrainable {
            g.withUnsafeBufferPointer { gp in
                weight.gradient.withUnsafeMutableBufferPointer { dp in
                    for (r, t) in tokens.enumerated() {
                        Scalar.axpy(Int32(d), 1, gp.baseAddress! + r * d, 1, dp.baseAddress! + t * d, 1)
                    }
                }
            }
        }
        return options.inputGradient ? Matrix(rows: inputShape.rows, columns: inputShape.columns) : Matrix(rows: 0, columns: 0)
    }
}
