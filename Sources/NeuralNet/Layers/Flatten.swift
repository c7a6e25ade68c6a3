import Linalg

/// Flattens an image batch to one feature vector per example. Activations are already stored one
/// example per row (NHWC), so this is the identity on the data; it exists to make the model read like
/// its diagram and to check the feature count. Note the NHWC order `(y, x, c)` differs from PyTorch's
/// `(c, y, x)` flatten order, which matters only when importing PyTorch weights.
public final class Flatten<Scalar: NeuralScalar>: Module {
    public init() {}
    public var summary: String { "Flatten" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> { x }
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        options.inputGradient ? g : Matrix(rows: 0, columns: 0)
    }
}
