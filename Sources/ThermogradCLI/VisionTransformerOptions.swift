import ArgumentParser
import NeuralNet
import Training

extension TokenPoolingKind: ExpressibleByArgument {}

/// The `--vit-*` options of `--model vit` (train, bench train-step, experiment compare). Every option is
/// optional: one the user did not pass keeps `VisionTransformerConfiguration`'s default, shown in `--help`.
struct VisionTransformerOptions: ParsableArguments, ModelSpecificOptions {
    private static let defaults = VisionTransformerConfiguration()
    static let owner = TrainingConfiguration.ModelKind.vit
    static let optionsName = "--vit-* options"

    @Option(name: .customLong("vit-patch"), help: "Patch side p; 28×28 images give (28/p)² tokens: 7 → 16, 4 → 49 (default \(defaults.patchSize)).")
    var patch: Int?
    @Option(name: .customLong("vit-width"), help: "Token width D (default \(defaults.width)).")
    var width: Int?
    @Option(name: .customLong("vit-depth"), help: "Transformer blocks (default \(defaults.depth)).")
    var depth: Int?
    @Option(name: .customLong("vit-heads"), help: "Attention heads, dividing the width (default \(defaults.heads)).")
    var heads: Int?
    @Option(name: .customLong("vit-mlp-ratio"), help: "Hidden width of each block's MLP as a multiple of D (default \(defaults.mlpRatio)).")
    var mlpRatio: Int?
    @Option(name: .customLong("vit-pooling"), help: "mean (over the patch tokens) or first (a learned class token) (default \(defaults.pooling.rawValue)).")
    var pooling: TokenPoolingKind?
    @Option(name: .customLong("vit-dropout"), help: "Dropout after the embeddings, attention and MLPs (default \(defaults.dropout)).")
    var dropout: Double?

    var overrides: [(inout VisionTransformerConfiguration) -> Void] {
        var o: [(inout VisionTransformerConfiguration) -> Void] = []
        if let patch { o.append { $0.patchSize = patch } }
        if let width { o.append { $0.width = width } }
        if let depth { o.append { $0.depth = depth } }
        if let heads { o.append { $0.heads = heads } }
        if let mlpRatio { o.append { $0.mlpRatio = mlpRatio } }
        if let pooling { o.append { $0.pooling = pooling } }
        if let dropout { o.append { $0.dropout = dropout } }
        return o
    }
}
