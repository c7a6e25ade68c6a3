import Linalg

/// The shape of a vision transformer (Dosovitskiy et al. 2021; docs/vit.md): patches, width, depth, heads.
/// Plain values; `Training`'s `VisionTransformerConfiguration` holds the defaults and validates them.
public struct VisionTransformerShape: Sendable, Equatable {
    public var image: ImageShape
    public var classes: Int
    /// Side `p` of the square, non-overlapping patches (must divide the image's height and width).
    public var patchSize: Int
    /// Token width `D`.
    public var width: Int
    /// Transformer blocks.
    public var depth: Int
    /// Attention heads `H` (must divide `D`).
    public var heads: Int
    /// Hidden width of each block's MLP (commonly `4D`).
    public var mlpWidth: Int
    /// Class token (`.first`) or mean over the tokens (`.mean`).
    public var pooling: TokenPoolingKind
    /// Dropout after the embeddings, the attention and each MLP (0: none).
    public var dropout: Double

    public init(image: ImageShape, classes: Int, patchSize: Int, width: Int, depth: Int, heads: Int, mlpWidth: Int,
                pooling: TokenPoolingKind, dropout: Double) {
        self.image = image
        self.classes = classes
        self.patchSize = patchSize
        self.width = width
        self.depth = depth
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.pooling = pooling
        self.dropout = dropout
    }

    /// Patch tokens per image `T = (H/p)(W/p)`.
    public var tokens: Int { (image.height / patchSize) * (image.width / patchSize) }
    /// Positions the blocks see: `T`, plus one with a class token.
    public var sequenceLength: Int { tokens + (pooling == .first ? 1 : 0) }
}

extension Models {
    /// A pre-LayerNorm transformer block on `(b·T) × D` token rows (docs/vit.md#blocks):
    ///
    ///     x ← x + Dropout(Attention(LayerNorm(x))),   x ← x + Dropout(W₂ GELU(W₁ LayerNorm(x))),
    ///
    /// as `Sequential[Residual(Sequential[LayerNorm, SelfAttention, Dropout?]),
    /// Residual(Sequential[LayerNorm, Linear(D → mlpWidth), GELU, Linear(mlpWidth → D), Dropout?])]`.
    /// Dropout streams are `dropoutStream` and `dropoutStream + 1`.
    public static func transformerBlock<S: NeuralScalar>(width: Int, heads: Int, mlpWidth: Int, dropout: Double = 0,
                                                         seed: UInt64 = 0, dropoutStream: UInt64 = 0,
                                                         rng: inout Xoshiro256StarStar) -> Sequential<S> {
        var attention: [any Module<S>] = [LayerNorm<S>(width), MultiHeadSelfAttention<S>(dimension: width, heads: heads, rng: &rng)]
        if dropout > 0 { attention.append(Dropout<S>(probability: dropout, seed: seed, stream: dropoutStream)) }
        var mlp: [any Module<S>] = [LayerNorm<S>(width), Linear<S>(width, mlpWidth, rng: &rng), GELU<S>(), Linear<S>(mlpWidth, width, rng: &rng)]
        if dropout > 0 { mlp.append(Dropout<S>(probability: dropout, seed: seed, stream: dropoutStream + 1)) }
        return Sequential(inputFeatures: width, [
            Residual(Sequential(inputFeatures: width, attention)),
            Residual(Sequential(inputFeatures: width, mlp)),
        ])
    }

    /// A vision transformer for images of `shape.image` (docs/vit.md):
    /// `PatchEmbedding → [ClassToken] → PositionEmbedding → [Dropout] → depth × transformerBlock → LayerNorm
    /// → TokenPooling → Linear(D → classes)`. Weights come from `rng` in that order; dropout masks from
    /// `(seed, stream 200 + 2·block + k)` (embedding dropout: stream 199).
    public static func visionTransformer<S: NeuralScalar>(_ shape: VisionTransformerShape, seed: UInt64 = 0,
                                                          rng: inout Xoshiro256StarStar) -> Sequential<S> {
        let d = shape.width
        var layers: [any Module<S>] = [PatchEmbedding<S>(image: shape.image, patchSize: shape.patchSize, dimension: d, rng: &rng)]
        if shape.pooling == .first { layers.append(ClassToken<S>(dimension: d)) }
        layers.append(PositionEmbedding<S>(positions: shape.sequenceLength, dimension: d, rng: &rng))
        if shape.dropout > 0 { layers.append(Dropout<S>(probability: shape.dropout, seed: seed, stream: 199)) }
        for block in 0..<shape.depth {
            layers.append(transformerBlock(width: d, heads: shape.heads, mlpWidth: shape.mlpWidth, dropout: shape.dropout,
                                           seed: seed, dropoutStream: 200 + 2 * UInt64(block), rng: &rng) as Sequential<S>)
        }
        layers.append(LayerNorm<S>(d))
        layers.append(TokenPooling<S>(shape.pooling))
        layers.append(Linear<S>(d, shape.classes, rng: &rng))
        return Sequential(inputFeatures: shape.image.features, layers)
    }
}
