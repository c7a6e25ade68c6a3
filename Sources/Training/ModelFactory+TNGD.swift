import Optimizers

extension ModelFactory {
    /// TNGD for `--optimizer tngd|tngd-adam` (docs/tngd.md#device-dynamics): the device settings come from `c.tngd`;
    /// `tngd` applies `g̃` with SGD (`c.tngd.momentum`), `tngd-adam` with Adam (`c.tngd.adamBeta1/2`, the
    /// paper: 0, 0), both with `c`'s learning rate and schedule (`--inner` does not apply).
    public static func thermodynamicNaturalGradient(_ c: TrainingConfiguration, totalSteps: Int) throws(OptimizerError)
        -> any Optimizer<Float> {
        let decay = LearningRateSchedule.Decay(rawValue: c.schedule.rawValue) ?? .constant
        let schedule = try LearningRateSchedule(baseRate: c.learningRate, decay: decay, warmupSteps: c.warmupSteps,
                                                totalSteps: max(totalSteps, 1))
        let inner: any Optimizer<Float> = c.optimizer == .tngdAdam
            ? try Adam<Float>(schedule: schedule, beta1: c.tngd.adamBeta1, beta2: c.tngd.adamBeta2, weightDecay: c.weightDecay)
            : try SGD<Float>(schedule: schedule, momentum: c.tngd.momentum, weightDecay: c.weightDecay)
        do { return NaturalGradientDescent.thermodynamic(inner: inner, configuration: try c.tngd.configuration(seed: c.seed)) } catch {
            throw .invalidConfiguration(error.description)
        }
    }
}
