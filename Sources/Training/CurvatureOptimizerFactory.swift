import Linalg
import NeuralNet
import Optimizers
import Solvers

extension ModelFactory {
    /// The optimiser `c` describes, built for `model`: first-order ones as `optimizer(_:totalSteps:)`;
    /// K-FAC and natural gradient wrap the first-order `c.curvatureInner` (same learning rate, schedule,
    /// momentum and weight decay) and take their settings from `c.kfac` / `c.naturalGradient`.
    public static func optimizer(_ c: TrainingConfiguration, totalSteps: Int,
                                 model: Sequential<Float>) throws(OptimizerError) -> any Optimizer<Float> {
        guard c.optimizer.isCurvatureBased else { return try optimizer(c, totalSteps: totalSteps) }
        if c.optimizer.isThermodynamicNaturalGradient { return try thermodynamicNaturalGradient(c, totalSteps: totalSteps) }
        var innerConfiguration = c
        innerConfiguration.optimizer = c.curvatureInner
        let inner = try optimizer(innerConfiguration, totalSteps: totalSteps)
        do {
            switch c.optimizer {
            case .kfac:
                return try KFAC(model: model, inner: inner, configuration: c.kfac)
            case .tkfac:
                let solver = try ThermodynamicFactorSolver<Float>(configuration: try c.thermodynamicKFAC.configuration(),
                                                                  rawSources: model.kroneckerBlocks)
                return try KFAC(model: model, inner: inner, configuration: c.kfac, solver: solver)
            default:
                if c.optimizer == .ngdExact {
                    // Refuse up front: the dense GGN of a large model cannot be allocated, and finding that out
                    // at the first step (or by swapping) is worse than a clear message now.
                    let outputs = model.kroneckerBlocks.last?.weight.value.rows ?? 1
                    try NaturalGradientDescent<Float>.checkDenseSize(.exact, parameters: model.parameterCount,
                                                                     jacobianRows: c.batchSize * outputs)
                }
                var ngd = c.naturalGradient
                ngd.method = c.optimizer == .ngdExact ? .exact : .conjugateGradient
                return try NaturalGradientDescent(inner: inner, configuration: ngd)
            }
        } catch {
            throw .invalidConfiguration(String(describing: error))
        }
    }
}
