import Chemistry
import Datasets
import Experiments
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training
import _TestSupport

/// SGD that reports `UpdateOutcome.failed` from its `failAt`-th update on, as an optimiser without a
/// trustworthy step does (K-FAC with no usable inverse, a failed natural-gradient solve).
private final class FailingOptimizer: Optimizer {
    let inner: SGD<Float>
    let failAt: Int
    init(failAt: Int) throws { inner = try SGD<Float>(schedule: .constant(0.1)); self.failAt = failAt }
    var step: Int { inner.step }
    var skippedSteps: Int { inner.skippedSteps }
    var schedule: LearningRateSchedule { inner.schedule }
    var currentLearningRate: Double { inner.currentLearningRate }
    var summary: String { "failing after \(failAt) steps" }
    func update(_ parameters: [Parameter<Float>]) -> UpdateOutcome {
        inner.step + 1 >= failAt ? .failed(reason: "test: no trustworthy step") : inner.update(parameters)
    }
    func stateTensors() -> [String: Matrix<Float>] { inner.stateTensors() }
    func stateScalars() -> [String: String] { inner.stateScalars() }
    func loadState(tensors: [String: Matrix<Float>], scalars: [String: String], parameters: [Parameter<Float>]) throws(OptimizerError) {
        try inner.loadState(tensors: tensors, scalars: scalars, parameters: parameters)
    }
}

@Suite struct ExperimentRunnerTests {
    /// The arms' training settings: MLP 16-8-3 on the clusters, SGD η = 0.1, batch 16.
    static var smallSGD: TrainingConfiguration {
        var training = TrainingConfiguration()
        training.mlpSizes = [16, 8, 3]
        training.batchSize = 16
        training.optimizer = .sgd
        training.learningRate = 0.1
        return training
    }

    /// A run whose optimiser fails stops at that step with a marked final record; the other arms run their
    /// full schedule, and the table names the failed arm.
    @Test func failedOptimizerEndsOnlyItsRun() throws {
        let training = Self.smallSGD
        let runner = ExperimentRunner(train: clusters(count: 160, seed: 1), test: clusters(count: 60, seed: 2),
                                      schedule: try ExperimentSchedule(steps: 30, evaluateEvery: 10, seeds: [1, 2]))
        let healthy = ExperimentArm.firstOrder(name: "sgd", training: training)
        let failing = ExperimentArm(name: "failing", training: training, settings: "fails at its 7th update") { _, _, _ in
            try FailingOptimizer(failAt: 7)
        }
        var lines: [String] = []
        let results = try runner.run([healthy, failing], log: { lines.append($0) })
        for seed: UInt64 in [1, 2] {
            let ok = results.records.filter { $0.arm == "sgd" && $0.seed == seed }
            #expect(ok.map(\.step) == [10, 20, 30])
            #expect(ok.allSatisfy { $0.metrics[ExperimentRecord.failedAtStepKey] == nil })
            #expect((ok.last?.testAccuracy ?? 0) > 0.9)
            let bad = results.records.filter { $0.arm == "failing" && $0.seed == seed }
            #expect(bad.map(\.step) == [7])
            #expect(bad.last?.metrics[ExperimentRecord.failedAtStepKey] == 7)
        }
        #expect(lines.filter { $0.contains("stopped by its optimiser") }.count == 2, "\(lines)")
        let table = results.finalTable(title: "t").render()
        #expect(table.contains("failing (failed: 2/2)") && !table.contains("sgd (failed"), "\(table)")
    }

    /// An arm whose loss diverges (SGD at η = 1e6) ends after the guard's 3 steps with a record marked
    /// `diverged_at_step` and a log line; the healthy arm runs its whole schedule, and the table names the arm.
    @Test func divergedArmEndsOnlyItsRun() throws {
        let training = Self.smallSGD
        var exploding = training
        exploding.learningRate = 1e6
        let runner = ExperimentRunner(train: clusters(count: 160, seed: 1), test: clusters(count: 60, seed: 2),
                                      schedule: try ExperimentSchedule(steps: 30, evaluateEvery: 10, seeds: [1]))
        var lines: [String] = []
        let results = try runner.run([.firstOrder(name: "sgd", training: training), .firstOrder(name: "hot", training: exploding)],
                                     log: { lines.append($0) })
        #expect(results.records(arm: "sgd").map(\.step) == [10, 20, 30])
        let hot = results.records(arm: "hot")
        let stop = try #require(hot.last?.metrics[ExperimentRecord.divergedAtStepKey])
        #expect(stop >= 3 && stop < 30 && hot.last?.step == Int(stop), "\(hot.map(\.step))")
        #expect(lines.contains { $0.hasPrefix("hot") && $0.contains("diverged") }, "\(lines)")
        let table = results.finalTable(title: "t").render()
        #expect(table.contains("hot (diverged: 1/1)") && !table.contains("sgd (diverged"), "\(table)")
    }
}

/// `experiment compare --model gnn`: the runner trains on molecules with the same arms and records
/// validation and test ROC-AUC; the results lead with the test ROC-AUC.
@Suite struct MoleculeExperimentTests {
    @Test func runnerRecordsMoleculeMetricsForAdamAndKFAC() throws {
        let data = TrainingData.molecules(train: try moleculeFixture(count: 96, offset: 0, name: "fixture"),
                                          validation: try moleculeFixture(count: 30, offset: 500, name: "v"),
                                          test: try moleculeFixture(count: 30, offset: 900, name: "t"))
        var settings = KFACComparisonSettings()
        settings.model = TrainingConfiguration.ModelKind(rawValue: "gnn")!
        settings.batchSize = 16
        let runner = ExperimentRunner(data: data, schedule: try ExperimentSchedule(steps: 24, evaluateEvery: 12, seeds: [3]))
        var lines: [String] = []
        let results = try runner.run(settings.baselines(), log: { lines.append($0) })
        #expect(results.headline == "test_roc_auc")
        for arm in ["Adam", "K-FAC (digital)"] {
            let records = results.records(arm: arm)
            #expect(records.map(\.step) == [12, 24], "\(arm)")
            let last = try #require(records.last)
            for key in ["test_roc_auc", "test_average_precision", "validation_roc_auc", "validation_loss"] {
                #expect(last.metrics[key]?.isFinite == true, "\(arm): \(key)")
            }
            #expect(last.metrics["test_roc_auc"]! >= 0.9, "\(arm): \(last.metrics)")
        }
        #expect(lines.allSatisfy { $0.contains("test roc auc") }, "\(lines)")
        #expect(results.finalTable(title: "t").render().contains("test roc auc"))
    }

    /// `experiment compare --model gnn` runs (T)K-FAC in front of Adam (η 1e-3, λ 1e-3: docs/gnn.md#measured-results);
    /// every image model keeps the comparison's SGD η 0.05, λ 1e-2.
    @Test func comparisonDefaultsDependOnTheModel() {
        let gnn = KFACComparisonSettings(model: TrainingConfiguration.ModelKind(rawValue: "gnn")!)
        #expect(gnn.kfacInner == .adam && gnn.kfacLearningRate == 1e-3 && gnn.kfac.damping == 1e-3)
        #expect(gnn.kfacTraining.optimizer == .adam && gnn.kfacTraining.learningRate == 1e-3)
        #expect(gnn.adamLearningRate == 1e-3 && gnn.compareDevice == KFACComparisonSettings().compareDevice)
        for model in [TrainingConfiguration.ModelKind.mlp, .cnn, .tinyCNN, .vit] {
            var expected = KFACComparisonSettings()
            expected.model = model
            let settings = KFACComparisonSettings(model: model)
            #expect(settings == expected, "\(model)")
            #expect(settings.kfacInner == .sgd && settings.kfacLearningRate == 0.05 && settings.kfac.damping == 1e-2, "\(model)")
        }
    }
}
