import Linalg
import NeuralNet
import Optimizers

/// Builds the model and optimiser a `TrainingConfiguration` describes. Weights are drawn from the
/// generator `(seed, stream 1)`, dropout masks from `(seed, stream 100 + layer index)`: the same
/// configuration always gives the same initial state. Models come from `ModelRegistry`.
public enum ModelFactory {
    /// The model `c.model` names, built by its `ModelRegistry` entry with the generator `(c.seed, stream 1)`.
    public static func model(_ c: TrainingConfiguration, inputFeatures: Int = 784, classes: Int = 10) -> Sequential<Float> {
        var rng = Xoshiro256StarStar(seed: c.seed, stream: 1)
        return c.model.builder.build(ModelRequest(configuration: c, inputFeatures: inputFeatures, classes: classes), &rng)
    }

    /// The optimiser, with a schedule over `totalSteps`.
    public static func optimizer(_ c: TrainingConfiguration, totalSteps: Int) throws(OptimizerError) -> any Optimizer<Float> {
        let decay = LearningRateSchedule.Decay(rawValue: c.schedule.rawValue) ?? .constant
        let schedule = try LearningRateSchedule(baseRate: c.learningRate, decay: decay, warmupSteps: c.warmupSteps,
                                                totalSteps: max(totalSteps, 1))
        switch c.optimizer {
        case .sgd: return try SGD<Float>(schedule: schedule, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay)
        case .adam: return try Adam<Float>(schedule: schedule, weightDecay: c.weightDecay)
        case .adamw: return try Adam<Float>.adamW(schedule: schedule, weightDecay: c.weightDecay)
        case .kfac, .tkfac, .ngdCG, .ngdExact, .tngd, .tngdAdam:
            throw .invalidConfiguration("\(c.optimizer.rawValue) needs the model: use ModelFactory.optimizer(_:totalSteps:model:)")
        }
    }
}
