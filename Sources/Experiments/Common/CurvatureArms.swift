import Linalg
import NeuralNet
import Optimizers
import Solvers
import Training

extension ExperimentArm {
    /// A K-FAC arm: `KFAC` with `kfac` settings wrapping the first-order optimiser `training` describes
    /// (its `optimizer`, learning rate, schedule and momentum), with the factor solver `solver` builds
    /// (nil: `kfac.solver`'s digital strategy). `settings` is printed next to the results.
    ///
    /// The K-FAC label-sampling seed follows the run's seed, so every seed draws its own true-Fisher labels.
    public static func kfac(name: String, groups: [String] = [], training: TrainingConfiguration, kfac: KFACConfiguration,
                            settings: String? = nil,
                            solver: ((_ model: Sequential<Float>, _ seed: UInt64) throws -> any FactorSolver<Float>)? = nil,
                            probe: ((_ optimizer: any Optimizer<Float>, _ model: Sequential<Float>) -> [(name: String, value: Double)])? = nil)
        -> ExperimentArm {
        let inner = "\(training.optimizer.rawValue) lr \(training.learningRate)"
            + (training.optimizer == .sgd ? " momentum \(training.momentum)" : "")
        return ExperimentArm(name: name, groups: groups, training: training,
                             settings: settings ?? "\(kfac), inner \(inner)", makeOptimizer: { model, steps, seed in
            var k = kfac
            k.seed = seed
            let first = try ModelFactory.optimizer(training, totalSteps: steps)
            return try KFAC(model: model, inner: first, configuration: k, solver: try solver?(model, seed))
        }, probe: probe)
    }

    /// A TK-FAC arm: K-FAC with a `ThermodynamicFactorSolver` built from `options` (device seed derived
    /// from the run's seed). With `measureUpdateError`, the solver also reports `update_relative_error`
    /// against digital K-FAC on the same factors (diagnostic only).
    public static func thermodynamicKFAC(name: String, groups: [String] = [], training: TrainingConfiguration,
                                         kfac: KFACConfiguration, options: ThermodynamicKFACOptions,
                                         measureUpdateError: Bool = false) throws(KFACError) -> ExperimentArm {
        let described = try options.configuration()
        return .kfac(name: name, groups: groups, training: training, kfac: kfac,
                     settings: "\(kfac), inner \(training.optimizer.rawValue) lr \(training.learningRate); \(described)") { model, seed in
            var o = options
            o.seed = options.seed &+ seed &* 0x9E37_79B9
            let solver = try ThermodynamicFactorSolver<Float>(configuration: try o.configuration(),
                                                              rawSources: model.kroneckerBlocks)
            solver.measuresUpdateError = measureUpdateError
            return solver
        }
    }
}
