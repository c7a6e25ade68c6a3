import ArgumentParser
import Training

/// The first-order optimisers that may apply a curvature direction (`--inner`, `--kfac-inner`).
///
/// A type of its own so that `--help` lists only these three: taking `TrainingConfiguration.OptimizerKind`
/// listed every optimiser (kfac, tngd, …) among the values, of which all but three are rejected later.
enum InnerOptimizerArgument: String, CaseIterable, ExpressibleByArgument {
    case sgd, adam, adamw

    /// The matching training-configuration kind.
    var kind: TrainingConfiguration.OptimizerKind {
        switch self {
        case .sgd: return .sgd
        case .adam: return .adam
        case .adamw: return .adamw
        }
    }
}
