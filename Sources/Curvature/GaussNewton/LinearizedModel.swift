import CBLAS
import Linalg
import NeuralNet

/// A model linearised at one batch: its Jacobian `J_f` (`b·d_z × N`, docs/tngd.md#curvature) as two operators,
/// never formed as a matrix:
/// - `jvp`: `J_f v` for a parameter tangent `v` (flat, `trainableParameters` order) → `b × d_z` output tangent;
/// - `vjp`: `J_fᵀ u` for an output cotangent `u` (`b × d_z`) → flat `N` (the model's own `backward`).
///
/// Construction runs one forward pass (inference mode) and keeps what the tangent rules need per layer
/// (inputs, ReLU masks, im2col patches, max-pool arg-maxima), so that every later product costs only the
/// GEMMs of the rules, about one forward pass for `jvp` and one backward pass for `vjp`:
/// - `Linear`: `ẏ = ẋ Wᵀ + x Ẇᵀ + 1 ḃᵀ`;
/// - `Conv2d`: `ẏ = conv(ẋ; W) + P Ẇᵀ + 1 ḃᵀ` with `P` the im2col patches of `x`;
/// - `ReLU`: `ẏ = 1[x > 0] ⊙ ẋ`; `Tanh`: `ẏ = (1 − y²) ⊙ ẋ`; `GELU`: `ẏ = (Φ(x) + x φ(x)) ⊙ ẋ`;
/// - `LayerNorm` (`x̂ = (x − μ) r`, `r = (σ² + ε)^{-1/2}` per row, `y = γ ⊙ x̂ + β`):
///   `ẏ = γ ⊙ r (ẋ − mean(ẋ) − x̂ mean(x̂ ⊙ ẋ)) + γ̇ ⊙ x̂ + β̇`;
/// - `MaxPool2d`: `ẋ` at each window's arg-max; `AvgPool2d`: the same average of `ẋ` (a linear map);
/// - `Flatten`, `Dropout` (inference mode): `ẏ = ẋ`;
/// - containers: `Sequential` and `PatchEmbedding` (any `SequentialComposition`) are walked stage by stage;
///   `Residual`: `ẏ = ẋ + ḟ(ẋ)` with the body's rules;
/// - the ViT layers (docs/vit.md): `PatchExtraction` and `TokenPooling` are parameter-free linear maps
///   applied to `ẋ`; `PositionEmbedding`: `ẏ = ẋ + Ė` per example; `ClassToken`: `ċ` put in front of each
///   example's `ẋ`; `MultiHeadSelfAttention`: the projections' `Linear` rules and
///   `Ṡ = (Q̇Kᵀ + QK̇ᵀ)/√d`, `Ṗ = P ⊙ (Ṡ − rowsum(P ⊙ Ṡ))`, `Ȯ = ṖV + PV̇` (`attentionTangent`).
/// Other layers (`Branches`, `Embedding`) are reported (`CurvatureError.unsupportedLayer`), never guessed.
///
/// This is the project's one forward-mode implementation: NGD-CG's GGN-vector products
/// (`GeneralizedGaussNewton.product`) and TNGD both use it. Every rule is tested against central
/// differences and the backward-mode dense Jacobian (`LinearizedModelTests`).
///
/// The model's layers keep the caches of this batch afterwards; `vjp` relies on them, so do not run the
/// model on other inputs while the linearisation is in use. `vjp` overwrites the parameter gradients.
public final class LinearizedModel<Scalar: NeuralScalar> {
    public let model: Sequential<Scalar>
    /// The batch the model is linearised at, `b × in`.
    public let input: Matrix<Scalar>
    /// Examples `b`.
    public let examples: Int
    /// Outputs per example `d_z`.
    public let outputDimension: Int
    /// Trainable scalars `N` (frozen parameters are constants of the model: no tangent, no column of `J`).
    public let parameterCount: Int
    /// Where each trainable parameter's `count` values go in the tangent layout of the rules, which has a
    /// slot for every parameter (frozen ones too, filled with zeros); nil when nothing is frozen and `v`
    /// is that layout already.
    let trainableSlots: [(offset: Int, count: Int)]?
    /// Length of the rules' tangent layout (all parameters).
    let layoutCount: Int
    /// The model output at the batch, `b × d_z`.
    public let output: Matrix<Scalar>

    /// One layer's tangent rule with its cached data.
    indirect enum Rule {
        /// `weight`, `bias`: offsets of the trainable parameters' tangents (nil: frozen, no tangent term).
        case linear(input: Matrix<Scalar>, weight: Int?, bias: Int?, layer: Linear<Scalar>)
        /// `patches` is `b·H'·W' × k`; `inputConvolution` is a bias-free copy of the layer (same `W`)
        /// applied to input tangents.
        case convolution(patches: Matrix<Scalar>, weight: Int, bias: Int?, outChannels: Int, patchSize: Int,
                         inputConvolution: Conv2d<Scalar>)
        case mask(Matrix<Scalar>)            // element-wise factor (ReLU, Tanh, GELU)
        /// `normalized` `x̂` and `inverseStd` `r` per row from this batch; `gamma` is `γ` (`1 × f`).
        case layerNorm(normalized: Matrix<Scalar>, inverseStd: [Scalar], gamma: Matrix<Scalar>, weight: Int, bias: Int)
        /// A parameter-free linear layer (average pooling): a private copy applied to the tangent, so the
        /// model's own layer keeps the caches of this batch for `vjp`.
        case linearMap(any Module<Scalar>)
        case gather([Int32], outputFeatures: Int) // max pooling: per output, the input column of its maximum
        case identity
        /// The output has no tangent whatever the input's (frozen `BertEmbeddings` of token ids).
        case noTangent
        /// `ẏ = base(ẋ) + adapter(ẋ)`: a projection with its LoRA adapter (docs/lora.md#adapters).
        case adapted(base: Rule, adapter: [Rule])
        /// `ẏ = ẋ + body(ẋ)`.
        case residual([Rule])
        /// `ẏ = ẋ + Ė` per example: `weight` is `E`'s offset, `T × D` values.
        case positionEmbedding(weight: Int, positions: Int, dimension: Int)
        /// `ċ` (offset `token`, `D` values) in front of each example's `T = positions` tangent rows.
        case classToken(token: Int, dimension: Int, positions: Int)
        /// The projections' `.linear` rules around the layer's own `attentionTangent`.
        case attention(MultiHeadSelfAttention<Scalar>, query: Rule, key: Rule, value: Rule, output: Rule)
    }
    let rules: [Rule]

    /// Which positions of each example are real (padded token sequences), or nil; every forward pass of the
    /// linearisation and every tangent rule runs in `context`, which carries it (attention ignores padded
    /// keys, mean pooling averages real tokens only).
    public let positionMask: PositionMask?
    /// The inference-mode context of this batch (examples `b`, `positionMask`).
    public var context: ForwardContext { ForwardContext(isTraining: false, examples: examples, positionMask: positionMask) }

    /// Linearises `model` at `input` (`b × in`) with the batch's `positionMask` (nil: no padding). Throws
    /// for a layer without a tangent rule.
    public init(_ model: Sequential<Scalar>, input: Matrix<Scalar>, positionMask: PositionMask? = nil) throws(CurvatureError) {
        self.model = model
        self.input = input
        self.positionMask = positionMask
        examples = input.rows
        var offsets: [ObjectIdentifier: Int] = [:]
        var total = 0
        for p in model.namedParameters { offsets[ObjectIdentifier(p)] = total; total += p.count }
        layoutCount = total
        let trainable = model.trainableParameters
        parameterCount = trainable.reduce(0) { $0 + $1.count }
        trainableSlots = parameterCount == total ? nil : trainable.map { (offsets[ObjectIdentifier($0)]!, $0.count) }
        var x = input
        let rules = try Self.rules(for: [model], input: &x, context: ForwardContext(isTraining: false, examples: input.rows, positionMask: positionMask),
                                   offsets: offsets)
        self.rules = rules
        output = x
        outputDimension = x.columns
    }

    /// Patches through a copy of the layer whose kernel is the identity on a patch (`O = k`, no bias):
    /// its NHWC output `b × (H'W'·k)` is exactly `P` (`b·H'·W' × k`) in row-major storage, so the layer's
    /// own im2col is reused rather than written again.
    static func convolutionRule(_ conv: Conv2d<Scalar>, input x: Matrix<Scalar>, offsets: [ObjectIdentifier: Int]) -> Rule {
        var rng = Xoshiro256StarStar(seed: 0)
        let k = conv.patchSize, o = conv.outputShape.channels
        let unfold = Conv2d<Scalar>(input: conv.inputShape, outChannels: k, kernelSize: conv.kernelHeight, stride: conv.stride,
                                    padding: conv.padding, bias: false, rng: &rng)
        unfold.weight.value = .identity(k)
        let p = unfold.forward(x, context: ForwardContext(isTraining: false, examples: x.rows))
        let patches = p.reshaped(rows: p.count / k, columns: k)
        let copy = Conv2d<Scalar>(input: conv.inputShape, outChannels: o, kernelSize: conv.kernelHeight, stride: conv.stride,
                                  padding: conv.padding, bias: false, rng: &rng)
        copy.weight.value = conv.weight.value
        return .convolution(patches: patches, weight: offsets[ObjectIdentifier(conv.weight)]!,
                            bias: conv.bias.map { offsets[ObjectIdentifier($0)]! }, outChannels: o, patchSize: k,
                            inputConvolution: copy)
    }

    /// `x̂` and `r` of every row of `x` computed here from the definition (the layer's own caches are private).
    static func layerNormRule(_ norm: LayerNorm<Scalar>, input x: Matrix<Scalar>, offsets: [ObjectIdentifier: Int]) -> Rule {
        let (n, f) = (x.rows, x.columns)
        var xhat = Matrix<Scalar>(rows: n, columns: f)
        var r = [Scalar](repeating: 0, count: n)
        for i in 0..<n {
            var mean: Scalar = 0
            for j in 0..<f { mean += x[i, j] }
            mean /= Scalar(f)
            var variance: Scalar = 0
            for j in 0..<f { variance += (x[i, j] - mean) * (x[i, j] - mean) }
            r[i] = 1 / (variance / Scalar(f) + norm.epsilon).squareRoot()
            for j in 0..<f { xhat[i, j] = (x[i, j] - mean) * r[i] }
        }
        return .layerNorm(normalized: xhat, inverseStd: r, gamma: norm.weight.value,
                          weight: offsets[ObjectIdentifier(norm.weight)]!, bias: offsets[ObjectIdentifier(norm.bias)]!)
    }

    /// For every output of `pool` at input `x`, the column of `x` (within its row) holding the window's
    /// maximum (first on ties, as `MaxPool2d.backward` routes gradients).
    static func argmax(_ pool: MaxPool2d<Scalar>, _ x: Matrix<Scalar>) -> [Int32] {
        let (ins, outs, k, s) = (pool.inputShape, pool.outputShape, pool.kernelSize, pool.stride)
        let c = ins.channels
        var index = [Int32](repeating: 0, count: x.rows * outs.features)
        x.withUnsafeBufferPointer { xp in
            for n in 0..<x.rows {
                let row = xp.baseAddress! + n * ins.features
                for i in 0..<outs.height { for j in 0..<outs.width { for ch in 0..<c {
                    var best = -Scalar.infinity, at = 0
                    for u in 0..<k { for v in 0..<k {
                        let col = ((i * s + u) * ins.width + (j * s + v)) * c + ch
                        if row[col] > best { best = row[col]; at = col }
                    } }
                    index[n * outs.features + (i * outs.width + j) * c + ch] = Int32(at)
                } } }
            }
        }
        return index
    }

    /// `J_f v`: the output tangent (`b × d_z`) for the parameter tangent at `v` (`N` values).
    public func jvp(_ v: UnsafePointer<Scalar>) -> Matrix<Scalar> {
        guard let trainableSlots else { return jvpInLayout(v) }
        var full = [Scalar](repeating: 0, count: layoutCount)
        var offset = 0
        for (start, count) in trainableSlots {
            full.withUnsafeMutableBufferPointer { (f: inout UnsafeMutableBufferPointer<Scalar>) in
                (f.baseAddress! + start).update(from: v + offset, count: count)
            }
            offset += count
        }
        return full.withUnsafeBufferPointer { jvpInLayout($0.baseAddress!) }
    }

    /// `J v` for `v` in the rules' layout (every parameter, frozen ones zero).
    func jvpInLayout(_ v: UnsafePointer<Scalar>) -> Matrix<Scalar> {
        Self.apply(rules, to: nil, parameters: v, context: context) ?? Matrix(rows: examples, columns: outputDimension)
    }

    /// `J_fᵀ u` written to `result` (`N` values) for the output cotangent `u` (`b × d_z`): the model's
    /// backward pass on the caches of this batch. Overwrites the parameter gradients.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func vjp(_ u: Matrix<Scalar>, into result: UnsafeMutablePointer<Scalar>) {
        precondition(u.rows == examples && u.columns == outputDimension, "vjp: u is \(u.rows)×\(u.columns)")
        model.zeroGradients()
        model.backward(u)
        copyTrainableGradients(into: result)
    }

    /// The trainable parameters' gradients, flat in `trainableParameters` order, into `result` (`N` values).
    func copyTrainableGradients(into result: UnsafeMutablePointer<Scalar>) {
        var offset = 0
        for p in model.trainableParameters {
            p.gradient.withUnsafeBufferPointer { g in (result + offset).update(from: g.baseAddress!, count: g.count) }
            offset += p.count
        }
    }
}
