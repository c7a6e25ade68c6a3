import Curvature
import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Testing
import Training
import _TestSupport

func smallConfiguration(_ name: String) -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.mlpSizes = [16, 12, 3]
    c.dropout = 0.2
    c.optimizer = .adam
    c.learningRate = 0.01
    c.schedule = .cosine
    c.warmupSteps = 3
    c.epochs = 3
    c.batchSize = 32
    c.seed = 11
    c.logEvery = 4
    c.outputDirectory = temporaryDirectory(name)
    return c
}

@Suite struct TrainerTests {
    /// An interrupted run resumed from its checkpoint ends with exactly the weights and optimiser state
    /// of an uninterrupted run (the interruption falls in the middle of an epoch and a log window).
    @Test(arguments: [TrainingConfiguration.OptimizerKind.adam, .sgd])
    func resumedRunEqualsUninterruptedRun(optimizer: TrainingConfiguration.OptimizerKind) throws {
        let train = clusters(count: 200, seed: 1), test = clusters(count: 60, seed: 2)
        var whole = smallConfiguration("whole-\(optimizer)")
        whole.optimizer = optimizer
        let reference = try Trainer(configuration: whole, train: train, test: test)
        let summary = try reference.run()
        #expect(summary.steps == 21 && summary.epochsCompleted == 3)

        var split = whole
        split.outputDirectory = temporaryDirectory("split-\(optimizer)")
        let first = try Trainer(configuration: split, train: train, test: test)
        let partial = try first.run(stopAfterStep: 10)
        #expect(partial.steps == 10)
        let second = try Trainer(configuration: split, train: train, test: test)
        let resumed = try second.run(resume: true)
        #expect(resumed.steps == 21)
        for (p, q) in zip(reference.model.namedParameters, second.model.namedParameters) {
            #expect(p.value == q.value, "parameter \(p.name) differs after resume")
        }
        #expect(reference.optimizer.stateTensors() == second.optimizer.stateTensors())
        #expect(resumed.finalTestAccuracy == summary.finalTestAccuracy)
        // The metrics file of the resumed run has one row per logged step, no duplicates.
        let rows = CSVWriter.parse(try String(contentsOfFile: second.metricsPath, encoding: .utf8)).dropFirst()
        let steps = rows.map { Int($0[0])! }
        #expect(steps == steps.sorted() && Set(steps).count == steps.count && steps.last == 21)
    }

    /// The fixture itself: a training and a test set from different seeds are held-out samples of one
    /// problem. The nearest class mean of the training set classifies the test set almost perfectly
    /// (centres ≈ 8.5 apart, unit noise: Bayes error ≈ 2·10⁻⁵), and no test example is a training example.
    /// Fails for the old fixture, which drew the centres from the seed (≈ chance accuracy).
    @Test func clusterTrainAndTestSetsShareTheProblem() {
        let train = clusters(count: 200, seed: 1), test = clusters(count: 60, seed: 2)
        var means = Matrix<Float>(rows: 3, columns: 16)
        var counts = [Float](repeating: 0, count: 3)
        for (i, c) in train.labels.enumerated() {
            counts[c] += 1
            for j in 0..<16 { means[c, j] += train.images[i, j] }
        }
        for c in 0..<3 { for j in 0..<16 { means[c, j] /= counts[c] } }
        var correct = 0
        for (i, label) in test.labels.enumerated() {
            let d = (0..<3).map { c in (0..<16).reduce(Float(0)) { $0 + (test.images[i, $1] - means[c, $1]) * (test.images[i, $1] - means[c, $1]) } }
            if d.firstIndex(of: d.min()!) == label { correct += 1 }
        }
        #expect(correct >= 58, "nearest-mean accuracy \(correct)/60")
        let trainRows = Set((0..<train.labels.count).map { i in (0..<16).map { train.images[i, $0] } })
        #expect((0..<test.labels.count).allSatisfy { i in !trainRows.contains((0..<16).map { test.images[i, $0] }) })
    }

    @Test func trainerLearnsAndWritesItsRecord() throws {
        var c = smallConfiguration("record")
        c.dropout = 0
        let trainer = try Trainer(configuration: c, train: clusters(count: 300, seed: 3), test: clusters(count: 100, seed: 5))
        let summary = try trainer.run()
        #expect(summary.finalTestAccuracy > 0.9)
        #expect(summary.table.contains("test acc %"))
        let svg = try String(contentsOfFile: summary.plotPath, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline") && svg.contains("wall time (s)"))
        let csv = CSVWriter.parse(try String(contentsOfFile: summary.metricsPath, encoding: .utf8))
        // Curvature optimisers append their own columns after these (forward/backward split, …).
        #expect(Array(csv.first!.prefix(10)) == ["step", "epoch", "wall_seconds", "train_loss", "train_accuracy", "learning_rate",
                              "examples_per_second", "test_loss", "test_accuracy", "skipped_steps"])
        // Training columns always average a full window of `logEvery` steps (or close the run); rows of
        // off-cadence evaluations (here every epoch end, since epochs are not multiples of 4 steps) are test-only.
        let rows = csv.dropFirst()
        let lastStep = try #require(rows.last.flatMap { Int($0[0]) })
        var testOnly = 0
        for row in rows {
            let step = try #require(Int(row[0]))
            if row[3].isEmpty { testOnly += 1; #expect(!row[8].isEmpty && step % 4 != 0) } else { #expect(step % 4 == 0 || step == lastStep) }
        }
        #expect(testOnly >= 1)
        #expect(FileManager.default.fileExists(atPath: trainer.configPath))
    }

    /// metrics.csv fixes its columns at the start; a curvature metric missing at a step leaves its cell empty
    /// and one appearing later is left out — every row keeps the header's width and each value its column.
    @Test func curvatureMetricsAreWrittenByName() throws {
        var c = smallConfiguration("metric-names")
        c.logEvery = 1
        c.epochs = 1
        let trainer = try Trainer(configuration: c, train: clusters(count: 320, seed: 1), test: clusters(count: 30, seed: 2)) { _, _ in
            try ChangingMetricsOptimizer()
        }
        let summary = try trainer.run()
        let csv = CSVWriter.parse(try String(contentsOfFile: summary.metricsPath, encoding: .utf8))
        let header = try #require(csv.first)
        let a = try #require(header.firstIndex(of: "a"))
        #expect(!header.contains("late"))
        for row in csv.dropFirst() {
            #expect(row.count == header.count)
            let step = try #require(Int(row[0]))
            // Metrics describe the state after the step's update (step counter = `step`).
            #expect(row[a] == (step < 5 ? "1.0" : step < 8 ? "3.0" : ""), "step \(step): \(row[a])")
        }
    }

    @Test func resumeWithOtherSettingsIsRefused() throws {
        let train = clusters(count: 64, seed: 4), test = clusters(count: 10, seed: 6)
        var c = smallConfiguration("mismatch")
        c.epochs = 1
        _ = try Trainer(configuration: c, train: train, test: test).run()
        c.learningRate = 0.5
        let error = #expect(throws: CheckpointError.self) { try Trainer(configuration: c, train: train, test: test).run(resume: true) }
        // The message names the setting that differs, with both values.
        #expect(error?.description.contains("learningRate: 0.01 → 0.5") == true, "\(String(describing: error))")
        var fresh = smallConfiguration("no-checkpoint")
        fresh.epochs = 1
        #expect(throws: CheckpointError.self) { try Trainer(configuration: fresh, train: train, test: test).run(resume: true) }
    }

    /// A checkpoint written by a build that did not have some setting yet still resumes when the current
    /// value of that setting is its default; any real difference is named, nested paths included.
    @Test func resumeFingerprintToleratesSettingsAddedLater() throws {
        var c = smallConfiguration("fingerprint")
        c.optimizer = .kfac
        let current = c.resumeFingerprint()
        #expect(c.resumeDifferences(from: current).isEmpty)
        // Output paths, logging cadence and epoch count may change between runs.
        var longer = c
        longer.epochs = 7; longer.logEvery = 3; longer.outputDirectory = "elsewhere"; longer.evaluateEvery = 5
        #expect(longer.resumeDifferences(from: current).isEmpty)

        // Simulate an older build: drop keys the old configuration type did not have.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(current.utf8)) as? [String: Any])
        object.removeValue(forKey: "tngd")                       // a whole nested group added later
        var kfac = try #require(object["kfac"] as? [String: Any])
        let firstKFACKey = try #require(kfac.keys.sorted().first)
        kfac.removeValue(forKey: firstKFACKey)                   // one nested field added later
        object["kfac"] = kfac
        let older = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        #expect(c.resumeDifferences(from: older).isEmpty, "\(c.resumeDifferences(from: older))")

        // A nested setting that really differs is reported with its path; so is a missing key whose
        // current value is not the default.
        var changed = c
        changed.kfac.damping *= 10
        let lines = changed.resumeDifferences(from: current)
        #expect(lines.count == 1 && lines[0].hasPrefix("kfac.damping: "), "\(lines)")
        var other = c
        other.batchSize = 64
        #expect(other.resumeDifferences(from: older) == ["batchSize: 32 → 64"])
        #expect(c.resumeDifferences(from: "not json") == ["the checkpoint's stored settings are not readable JSON"])
    }

    /// Settings of other optimisers and models do not block a resume (they cannot change the run's numbers);
    /// the run's own groups and the optimiser itself still do.
    @Test func resumeIgnoresSettingsTheRunNeverReads() throws {
        var adam = smallConfiguration("unread")
        adam.optimizer = .adam
        var stored = try #require(try JSONSerialization.jsonObject(with: Data(adam.resumeFingerprint().utf8)) as? [String: Any])
        var device = try #require(stored["thermodynamicKFAC"] as? [String: Any])
        device["readouts"] = 8                                    // a TK-FAC default that has since moved
        stored["thermodynamicKFAC"] = device
        var kfac = try #require(stored["kfac"] as? [String: Any])
        kfac["damping"] = 0.5
        stored["kfac"] = kfac
        let old = String(decoding: try JSONSerialization.data(withJSONObject: stored, options: [.sortedKeys]), as: UTF8.self)
        #expect(adam.resumeDifferences(from: old).isEmpty, "\(adam.resumeDifferences(from: old))")

        var tkfac = adam
        tkfac.optimizer = .tkfac                                  // reads both groups: both differences named
        var asTKFAC = stored
        asTKFAC["optimizer"] = "tkfac"
        let oldTKFAC = String(decoding: try JSONSerialization.data(withJSONObject: asTKFAC, options: [.sortedKeys]), as: UTF8.self)
        let lines = tkfac.resumeDifferences(from: oldTKFAC)
        #expect(lines.contains { $0.hasPrefix("kfac.damping: 0.5 → ") } && lines.contains { $0.hasPrefix("thermodynamicKFAC.readouts: 8 → ") },
                "\(lines)")
        #expect(tkfac.resumeDifferences(from: old).contains { $0.hasPrefix("optimizer: ") })
    }

    @Test func invalidConfigurationsAreRejected() {
        var c = TrainingConfiguration()
        c.batchSize = 0
        #expect(throws: TrainingError.self) { try c.validate() }
        c = TrainingConfiguration()
        c.dropout = 1
        #expect(throws: TrainingError.self) { try c.validate() }
    }

    /// A quick real-data check: 2,000 Fashion-MNIST images, one epoch of the demo MLP.
    @Test func learnsFashionMNISTSubset() throws {
        guard fashionMNISTIsInstalled() else { return }
        var c = TrainingConfiguration()
        c.epochs = 1
        c.batchSize = 64
        c.trainSubset = 2000
        c.testSubset = 1000
        c.outputDirectory = temporaryDirectory("fashion")
        let test = try FashionMNIST.load(.test)
        let train = try FashionMNIST.load(.train).prefix(2000)
        let summary = try Trainer(configuration: c, train: train, test: test).run()
        #expect(summary.finalTestAccuracy > 0.7, "test accuracy \(summary.finalTestAccuracy)")
    }
}

@Suite struct ReportingTests {
    @Test func csvEscapingRoundTrips() throws {
        let path = temporaryDirectory("csv") + "/m.csv"
        let writer = try CSVWriter(path: path, columns: ["name", "value"])
        try writer.append(["plain", 1.5])
        try writer.append(["with, comma and \"quotes\"\nand a newline", .number(.nan)])
        #expect(throws: ReportingError.self) { try writer.append(["one"]) }
        let rows = CSVWriter.parse(try String(contentsOfFile: path, encoding: .utf8))
        #expect(rows == [["name", "value"], ["plain", "1.5"], ["with, comma and \"quotes\"\nand a newline", "nan"]])
    }

    @Test func plotTicksAndTable() {
        let unit = LinePlot.ticks(low: 0, high: 1)
        #expect(unit.count == 6 && unit.first == 0 && abs(unit.last! - 1) < 1e-12)
        #expect(LinePlot.ticks(low: 3, high: 97) == [20, 40, 60, 80])
        let svg = LinePlot(panels: [PlotPanel(title: "t", xLabel: "x", yLabel: "y", series: [
            PlotSeries(name: "a<b", x: [1, 2, 3], y: [1, .nan, 3]),
        ])]).svg()
        #expect(svg.contains("a&lt;b") && svg.components(separatedBy: "<polyline").count == 3) // NaN splits the line
        // The legend sits right of the axes (axes end at 460 − 14 px), never on top of a curve.
        let legendX = svg.components(separatedBy: "\">a&lt;b</text>").first?.components(separatedBy: "<text x=\"").last
        #expect((legendX.flatMap { Double($0.prefix { $0 != "\"" }) } ?? 0) > 446, "\(legendX ?? "")")
        let table = TextTable(headers: ["name", "value"], rows: [["x", "1.5"], ["longer", "10"]]).render()
        #expect(table == "name    value\n------  -----\nx         1.5\nlonger     10")
    }
}

/// SGD whose curvature metrics change during a run: `a` only, then `a` and a new `late`, then `late` only.
private final class ChangingMetricsOptimizer: CurvatureOptimizer {
    typealias Scalar = Float
    let inner: SGD<Float>
    init() throws { inner = try SGD<Float>(schedule: .constant(0.05)) }
    var step: Int { inner.step }
    var skippedSteps: Int { inner.skippedSteps }
    var schedule: LearningRateSchedule { inner.schedule }
    var currentLearningRate: Double { inner.currentLearningRate }
    var summary: String { "SGD with changing metrics" }
    func observeCurvature(_ batch: CurvatureBatch<Float>) {}
    var stepMetrics: [(name: String, value: Double)] {
        inner.step < 5 ? [("a", 1)] : inner.step < 8 ? [("late", 2), ("a", 3)] : [("late", 4)]
    }
    func update(_ parameters: [Parameter<Float>]) -> UpdateOutcome { inner.update(parameters) }
    func stateTensors() -> [String: Matrix<Float>] { inner.stateTensors() }
    func stateScalars() -> [String: String] { inner.stateScalars() }
    func loadState(tensors: [String: Matrix<Float>], scalars: [String: String], parameters: [Parameter<Float>]) throws(OptimizerError) {
        try inner.loadState(tensors: tensors, scalars: scalars, parameters: parameters)
    }
}
