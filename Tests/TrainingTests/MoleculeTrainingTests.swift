import Chemistry
import Foundation
import Linalg
import Reporting
import Testing
import Training
import _TestSupport

func moleculeData() throws -> TrainingData {
    .molecules(train: try moleculeFixture(count: 96, offset: 0, name: "fixture"),
               validation: try moleculeFixture(count: 30, offset: 500, name: "fixture validation"),
               test: try moleculeFixture(count: 30, offset: 900, name: "fixture test"))
}

func moleculeConfiguration(_ name: String) -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.model = TrainingConfiguration.ModelKind(rawValue: "gnn")!
    c.optimizer = .adam
    c.learningRate = 3e-3
    c.epochs = 6
    c.batchSize = 16
    c.seed = 5
    c.logEvery = 3
    c.outputDirectory = temporaryDirectory(name)
    return c
}

/// `thermograd train --model gnn` is the `Trainer` on `TrainingData.molecules`: the same loop, evaluation,
/// run folder and checkpoints as the image models, scored by validation and test ROC-AUC.
@Suite struct MoleculeTrainingTests {
    /// The GIN learns the atom rule on held-out molecules (ROC-AUC ≥ 0.9 and average precision ≥ 0.8, where a
    /// guess scores 0.5 and the positive share 1/3); the run folder has the molecule
    /// columns, and the selected epoch is the one with the best validation ROC-AUC.
    @Test func trainerLearnsAndRecordsMoleculeMetrics() throws {
        let trainer = try Trainer(configuration: moleculeConfiguration("gnn-learn"), data: try moleculeData())
        let summary = try trainer.run()
        #expect(summary.steps == 36)
        let test = try #require(summary.finalEvaluations["test"]), validation = try #require(summary.finalEvaluations["validation"])
        let (testAUC, validationAUC) = (test.metrics["roc_auc"]!, validation.metrics["roc_auc"]!)
        #expect(testAUC >= 0.9 && validationAUC >= 0.9, "ROC-AUC test \(testAUC), validation \(validationAUC)")
        #expect(test.metrics["average_precision"]! >= 0.8, "\(test)")
        #expect(summary.finalTestAccuracy.isNaN && summary.finalTestLoss == test.loss)
        let header = try String(contentsOfFile: trainer.metricsPath, encoding: .utf8).split(separator: "\n")[0]
        #expect(header.contains("validation_loss,validation_roc_auc,validation_average_precision,test_loss,test_roc_auc,test_average_precision"))
        let epochs = CSVWriter.parse(try String(contentsOfFile: trainer.epochsPath, encoding: .utf8)).dropFirst()
        #expect(epochs.count == 6)
        let bestValidation = epochs.map { Double($0[6])! }.max()!
        #expect(summary.selectedEvaluations["validation"]?.metrics["roc_auc"] == bestValidation)
        #expect(summary.table.contains("validation roc_auc"))
    }

    /// Model selection looks at every evaluation, not only the epoch ends: with `evaluateEvery` the selected step is
    /// the metrics.csv row with the highest validation ROC-AUC (the earliest on ties), and its test figures are that
    /// row's.
    @Test func selectionUsesEveryEvaluation() throws {
        var c = moleculeConfiguration("gnn-select")
        c.evaluateEvery = 2
        c.epochs = 3
        let trainer = try Trainer(configuration: c, data: try moleculeData())
        let summary = try trainer.run()
        let rows = CSVWriter.parse(try String(contentsOfFile: trainer.metricsPath, encoding: .utf8))
        let (v, t) = (try #require(rows[0].firstIndex(of: "validation_roc_auc")), try #require(rows[0].firstIndex(of: "test_roc_auc")))
        let evaluated = rows.dropFirst().filter { Double($0[v]) != nil }
        #expect(evaluated.count > 3, "evaluations every 2 steps and at 3 epoch ends: \(evaluated.count)")
        let best = try #require(evaluated.max { Double($0[v])! < Double($1[v])! })
        #expect(summary.selectedStep == Int(best[0]))
        #expect(summary.selectedEvaluations["validation"]?.metrics["roc_auc"] == Double(best[v]))
        #expect(summary.selectedEvaluations["test"]?.metrics["roc_auc"] == Double(best[t]))
    }

    /// An interrupted molecule run resumed from its checkpoint ends with the weights of an uninterrupted one;
    /// a resume on other molecules is refused.
    @Test func resumedMoleculeRunEqualsUninterruptedRun() throws {
        let data = try moleculeData()
        var whole = moleculeConfiguration("gnn-whole")
        whole.epochs = 2
        let reference = try Trainer(configuration: whole, data: data)
        _ = try reference.run()
        var split = whole
        split.outputDirectory = temporaryDirectory("gnn-split")
        _ = try Trainer(configuration: split, data: data).run(stopAfterStep: 5)
        let second = try Trainer(configuration: split, data: data)
        let resumed = try second.run(resume: true)
        #expect(resumed.steps == 12)
        for (p, q) in zip(reference.model.namedParameters, second.model.namedParameters) {
            #expect(p.value == q.value, "parameter \(p.name) differs after resume")
        }
        let other = TrainingData.molecules(train: try moleculeFixture(count: 96, offset: 1, name: "fixture"),
                                           validation: try moleculeFixture(count: 30, offset: 500, name: "v"),
                                           test: try moleculeFixture(count: 30, offset: 900, name: "t"))
        #expect(throws: (any Error).self) { try Trainer(configuration: split, data: other).run(resume: true) }
    }
}
