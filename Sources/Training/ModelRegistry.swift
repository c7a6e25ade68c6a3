import Chemistry
import Foundation
import Linalg
import NeuralNet

/// What a model builder is given: the run's configuration, the data's shape and the weight generator.
public struct ModelRequest {
    public let configuration: TrainingConfiguration
    /// Features of one input row (784 for 28×28 grey images).
    public let inputFeatures: Int
    /// Outputs the model must produce (classes for classification).
    public let classes: Int
}

/// How to build one named model: the name the CLI and `config.json` use (`--model mlp`), a one-line
/// description for printouts, and the builder. Weights must be drawn from the generator passed in (the
/// run's `(seed, stream 1)`), so that a configuration always gives the same initial weights.
public struct ModelBuilder: Sendable {
    /// What a model reads: images (one row per example), encoded molecule graphs (`MoleculeGraphs`) or
    /// padded token ids (`TokenBatch`).
    public enum Input: String, Sendable { case images, moleculeGraphs = "molecule graphs", tokenSequences = "token sequences" }
    public let name: String
    public let input: Input
    public let describe: @Sendable (TrainingConfiguration) -> String
    public let build: @Sendable (ModelRequest, inout Xoshiro256StarStar) -> Sequential<Float>

    public init(name: String, input: Input = .images, describe: @escaping @Sendable (TrainingConfiguration) -> String,
                build: @escaping @Sendable (ModelRequest, inout Xoshiro256StarStar) -> Sequential<Float>) {
        self.name = name
        self.input = input
        self.describe = describe
        self.build = build
    }
}

/// A name the registry refuses, with the names it knows.
public enum ModelRegistryError: Error, Equatable, CustomStringConvertible {
    case duplicateName(String)
    case invalidName(String)

    public var description: String {
        switch self {
        case .duplicateName(let n): "a model named \(n) is already registered (registered: \(ModelRegistry.names.joined(separator: ", ")))"
        case .invalidName(let n): "model name '\(n)' must be non-empty lowercase letters, digits and '-'"
        }
    }
}

/// The models `train`, `bench` and the experiments can build, by name. The built-in ones are `mlp`,
/// `cnn`, `tiny-cnn`, `vit` and `gnn` (molecule graphs); a new workload adds its own without editing this file:
///
///     try ModelRegistry.register(ModelBuilder(name: "residual-mlp", describe: { _ in "residual MLP" }) { request, rng in
///         Sequential(inputFeatures: request.inputFeatures, [
///             Linear(request.inputFeatures, 256, rng: &rng),
///             Residual(Sequential(inputFeatures: 256, [LayerNorm(256), Linear(256, 256, rng: &rng), GELU()])),
///             Linear(256, request.classes, rng: &rng),
///         ])
///     })
///
/// after which `TrainingConfiguration.ModelKind(rawValue: "residual-mlp")` and `--model residual-mlp`
/// exist. Registration is process-wide and thread-safe; register before parsing options or decoding a
/// saved configuration that names the model.
public enum ModelRegistry {
    private final class Table: @unchecked Sendable {
        let lock = NSLock()
        var builders: [String: ModelBuilder] = [:]
        var order: [String] = []
    }
    private static let table: Table = {
        let t = Table()
        for b in BuiltinModels.all { t.builders[b.name] = b; t.order.append(b.name) }
        return t
    }()

    /// Adds `builder`; its name must be new.
    public static func register(_ builder: ModelBuilder) throws(ModelRegistryError) {
        let valid = !builder.name.isEmpty && builder.name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
        }
        guard valid else { throw .invalidName(builder.name) }
        table.lock.lock()
        defer { table.lock.unlock() }
        guard table.builders[builder.name] == nil else { throw .duplicateName(builder.name) }
        table.builders[builder.name] = builder
        table.order.append(builder.name)
    }

    /// The builder called `name`, if registered.
    public static func builder(named name: String) -> ModelBuilder? {
        table.lock.lock()
        defer { table.lock.unlock() }
        return table.builders[name]
    }

    /// Throws unless the model `name` reads images or molecule graphs (the data `Trainer.loadTrainingData`
    /// loads); the message names the fix.
    public static func requireImageModel(_ name: String) throws(TrainingError) {
        guard let b = builder(named: name), b.input != .images, b.input != .moleculeGraphs else { return }
        throw .invalidConfiguration("--model \(name) reads \(b.input.rawValue), not images or molecules "
                                    + "(text: thermograd train or experiment lora with --model minilm-lora, docs/lora.md#training)")
    }

    /// Registered names, built-in ones first, then in registration order.
    public static var names: [String] {
        table.lock.lock()
        defer { table.lock.unlock() }
        return table.order
    }
}

/// The Fashion-MNIST models of the experiments (see `Models`), as registry entries.
enum BuiltinModels {
    static let all: [ModelBuilder] = [mlp, cnn, tinyCNN, vit, gnn, miniLMLoRA]

    /// `--model minilm-lora`: the `LoRAClassifier` shape with random encoder weights, taking `lora.length`
    /// token ids per example whatever `inputFeatures` says (it is a text model: the Fashion-MNIST paths refuse
    /// it, `Trainer` included); the text runs (`LoRAExperimentRunner`) build it with the pretrained weights.
    static let miniLMLoRA = ModelBuilder(name: "minilm-lora", input: .tokenSequences, describe: { $0.lora.description }) { r, _ in
        LoRAClassifier(bert: .miniLML6, settings: r.configuration.lora, classes: r.classes, seed: r.configuration.seed).model
    }

    /// `mlpSizes` with the first and last widths replaced by the data's; dropout after each hidden ReLU.
    static let mlp = ModelBuilder(name: "mlp", describe: { "MLP " + $0.mlpSizes.map(String.init).joined(separator: "-") }) { r, rng in
        let c = r.configuration
        var sizes = c.mlpSizes
        sizes[0] = r.inputFeatures
        sizes[sizes.count - 1] = r.classes
        var layers: [any Module<Float>] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear<Float>(sizes[i], sizes[i + 1], rng: &rng))
            if i + 2 < sizes.count {
                layers.append(ReLU<Float>())
                if c.dropout > 0 {
                    layers.append(Dropout<Float>(probability: c.dropout, seed: c.seed, stream: 100 + UInt64(layers.count)))
                }
            }
        }
        return Sequential(inputFeatures: sizes[0], layers)
    }

    static let cnn = ModelBuilder(name: "cnn", describe: { _ in "small CNN (conv32-pool-conv64-pool-fc128)" }) { r, rng in
        Models.smallConvolutional(image: squareImage(r.inputFeatures), classes: r.classes, rng: &rng)
    }

    static let tinyCNN = ModelBuilder(name: "tiny-cnn", describe: { _ in "tiny CNN (conv8 5×5-pool-conv16 3×3-pool-fc10)" }) { r, rng in
        Models.tinyConvolutional(image: squareImage(r.inputFeatures), classes: r.classes, rng: &rng)
    }

    static func squareImage(_ features: Int) -> ImageShape {
        let side = Int(Double(features).squareRoot())
        precondition(side * side == features, "the CNN and the ViT need square single-channel images, got \(features) features")
        return ImageShape(height: side, width: side, channels: 1)
    }
}
