import CBLAS
import Linalg

/// A fully connected layer `y = x Wᵀ + b`.
///
/// Shapes: input `x` is `n × in` (n = examples, or examples × positions for a layer shared over
/// positions), weight `W` is `out × in`, bias `b` is `1 × out`, output `y` is `n × out`.
/// Backward with `g = ∂L/∂y`: `∂L/∂W = gᵀx`, `∂L/∂b = gᵀ1`, `∂L/∂x = g W` — three BLAS calls.
///
/// Initialisation (PyTorch's default, Kaiming-uniform with `a = √5`): `W, b ~ U(-1/√in, 1/√in)`.
public final class Linear<Scalar: NeuralScalar>: KroneckerFactored, FixedWidthModule {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter<Scalar>
    public let bias: Parameter<Scalar>?
    public var captureEnabled = false
    public private(set) var capture: KroneckerCapture<Scalar>?

    /// Input of the last forward pass (needed for `∂L/∂W`).
    private var input = Matrix<Scalar>(rows: 0, columns: 0)
    private var examples = 1
    private var rowOffsets: [Int]? = nil
    /// A vector of ones for the bias gradient `gᵀ1`, grown on demand.
    private var ones: [Scalar] = []

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout Xoshiro256StarStar) {
        precondition(inFeatures >= 1 && outFeatures >= 1, "Linear needs positive sizes, got \(inFeatures) → \(outFeatures)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = Scalar(1) / Scalar(inFeatures).squareRoot()
        var w = Matrix<Scalar>(rows: outFeatures, columns: inFeatures)
        w.withUnsafeMutableBufferPointer { rng.fillUniform($0, low: -bound, high: bound) }
        weight = Parameter(name: "weight", value: w)
        if bias {
            var b = Matrix<Scalar>(rows: 1, columns: outFeatures)
            b.withUnsafeMutableBufferPointer { rng.fillUniform($0, low: -bound, high: bound) }
            self.bias = Parameter(name: "bias", value: b)
        } else {
            self.bias = nil
        }
    }

    /// A second application of `other`'s weights: a new instance with its own cache and K-FAC capture
    /// whose `weight` and `bias` are the same `Parameter` objects. Gradients of both uses add up in the
    /// shared parameters, and K-FAC combines both captures into one block (see `KroneckerFactored`).
    public init(sharingParametersWith other: Linear<Scalar>) {
        inFeatures = other.inFeatures
        outFeatures = other.outFeatures
        weight = other.weight
        bias = other.bias
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        bias.map { [("weight", weight), ("bias", $0)] } ?? [("weight", weight)]
    }
    public var summary: String { "Linear(\(inFeatures) → \(outFeatures)\(bias == nil ? ", no bias" : ""))" }

    public var inputWidth: Int { inFeatures }
    public var outputWidth: Int { outFeatures }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        requireInputWidth(x)
        let n = x.rows
        input = x
        examples = context.examples
        rowOffsets = context.rowOffsets
        capture = nil
        return affineForward(x, resultRows: n, resultColumns: outFeatures)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let n = input.rows
        precondition(g.rows == n && g.columns == outFeatures,
                     "Linear(\(inFeatures) → \(outFeatures)) backward got \(g.rows)×\(g.columns), expected \(n)×\(outFeatures)")
        let (k, m) = (inFeatures, outFeatures)
        if captureEnabled {
            capture = KroneckerCapture(activations: input, outputGradients: g, examples: examples, hasBias: trainableBias != nil,
                                       rowOffsets: rowOffsets)
        }
        if options.parameterGradients { accumulateAffineGradients(outputGradient: g, input: input, ones: &ones) }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        guard n > 0 else { return Matrix(rows: 0, columns: k) }
        // GEMM with β = 0 writes every element: no zeroing pass.
        return Matrix<Scalar>(rows: n, columns: k) { dp in
            g.withUnsafeBufferPointer { gp in
                weight.value.withUnsafeBufferPointer { wp in
                    Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(n), Int32(k), Int32(m), 1,
                                gp.baseAddress!, Int32(m), wp.baseAddress!, Int32(k), 0, dp.baseAddress!, Int32(k))
                }
            }
        }
    }
}
