import Linalg

/// A container whose forward pass is its `stages` applied in order (`Sequential`, `PatchEmbedding`):
/// tools that walk a model layer by layer (the linearised model of the natural-gradient methods) flatten it.
public protocol SequentialComposition<Scalar>: Module {
    var stages: [any Module<Scalar>] { get }
}

/// Modules applied one after another: `f = f_{L-1} ∘ … ∘ f_0`; the usual root of a model.
///
/// Children are named `"layers.<index>"`, so parameters are `"layers.<index>.<path in the child>"`
/// (`"layers.0.weight"`, or `"layers.2.body.layers.0.weight"` inside a nested container): the keys that
/// optimiser state and checkpoints use. `backward` runs the layers in reverse and skips the input
/// gradient of the first layer unless asked for it.
public final class Sequential<Scalar: NeuralScalar>: Module, SequentialComposition {
    public let layers: [any Module<Scalar>]
    /// Input features the model expects.
    public let inputFeatures: Int
    /// Output features (e.g. class logits).
    public let outputFeatures: Int
    /// Every distinct parameter (frozen ones included) with `name` set to its full path, in tree order;
    /// built once (see `trainableParameters` for what optimisers update).
    public private(set) var namedParameters: [Parameter<Scalar>]

    /// A model from `layers`; the shapes are checked once, here, starting from `inputFeatures`.
    /// Traps if a module instance appears twice in the tree (see `Module`).
    public init(inputFeatures: Int, _ layers: [any Module<Scalar>]) {
        precondition(!layers.isEmpty, "Sequential needs at least one layer")
        self.layers = layers
        self.inputFeatures = inputFeatures
        var features = inputFeatures
        for layer in layers { features = layer.outputFeatures(forInput: features) }
        self.outputFeatures = features
        self.namedParameters = []
        requireDistinctInstances("Sequential")
        assignParameterPaths()
        self.namedParameters = allParameters
    }

    public var children: [(name: String, module: any Module<Scalar>)] {
        layers.enumerated().map { ("layers.\($0)", $1) }
    }
    public var summary: String { layers.map(\.summary).joined(separator: " → ") }
    public var stages: [any Module<Scalar>] { layers }
    /// The parameters an optimiser updates: `namedParameters` without the frozen ones.
    public var trainableParameters: [Parameter<Scalar>] { namedParameters.filter(\.isTrainable) }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == self.inputFeatures,
                     "model expects \(self.inputFeatures) input features, got \(inputFeatures)")
        return outputFeatures
    }

    /// The parameter whose full path is `name`, if any.
    public func parameter(named name: String) -> Parameter<Scalar>? { namedParameters.first { $0.name == name } }

    /// The modules anywhere in the tree that can capture K-FAC statistics and whose weight is trainable,
    /// with their paths (`"layers.0"`), in tree order.
    public var kroneckerFactoredLayers: [(name: String, layer: any KroneckerFactored<Scalar>)] {
        namedModules().compactMap { path, m in
            guard let k = m as? any KroneckerFactored<Scalar>, k.weight.isTrainable else { return nil }
            return (path, k)
        }
    }

    /// Turns capture of `a` and `g` on or off in every Kronecker-factored module with a trainable weight.
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
