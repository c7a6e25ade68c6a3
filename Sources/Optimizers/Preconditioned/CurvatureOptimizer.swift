import Curvature
import Linalg
import NeuralNet

/// An optimiser that needs the batch's curvature besides the gradients (K-FAC, natural gradient).
///
/// The training loop calls `observeCurvature` after the ordinary forward and backward passes of a step
/// and before `update`; it may run extra backward passes (K-FAC's true-Fisher labels) — these leave the
/// parameter gradients untouched. `stepMetrics` are the per-step figures for the metrics CSV.
public protocol CurvatureOptimizer<Scalar>: Optimizer where Scalar: NeuralScalar {
    func observeCurvature(_ batch: CurvatureBatch<Scalar>)
    /// Column name → value for the last `update` (seconds per phase, damping, counters), fixed order.
    var stepMetrics: [(name: String, value: Double)] { get }
    /// Warnings raised since the last call (a layer left unpreconditioned, a step without curvature, …),
    /// each once, for the training loop to show; the matching counters are in `stepMetrics`. Clears them.
    func takeWarnings() -> [String]
}

extension CurvatureOptimizer {
    /// Default: no warnings (optimisers that can degrade a step override `takeWarnings`).
    public func takeWarnings() -> [String] { [] }
}
