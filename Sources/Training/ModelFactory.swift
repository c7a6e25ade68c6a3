import Linalg
import NeuralNet
import Optimizers

/// Builds the model and optimiser a `TrainingConfiguration` describes. Weights are drawn from the
/// generator `(seed, stream 1)`, dropout masks from `(seed, stream 100 + layer index)`: the same
/// configuration always gives the same initial state.
public enum ModelFactory {
    public static func model(_ c: TrainingConfiguration, inputFeatures: Int = 784, classes: Int = 10) -> Sequential<Float> {
        var rng = Xoshiro256StarStar(seed: c.seed, stream: 1)
        switch c.model {
        case .cnn, .tinyCNN:
            let side = Int(Double(inputFeatures).squareRoot())
            precondition(side * side == inputFeatures, "the CNN needs square single-channel images, got \(inputFeatures) features")
            let image = ImageShape(height: side, width: side, channels: 1)
            return c.model == .cnn ? Models.smallConvolutional(image: image, classes: classes, rng: &rng)
                                   : Models.tinyConvolutional(image: image, classes: classes, rng: &rng)
        case .mlp:
            var sizes = c.mlpSizes
            sizes[0] = inputFeatures
            sizes[sizes.count - 1] = classes
            var layers: [any Layer<Float>] = []
            for i in 0..<(sizes.count - 1) {
                layers.append(Linear<Float>(sizes[i], sizes[i + 1], rng: &rng))
                if i + 2 < sizes.count {
                    layers.append(ReLU<Float>())
                    if c.dropout > 0 {
                        layers.append(Dropout<Float>(probability: c.dropout, seed: c.seed, stream: 100 + UInt64(layers.count)))
                    }
                }
            }
            return Sequential(inputFeatures: sizes[0], layers)
        }
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
