import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Training

/// The model of the TNGD paper's MNIST experiment (REFERENCE.md §4): one convolution and two dense
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

    public var description: String {
        "\(schedule); batch \(batchSize); model conv3×3/2(\(channels))-fc\(hidden)-fc10; training loss on the first "
            + "\(trainProbe) training examples"
    }
}

/// Trains TNGD-experiment arms × seeds on the one-conv-two-dense model and returns `ExperimentResults`
/// (the shared CSV / SVG / table machinery of `Experiments/Common`). The loop is `ExperimentRunner`'s
/// (same `TrainingStep`, seeded `MiniBatches`, evaluation cadence) with two differences that runner
/// cannot express: the model is `TNGDModel.convolutionalDense`, and every record carries
/// `modelled_seconds` (cost-model digital time + simulated device time), `train_eval_loss` /
/// `train_eval_accuracy` on a fixed training subset, and `wall_step_seconds`.
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
        var records: [ExperimentRecord] = []
        for a in arms {
            for seed in settings.schedule.seeds {
                let r = try run(a, seed: seed, progress: progress)
                records += r
                if let last = r.last {
                    log(String(format: "%@ seed %llu: %d steps%@, train loss %.4f, test accuracy %.2f%%, modelled %.3g s, wall %.1f s",
                               a.arm.name, seed, last.step,
                               last.metrics[ExperimentRecord.failedAtStepKey] != nil ? " (stopped by its optimiser)" : "",
                               last.metrics["train_eval_loss"] ?? .nan, 100 * last.testAccuracy,
                               last.metrics["modelled_seconds"] ?? .nan, last.wallSeconds))
                }
                try checkpoint?(ExperimentResults(arms: arms.map(\.arm), schedule: settings.schedule, records: records))
            }
        }
        return ExperimentResults(arms: arms.map(\.arm), schedule: settings.schedule, records: records)
    }

    public func run(_ a: TNGDArm, seed: UInt64, progress: ProgressLine? = nil) throws(ExperimentError) -> [ExperimentRecord] {
        let image = ImageShape(height: train.height, width: train.width, channels: train.channels)
        let model = TNGDModel.convolutionalDense(image: image, channels: settings.channels, hidden: settings.hidden,
                                                 classes: max(train.classNames.count, (train.labels.max() ?? 0) + 1), seed: seed)
        let batches = MiniBatches(count: train.count, batchSize: min(settings.batchSize, train.count), seed: seed)
        let total = settings.schedule.steps ?? a.arm.training.epochs * batches.batchesPerEpoch
        let optimizer: any Optimizer<Float>
        do { optimizer = try a.arm.makeOptimizer(model, total, seed) } catch {
            throw .optimizer(arm: a.arm.name, detail: "\(error)")
        }
        let step = TrainingStep(model: model, optimizer: optimizer)
        let clock = ContinuousClock(), start = clock.now
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

        var records: [ExperimentRecord] = []
        var feeder = BatchFeeder(data: train, batches: batches)
        var windowLoss = 0.0, windowCorrect = 0, windowExamples = 0
        var deviceSeconds = 0.0, stepWall = 0.0
        for s in 0..<total {
            feeder.load(step: s)
            let examples = feeder.labels.count
            let t0 = clock.now
            let result = step.run(feeder.images, labels: feeder.labels)
            stepWall += seconds(clock.now - t0)
            if let tngd = optimizer as? ThermodynamicNaturalGradient<Float> {
                deviceSeconds += tngd.lastReadout?.cost.deviceSeconds ?? 0
            }
            windowLoss += Double(result.loss) * Double(examples)
            windowCorrect += result.correct
            windowExamples += examples
            let done = s + 1
            // As in `ExperimentRunner`: an optimiser that cannot step (a failed device run) ends this run here.
            var failure: String? = nil
            if case let .failed(reason) = result.outcome {
                failure = reason
                progress?.message("\(a.arm.name) seed \(seed): stopped at step \(done): \(reason)")
            }
            if done % settings.schedule.evaluateEvery == 0 || done == total || failure != nil {
                let t = evaluate(model, images: test.images, labels: test.labels)
                let p = evaluate(model, images: probe.images, labels: probe.labels)
                var metrics: [String: Double] = [:]
                if let curvature = optimizer as? any CurvatureOptimizer<Float> {
                    for (k, v) in curvature.stepMetrics { metrics[k] = v }
                }
                metrics["skipped_steps"] = Double(optimizer.skippedSteps)
                metrics["train_eval_loss"] = p.loss
                metrics["train_eval_accuracy"] = p.accuracy
                metrics["device_seconds"] = deviceSeconds
                metrics["modelled_seconds"] = a.digitalSecondsPerStep * Double(done) + deviceSeconds
                metrics["wall_step_seconds"] = stepWall / Double(done)
                if let probe = a.arm.probe { for (k, v) in probe(optimizer, model) { metrics[k] = v } }
                if failure != nil { metrics[ExperimentRecord.failedAtStepKey] = Double(done) }
                records.append(ExperimentRecord(
                    arm: a.arm.name, seed: seed, step: done, wallSeconds: seconds(clock.now - start),
                    trainLoss: windowLoss / Double(max(windowExamples, 1)),
                    trainAccuracy: Double(windowCorrect) / Double(max(windowExamples, 1)),
                    testLoss: t.loss, testAccuracy: t.accuracy, metrics: metrics))
                windowLoss = 0; windowCorrect = 0; windowExamples = 0
            }
            if failure != nil { break }
            progress?.update(String(format: "%@ seed %llu  step %d/%d  loss %.4f  %.1f s", a.arm.name, seed, done, total,
                                    result.loss, seconds(clock.now - start)))
        }
        progress?.finish()
        return records
    }
}
