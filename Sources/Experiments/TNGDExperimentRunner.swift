import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Training

/// The model of the TNGD paper's MNIST experiment (docs/tngd.md#paper-settings): one convolution and two dense
/// layers, `Conv(3×3, c channels, stride 2, pad 1) → ReLU → Flatten → Linear(→ h) → ReLU → Linear(→ 10)`.
/// The paper does not give the widths; ours (c = 4, h = 32: 25,490 parameters for 28×28 inputs) are
/// chosen so that the simulated device (three model passes per integrator step) stays affordable.
/// Weights from `(seed, stream 1)`, as `ModelFactory` draws them.
public enum TNGDModel {
    public static func convolutionalDense(image: ImageShape = ImageShape(height: 28, width: 28, channels: 1),
                                          channels: Int = 4, hidden: Int = 32, classes: Int = 10,
                                          seed: UInt64) -> Sequential<Float> {
        var rng = Xoshiro256StarStar(seed: seed, stream: 1)
        let conv = Conv2d<Float>(input: image, outChannels: channels, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        return Sequential(inputFeatures: image.features, [
            conv, ReLU<Float>(), Flatten<Float>(),
            Linear<Float>(conv.outputShape.features, hidden, rng: &rng), ReLU<Float>(), Linear<Float>(hidden, classes, rng: &rng),
        ])
    }
}

/// An arm of a TNGD experiment: the shared `ExperimentArm` (name, settings, optimiser factory) plus the
/// digital seconds per step the cost model (`Predictions.StepCostModel`) gives for it, from which the
/// modelled runtime is `digital × steps + simulated device time`.
public struct TNGDArm {
    public var arm: ExperimentArm
    public var digitalSecondsPerStep: Double

    public init(arm: ExperimentArm, digitalSecondsPerStep: Double) {
        self.arm = arm
        self.digitalSecondsPerStep = digitalSecondsPerStep
    }
}

/// Everything a TNGD experiment run shares across arms, printed with its results.
public struct TNGDExperimentSettings: Sendable, CustomStringConvertible {
    public var schedule: ExperimentSchedule
    /// Mini-batch `b` (the paper: 64).
    public var batchSize: Int
    /// Model widths (`TNGDModel.convolutionalDense`).
    public var channels: Int
    public var hidden: Int
    /// Training examples on which the training loss is evaluated at every evaluation (a fixed set, so that
    /// "reaches Adam's final training loss" does not depend on mini-batch noise).
    public var trainProbe: Int

    public init(schedule: ExperimentSchedule, batchSize: Int = 64, channels: Int = 4, hidden: Int = 32,
                trainProbe: Int = 2000) throws(ExperimentError) {
        guard batchSize >= 1 else { throw .invalidSetting(name: "batchSize", value: "\(batchSize)", requirement: "at least 1") }
        guard channels >= 1, hidden >= 1 else {
            throw .invalidSetting(name: "channels/hidden", value: "\(channels)/\(hidden)", requirement: "at least 1")
        }
        guard trainProbe >= 1 else { throw .invalidSetting(name: "trainProbe", value: "\(trainProbe)", requirement: "at least 1") }
        self.schedule = schedule
        self.batchSize = batchSize
        self.channels = channels
        self.hidden = hidden
        self.trainProbe = trainProbe
    }

    /// The TNGD experiments' schedule: 150 steps, evaluation every 25, seed 1, the first 2,000 test examples.
    // Constants inside `ExperimentSchedule`'s ranges: the initialiser cannot throw for them.
    public static let defaultSchedule = try! ExperimentSchedule(steps: 150, evaluateEvery: 25, testSubset: 2000)

    public var description: String {
        "\(schedule); batch \(batchSize); model conv3×3/2(\(channels))-fc\(hidden)-fc10; training loss on the first "
            + "\(trainProbe) training examples"
    }
}

/// Trains TNGD-experiment arms × seeds on the one-conv-two-dense model and returns `ExperimentResults`
/// (the shared CSV / SVG / table machinery of `Experiments/Common`). The loop is `ExperimentRunner`'s
/// (`ExperimentRunner.records`: same `TrainingLoop`, seeded `MiniBatches`, evaluation cadence) with a
/// different model (`TNGDModel.convolutionalDense`), a second evaluation set (a fixed training subset) and
/// a `DeviceTimeHook`: every record carries `modelled_seconds` (cost-model digital time + simulated device
/// time), `train_eval_loss` / `train_eval_accuracy` and `wall_step_seconds`.
public final class TNGDExperimentRunner {
    public let train: LabeledImages
    public let test: LabeledImages
    public let probe: LabeledImages
    public let settings: TNGDExperimentSettings

    public init(train: LabeledImages, test: LabeledImages, settings: TNGDExperimentSettings) {
        let s = settings.schedule
        self.train = s.trainSubset.map { train.prefix($0) } ?? train
        self.test = s.testSubset.map { test.prefix($0) } ?? test
        self.probe = self.train.prefix(min(settings.trainProbe, self.train.count))
        self.settings = settings
    }

    /// Runs `arms` × seeds in order; `log` receives one line per finished run and `checkpoint` the results so
    /// far after every finished run (write them there: an interrupted run then keeps every finished run).
    public func run(_ arms: [TNGDArm], log: (String) -> Void = { _ in }, progress: ProgressLine? = nil,
                    checkpoint: ((ExperimentResults) throws(ExperimentError) -> Void)? = nil) throws(ExperimentError)
        -> ExperimentResults {
        try Self.sweep(arms, schedule: settings.schedule, log: log, checkpoint: checkpoint) { a, seed throws(ExperimentError) in
            try run(a, seed: seed, progress: progress)
        }
    }

    /// Runs `one` for `arms` × `schedule.seeds` in order, logging each finished run and passing the results
    /// so far to `checkpoint` (shared by the image and text TNGD experiments).
    static func sweep(_ arms: [TNGDArm], schedule: ExperimentSchedule, log: (String) -> Void,
                      checkpoint: ((ExperimentResults) throws(ExperimentError) -> Void)?,
                      one: (TNGDArm, UInt64) throws(ExperimentError) -> [ExperimentRecord]) throws(ExperimentError) -> ExperimentResults {
        var records: [ExperimentRecord] = []
        for a in arms {
            for seed in schedule.seeds {
                let r = try one(a, seed)
                records += r
                if let last = r.last {
                    log(String(format: "%@ seed %llu: %d steps%@, train loss %.4f, test accuracy %.2f%%, modelled %.3g s, wall %.1f s",
                               a.arm.name, seed, last.step,
                               last.stopNote,
                               last.metrics["train_eval_loss"] ?? .nan, 100 * last.testAccuracy,
                               last.metrics["modelled_seconds"] ?? .nan, last.wallSeconds))
                }
                try checkpoint?(ExperimentResults(arms: arms.map(\.arm), schedule: schedule, records: records))
            }
        }
        return ExperimentResults(arms: arms.map(\.arm), schedule: schedule, records: records)
    }

    /// One run of `a` with `seed` on `TNGDModel.convolutionalDense`: the shared experiment loop with the
    /// training probe evaluated beside the test split and a `DeviceTimeHook` adding the modelled time.
    public func run(_ a: TNGDArm, seed: UInt64, progress: ProgressLine? = nil) throws(ExperimentError) -> [ExperimentRecord] {
        let image = ImageShape(height: train.height, width: train.width, channels: train.channels)
        let model = TNGDModel.convolutionalDense(image: image, channels: settings.channels, hidden: settings.hidden,
                                                 classes: train.classCount, seed: seed)
        return try ExperimentRunner.records(arm: a.arm, seed: seed, model: model, train: train, batchSize: settings.batchSize,
                                            steps: settings.schedule.steps, evaluateEvery: settings.schedule.evaluateEvery,
                                            evaluations: [("test", test), ("train_probe", probe)],
                                            hooks: [DeviceTimeHook(digitalSecondsPerStep: a.digitalSecondsPerStep)], progress: progress)
    }
}

/// Adds a TNGD experiment's figures to every step: `device_seconds` (simulated device time so far, from
/// `ThermodynamicLinearSolver.lastReadout`), `modelled_seconds` (cost-model digital time per step × steps
/// + device time), `wall_step_seconds` (mean wall time of a step) and, where the step was evaluated on the
/// training probe, `train_eval_loss` / `train_eval_accuracy`.
final class DeviceTimeHook: TrainingHook {
    let digitalSecondsPerStep: Double
    private var deviceSeconds = 0.0, stepWall = 0.0

    init(digitalSecondsPerStep: Double) { self.digitalSecondsPerStep = digitalSecondsPerStep }

    func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        stepWall += event.stepSeconds
        if let device = (loop.optimizer as? NaturalGradientDescent<Float>)?.thermodynamicSolver {
            deviceSeconds += device.lastReadout?.cost.deviceSeconds ?? 0
        }
        if let p = event.evaluations["train_probe"] {
            event.metrics["train_eval_loss"] = p.loss
            event.metrics["train_eval_accuracy"] = p.accuracy
        }
        event.metrics["device_seconds"] = deviceSeconds
        event.metrics["modelled_seconds"] = digitalSecondsPerStep * Double(event.step) + deviceSeconds
        event.metrics["wall_step_seconds"] = stepWall / Double(event.step)
    }
}
