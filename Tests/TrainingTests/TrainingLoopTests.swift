import Datasets
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training
import _TestSupport

/// Records what every step looked like to a hook, and stops the run when asked to.
private final class Spy: TrainingHook {
    var steps: [Int] = [], epochs: [Int] = [], ends: [Int] = [], evaluated: [Int] = [], finished: [Int] = []
    let stopAt: Int?
    init(stopAt: Int? = nil) { self.stopAt = stopAt }
    func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        steps.append(event.step)
        epochs.append(event.epoch)
        if event.endsEpoch { ends.append(event.step) }
        if event.evaluations["test"] != nil { evaluated.append(event.step) }
        if event.step == stopAt { event.stopRequested = true }
    }
    func didFinish(loop: TrainingLoop, steps: Int) throws { finished.append(steps) }
}

@Suite struct TrainingLoopTests {
    static func loop(hooks: [any TrainingHook], totalSteps: Int = 11) throws -> TrainingLoop {
        var c = smallConfiguration("loop")
        c.optimizer = .sgd
        let data = clusters(count: 100, seed: 1)
        let model = ModelFactory.model(c, inputFeatures: data.features, classes: 3)
        let step = TrainingStep(model: model, optimizer: try ModelFactory.optimizer(c, totalSteps: totalSteps))
        // 100 examples in batches of 32: 4 steps per epoch (the last one 4 examples).
        return TrainingLoop(step: step, data: data, batches: MiniBatches(count: 100, batchSize: 32, seed: 3),
                            totalSteps: totalSteps, hooks: hooks)
    }

    /// Steps are numbered from 1, epochs from 0, epoch ends every `batchesPerEpoch` steps; an evaluation
    /// hook's results are visible to the hooks after it, on the steps its rule selects, and not before it.
    @Test func hooksSeeStepsEpochsAndEvaluationsInOrder() throws {
        let before = Spy(), after = Spy()
        let test = clusters(count: 30, seed: 2)
        let evaluation = EvaluationHook([("test", test)]) { $0.endsEpoch || $0.isLast }
        let loop = try Self.loop(hooks: [before, evaluation, after])
        #expect(try loop.run() == 11)
        #expect(after.steps == Array(1...11))
        #expect(after.epochs == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
        #expect(after.ends == [4, 8])
        #expect(after.evaluated == [4, 8, 11])
        #expect(before.evaluated.isEmpty)
        #expect(after.finished == [11])
    }

    /// A hook's stop request ends the run after that step (later hooks still see it); a resumed loop
    /// continues from the given step, and `until` bounds the run.
    @Test func stopRequestsResumeAndBounds() throws {
        let stopper = Spy(stopAt: 5), later = Spy()
        #expect(try Self.loop(hooks: [stopper, later]).run() == 5)
        #expect(later.steps == [1, 2, 3, 4, 5])
        let resumed = Spy()
        #expect(try Self.loop(hooks: [resumed]).run(from: 6, until: 9) == 9)
        #expect(resumed.steps == [7, 8, 9] && resumed.epochs == [1, 1, 2])
    }

    /// The window means are example-weighted and survive their checkpoint text form bit for bit.
    @Test func runningMeansAreExampleWeightedAndRoundTrip() {
        var m = RunningMeans()
        #expect(m.meanLoss.isNaN && m.accuracy.isNaN)
        m.add(loss: 2, correct: 3, examples: 4)
        m.add(loss: 1, correct: 1, examples: 1)
        m.seconds = 0.1
        #expect(m.meanLoss == 9.0 / 5 && m.accuracy == 4.0 / 5)
        #expect(RunningMeans(m.encoded) == m)
        #expect(RunningMeans("1,2,3") == nil && RunningMeans(nil) == nil)
    }
}
