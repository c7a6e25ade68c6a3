import ArgumentParser
import Training

/// An option group that shapes one model only (`--vit-*`, `--gnn-*`, `--lora-*`): its options are optionals written
/// over the model's configuration only when passed, and passing any of them with another `--model` is refused with
/// one message naming the options and their model. A conformer lists each passed option's write once, in `overrides`.
protocol ModelSpecificOptions {
    /// The configuration the options write into (its defaults are the options' defaults).
    associatedtype Configuration
    /// The model these options shape.
    static var owner: TrainingConfiguration.ModelKind { get }
    /// How the refusal names the options, for example "--vit-* options".
    static var optionsName: String { get }
    /// The options the user passed, each as the write of its setting.
    var overrides: [(inout Configuration) -> Void] { get }
}

extension ModelSpecificOptions {
    /// Whether any of the options was passed.
    var isUsed: Bool { !overrides.isEmpty }

    /// Writes the passed settings over `configuration`.
    func apply(to configuration: inout Configuration) {
        for write in overrides { write(&configuration) }
    }

    /// Refuses these options with a model other than `owner`.
    func check(model: TrainingConfiguration.ModelKind) throws {
        if isUsed && model != Self.owner {
            throw ValidationError("\(Self.optionsName) apply to --model \(Self.owner.rawValue) only (got --model \(model.rawValue))")
        }
    }
}
