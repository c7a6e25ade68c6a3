import Linalg
import NeuralNet
import Optimizers
import Training

/// One named training configuration of an experiment ("arm"): a model and data schedule
/// (`TrainingConfiguration`: model, batch size, learning rate, epochs, subsets) plus the optimiser to train
/// it with, built fresh for every seed.
///
/// Experiments list arms (Adam, digital K-FAC, TK-FAC at 8 input bits, TNGD at t = 50τ, …) and the
/// `ExperimentRunner` trains each for every seed with identical data order and initial weights per seed,
/// so that differences between arms are the optimisers'.
public struct ExperimentArm {
    /// Series name in tables, plots and the CSV (`"TK-FAC M1 in8c"`); unique within an experiment.
    public var name: String
    /// Group for plots: arms of the same group share an SVG (e.g. all arms at 8 bits plus the baselines).
    /// Empty: only the combined plot.
    public var groups: [String]
    /// Model, batch size, epochs, subsets and learning rate; `seed` is replaced per run.
    public var training: TrainingConfiguration
    /// The optimiser settings in one line, printed with the results (e.g. a `KFACConfiguration` and a
    /// `ThermodynamicKFACConfiguration`).
    public var settings: String
    /// Builds the optimiser for `model` (already initialised for `seed`) over `totalSteps` steps.
    public var makeOptimizer: (_ model: Sequential<Float>, _ totalSteps: Int, _ seed: UInt64) throws -> any Optimizer<Float>
    /// Optional figures measured at each evaluation (e.g. the error of TK-FAC's update against digital
    /// K-FAC's), stored next to the optimiser's own step metrics. Called after the step's update.
    public var probe: ((_ optimizer: any Optimizer<Float>, _ model: Sequential<Float>) -> [(name: String, value: Double)])?

    public init(name: String, groups: [String] = [], training: TrainingConfiguration, settings: String,
                makeOptimizer: @escaping (_ model: Sequential<Float>, _ totalSteps: Int, _ seed: UInt64) throws -> any Optimizer<Float>,
                probe: ((_ optimizer: any Optimizer<Float>, _ model: Sequential<Float>) -> [(name: String, value: Double)])? = nil) {
        self.name = name
        self.groups = groups
        self.training = training
        self.settings = settings
        self.makeOptimizer = makeOptimizer
        self.probe = probe
    }

    /// A first-order arm (SGD, Adam, AdamW) exactly as `thermograd train` builds it from `training`.
    public static func firstOrder(name: String, groups: [String] = [], training: TrainingConfiguration) -> ExperimentArm {
        ExperimentArm(name: name, groups: groups, training: training,
                      settings: "\(training.optimizer.rawValue), lr \(training.learningRate), schedule \(training.schedule.rawValue)") { _, steps, _ in
            try ModelFactory.optimizer(training, totalSteps: steps)
        }
    }
}
