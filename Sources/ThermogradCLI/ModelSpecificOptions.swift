import ArgumentParser
import Training

/// An option group that shapes one model only (`--vit-*`, `--gnn-*`, `--lora-*`): its options are optionals, and
/// passing any of them with another `--model` is refused with one message naming the options and their model.
protocol ModelSpecificOptions {
    /// The model these options shape.
    static var owner: TrainingConfiguration.ModelKind { get }
    /// How the refusal names the options, for example "--vit-* options".
    static var optionsName: String { get }
    /// Whether any of the options was passed.
    var isUsed: Bool { get }
}

extension ModelSpecificOptions {
    /// Refuses these options with a model other than `owner`.
    func check(model: TrainingConfiguration.ModelKind) throws {
        if isUsed && model != Self.owner {
            throw ValidationError("\(Self.optionsName) apply to --model \(Self.owner.rawValue) only (got --model \(model.rawValue))")
        }
    }
}
