import Linalg
import NeuralNet

/// The settings of `--model vit` (docs/vit.md), the one home of their defaults and checks: a small ViT
/// for 28×28 grey images — 7×7 patches (16 tokens), width 64, 4 pre-LN blocks of 4 heads, MLP 4·64,
/// mean pooling, no dropout (about 0.2 M parameters).
public struct VisionTransformerConfiguration: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Side `p` of the square patches; must divide the image's side (28: 1, 2, 4, 7, 14, 28).
    public var patchSize = 7
    /// Token width `D`.
    public var width = 64
    /// Transformer blocks.
    public var depth = 4
    /// Attention heads (must divide `width`).
    public var heads = 4
    /// Hidden width of each block's MLP as a multiple of `width`.
    public var mlpRatio = 4
    /// `mean` over the patch tokens, or `first`: a learned class token.
    public var pooling: TokenPoolingKind = .mean
    /// Dropout after the embeddings, each attention and each MLP.
    public var dropout = 0.0

    public init() {}

    /// Throws the first setting out of range for images `imageSide × imageSide`, saying what is allowed.
    public func validate(imageSide: Int = 28) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { .invalidConfiguration("vit: " + message) }
        guard patchSize >= 1, imageSide % patchSize == 0 else {
            let divisors = (1...max(imageSide, 1)).filter { imageSide % $0 == 0 }.map(String.init).joined(separator: ", ")
            throw fail("--vit-patch \(patchSize) must divide the image side \(imageSide) (use one of \(divisors))")
        }
        guard (1...4096).contains(width) else { throw fail("--vit-width must be in 1...4096, got \(width)") }
        guard (1...64).contains(depth) else { throw fail("--vit-depth must be in 1...64, got \(depth)") }
        guard heads >= 1, width % heads == 0 else { throw fail("--vit-heads \(heads) must divide --vit-width \(width)") }
        guard (1...16).contains(mlpRatio) else { throw fail("--vit-mlp-ratio must be in 1...16, got \(mlpRatio)") }
        guard (0..<1).contains(dropout) else { throw fail("--vit-dropout must be in [0, 1), got \(dropout)") }
    }

    /// The model shape for `image` and `classes`.
    public func shape(image: ImageShape, classes: Int) -> VisionTransformerShape {
        VisionTransformerShape(image: image, classes: classes, patchSize: patchSize, width: width, depth: depth, heads: heads,
                               mlpWidth: mlpRatio * width, pooling: pooling, dropout: dropout)
    }

    public var description: String {
        "ViT patch \(patchSize)×\(patchSize), width \(width), depth \(depth), heads \(heads), MLP \(mlpRatio * width), "
            + "\(pooling == .mean ? "mean pooling" : "class token")" + (dropout > 0 ? ", dropout \(dropout)" : "")
    }
}

extension BuiltinModels {
    /// `--model vit`: `Models.visionTransformer` with `TrainingConfiguration.vit` on square grey images.
    static let vit = ModelBuilder(name: "vit", describe: { $0.vit.description }) { r, rng in
        let image = squareImage(r.inputFeatures)
        return Models.visionTransformer(r.configuration.vit.shape(image: image, classes: r.classes), seed: r.configuration.seed, rng: &rng)
    }
}
