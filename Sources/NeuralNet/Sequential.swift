import Linalg

/// Layers applied one after another: `f = f_{L-1} ∘ … ∘ f_0`.
///
/// Parameters are named `"layers.<index>.<local name>"` (`"layers.0.weight"`), the keys that optimiser
/// state and checkpoints use. `backward` runs the layers in reverse and skips the input gradient of the
/// first layer unless asked for it.
public final class Sequential<Scalar: NeuralScalar>: Layer {
    public let layers: [any Layer<Scalar>]
    /// Input features the model expects.
    public let inputFeatures: Int
    /// Output features (e.g. class logits).
    public let outputFeatures: Int
    /// Every parameter with its full name, in layer order; built once.
    public let namedParameters: [Parameter<Scalar>]

    /// A model from `layers`; the shapes are checked once, here, starting from `inputFeatures`.
    public init(inputFeatures: Int, _ layers: [any Layer<Scalar>]) {
        precondition(!layers.isEmpty, "Sequential needs at least one layer")
        self.layers = layers
        self.inputFeatures = inputFeatures
        var features = inputFeatures
        for layer in layers { features = layer.outputFeatures(forInput: features) }
        self.outputFeatures = features
        var named: [Parameter<Scalar>] = []
        for (i, layer) in layers.enumerated() {
            for p in layer.parameters {
                p.name = "layers.\(i).\(p.name)"
                named.append(p)
            }
        }
        self.namedParameters = named
    }

    public var parameters: [Parameter<Scalar>] { namedParameters }
    public var summary: String { layers.map(\.summary).joined(separator: " → ") }
    /// Total number of trainable scalars.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.count } }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == self.inputFeatures,
                     "model expects \(self.inputFeatures) input features, got \(inputFeatures)")
        return outputFeatures
    }

    /// The parameter called `name`, if any.
    public func parameter(named name: String) -> Parameter<Scalar>? { namedParameters.first { $0.name == name } }

    /// The layers that can capture K-FAC statistics, with their names (`"layers.0"`).
    public var kroneckerFactoredLayers: [(name: String, layer: any KroneckerFactored<Scalar>)] {
        layers.enumerated().compactMap { i, l in (l as? any KroneckerFactored<Scalar>).map { ("layers.\(i)", $0) } }
    }

    /// Turns capture of `a` and `g` on or off in every Kronecker-factored layer.
    public func setCapture(_ enabled: Bool) {
        for (_, layer) in kroneckerFactoredLayers { layer.captureEnabled = enabled }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        var x = input
        for layer in layers { x = layer.forward(x, context: context) }
        return x
    }

    /// Convenience: forward with `examples = input.rows`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ input: Matrix<Scalar>, training: Bool) -> Matrix<Scalar> {
        forward(input, context: ForwardContext(isTraining: training, examples: input.rows))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        var g = outputGradient
        for (i, layer) in layers.enumerated().reversed() {
            var o = options
            if i > 0 { o.inputGradient = true }
            g = layer.backward(g, options: o)
        }
        return g
    }

    /// Backward for training: parameter gradients, no gradient with respect to the data.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>) {
        _ = backward(outputGradient, options: BackwardOptions(parameterGradients: true, inputGradient: false))
    }
}
