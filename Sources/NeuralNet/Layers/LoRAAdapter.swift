import Linalg

/// The low-rank update of a frozen projection `y = x Wᵀ + b` (LoRA, Hu et al. 2021; docs/lora.md#adapters):
///
///     Δy = (α/r) · drop(x) Aᵀ Bᵀ,    so that the adapted layer computes  x (W + (α/r) B A)ᵀ + b
///
/// with `A` (`r × in`, the child `"down"`, Kaiming-uniform `U(±1/√in)` like `Linear`) and `B`
/// (`out × r`, the child `"up"`, **zero**-initialised, so the adapted model starts as the pretrained one),
/// `drop` inverted dropout on the adapter's input (training mode only) and `α/r` a fixed scale.
///
/// The adapter is a `SequentialComposition` of `Dropout → Linear(in → r) → Linear(r → out) → Scale(α/r)`:
/// both factors are ordinary bias-free `Linear` layers applied at every token, so K-FAC and TK-FAC see
/// them as two Kronecker blocks over `T` positions (expand/reduce), the linearised model walks them with
/// its `Linear` rules, and gradients flow through the usual backward passes. It holds only `A` and `B`;
/// the frozen `W`, `b` stay in the layer it adapts (`MultiHeadSelfAttention.attachAdapters`).
public final class LoRAAdapter<Scalar: NeuralScalar>: Module, SequentialComposition {
    public let rank: Int
    public let alpha: Double
    /// `A`, `r × in`.
    public let down: Linear<Scalar>
    /// `B`, `out × r`, zero at construction.
    public let up: Linear<Scalar>
    public let dropout: Dropout<Scalar>
    public let scale: Scale<Scalar>

    /// An adapter for a `inFeatures → outFeatures` projection. `rng` draws `A`; `dropoutSeed` and
    /// `dropoutStream` seed the dropout masks.
    public init(inFeatures: Int, outFeatures: Int, rank: Int, alpha: Double, dropout: Double,
                dropoutSeed: UInt64, dropoutStream: UInt64, rng: inout Xoshiro256StarStar) {
        precondition(rank >= 1 && rank <= min(inFeatures, outFeatures),
                     "LoRAAdapter: rank \(rank) must be in 1...\(min(inFeatures, outFeatures))")
        precondition(alpha > 0 && alpha.isFinite, "LoRAAdapter: alpha must be positive, got \(alpha)")
        self.rank = rank
        self.alpha = alpha
        down = Linear(inFeatures, rank, bias: false, rng: &rng)
        up = Linear(rank, outFeatures, bias: false, rng: &rng)
        up.weight.value = Matrix(rows: outFeatures, columns: rank)
        self.dropout = Dropout(probability: dropout, seed: dropoutSeed, stream: dropoutStream)
        scale = Scale(Scalar(alpha / Double(rank)))
    }

    public var stages: [any Module<Scalar>] { [dropout, down, up, scale] }
    public var children: [(name: String, module: any Module<Scalar>)] {
        [("dropout", dropout), ("down", down), ("up", up), ("scale", scale)]
    }
    public var summary: String {
        "LoRA(\(down.inFeatures) → \(up.outFeatures), r \(rank), α \(alpha)\(dropout.probability > 0 ? ", dropout \(dropout.probability)" : ""))"
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == down.inFeatures, "\(summary) got \(inputFeatures) input features")
        return up.outFeatures
    }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        var h = x
        for stage in stages { h = stage.forward(h, context: context) }
        return h
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        var d = scale.backward(g, options: .full)
        d = up.backward(d, options: BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: true))
        d = down.backward(d, options: BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: options.inputGradient))
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return dropout.backward(d, options: .full)
    }

    /// `(α/r) B A` (`out × in`): what merging adds to the frozen weight for export (`W + (α/r) B A`).
    public var weightUpdate: Matrix<Scalar> {
        var delta = up.weight.value * down.weight.value
        delta.scale(by: scale.factor)
        return delta
    }
}

/// `y = c · x` for a fixed `c` (the `α/r` of a `LoRAAdapter`); backward `∂L/∂x = c · g`. No parameters.
public final class Scale<Scalar: NeuralScalar>: Module {
    public let factor: Scalar

    public init(_ factor: Scalar) { self.factor = factor }

    public var summary: String { "Scale(\(factor))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        var y = x
        y.scale(by: factor)
        return y
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        var d = g
        d.scale(by: factor)
        return d
    }
}
