import Datasets
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training
import _TestSupport

/// A regression batch: rows of inputs and their real-valued targets.
struct PointBatch: RegressionBatch {
    var input: Matrix<Float>
    var targets: Matrix<Float>
    var count: Int { input.rows }
}

/// Points `x ~ N(0, I₅)` with targets `t = W x` for a fixed `3 × 5` matrix `W`: what a new workload writes
/// to train on its own data (a `DataSource` of its own batch type).
struct LinearPoints: DataSource {
    let x: Matrix<Float>
    let t: Matrix<Float>
    var name: String { "linear points" }
    var count: Int { x.rows }

    init(count: Int, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed, stream: 9)
        x = rng.normalMatrix(rows: count, columns: 5)
        var truth = Xoshiro256StarStar(seed: 42, stream: 1)
        let w: Matrix<Float> = truth.normalMatrix(rows: 3, columns: 5)
        var t = Matrix<Float>(rows: count, columns: 3)
        for n in 0..<count { for i in 0..<3 { for j in 0..<5 { t[n, i] += w[i, j] * x[n, j] } } }
        self.t = t
    }

    private init(x: Matrix<Float>, t: Matrix<Float>) { (self.x, self.t) = (x, t) }

    func prefix(_ n: Int) -> LinearPoints {
        LinearPoints(x: Matrix(rows: n, columns: 5, storage: Array(x.storage[0..<(5 * n)])),
                     t: Matrix(rows: n, columns: 3, storage: Array(t.storage[0..<(3 * n)])))
    }
    func makeBatch(capacity: Int) -> PointBatch { PointBatch(input: Matrix(rows: capacity, columns: 5), targets: Matrix(rows: capacity, columns: 3)) }
    func gather(_ indices: ArraySlice<Int>, into batch: inout PointBatch) {
        batch = PointBatch(input: Matrix(rows: indices.count, columns: 5, storage: indices.flatMap { x.row($0) }),
                           targets: Matrix(rows: indices.count, columns: 3, storage: indices.flatMap { t.row($0) }))
    }
}

@Suite struct TaskTests {
    /// One loop, another task: a linear model fitted by squared-error regression with SGD and with K-FAC
    /// (which reads the task's Gaussian output curvature) drives the held-out loss down by three orders of
    /// magnitude: the targets are exactly linear and the loss's Hessian is ≈ I, so plain gradient descent at
    /// η = 0.1 contracts the error by ≈ 0.9 per step (0.9¹²⁰ ≈ 3·10⁻⁶ on the loss after 60 steps) and K-FAC,
    /// a damped Newton step here, by ≈ 1 − η = 0.5. The RMSE metric obeys RMSE² = 2L/d for L = ½‖y − t‖²/b.
    @Test(arguments: [TrainingConfiguration.OptimizerKind.sgd, .kfac])
    func regressionTrainsThroughTheSameLoop(optimizer: TrainingConfiguration.OptimizerKind) throws {
        let train = LinearPoints(count: 96, seed: 1), test = LinearPoints(count: 40, seed: 2)
        var c = TrainingConfiguration()
        c.optimizer = optimizer
        c.learningRate = optimizer == .sgd ? 0.1 : 0.5
        c.momentum = 0
        c.kfac.damping = 1e-3
        c.kfac.klClip = nil
        c.kfac.inverseUpdateInterval = 1
        var rng = Xoshiro256StarStar(seed: 5, stream: 1)
        let model = Sequential<Float>(inputFeatures: 5, [Linear<Float>(5, 3, rng: &rng)])
        let task = SquaredErrorRegression<PointBatch>()
        let before = task.evaluate(model, on: test)
        let optimizerInstance = try ModelFactory.optimizer(c, totalSteps: 60, model: model)
        let evaluation = EvaluationHook(task: task, [("test", test)]) { $0.isLast }
        final class Last: TrainingHook {
            var evaluation: Evaluation?, correct: [Int?] = []
            func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
                evaluation = event.evaluations["test"] ?? evaluation
                correct.append(event.result.correct)
            }
        }
        let last = Last()
        let loop = TrainingLoop(step: TrainingStep(model: model, optimizer: optimizerInstance), task: task, data: train,
                                batches: MiniBatches(count: 96, batchSize: 16, seed: 3), totalSteps: 60, hooks: [evaluation, last])
        #expect(try loop.run() == 60)
        let after = try #require(last.evaluation)
        #expect(after.loss < 1e-3 * before.loss, "\(optimizer): test loss \(before.loss) → \(after.loss)")
        #expect(last.correct.allSatisfy { $0 == nil } && after.accuracy.isNaN)
        for e in [before, after] {
            let rmse = try #require(e.metrics["rmse"])
            #expect(abs(rmse * rmse - 2 * e.loss / 3) <= 1e-5 * (2 * e.loss / 3))
        }
    }

    /// Classification's evaluation: accuracy counts argmax hits (checked against a hand count from the
    /// logits), does not depend on the chunk size, and the loss is the example-weighted mean of the chunks.
    @Test func classificationEvaluationIsChunkInvariant() {
        let data = clusters(count: 50, seed: 4)
        var rng = Xoshiro256StarStar(seed: 8, stream: 1)
        let model = Sequential<Float>(inputFeatures: 16, [Linear<Float>(16, 3, rng: &rng)])
        let task = SoftmaxClassification<ImageBatch>()
        let whole = task.evaluate(model, on: data), chunked = task.evaluate(model, on: data, chunk: 7)
        let logits = model.forward(data.images, training: false)
        let hits = zip(argmaxRows(logits), data.labels).filter { $0.0 == $0.1 }.count
        #expect(whole.accuracy == Double(hits) / 50 && chunked.accuracy == whole.accuracy)
        #expect(abs(whole.loss - chunked.loss) <= 1e-6 * whole.loss)
        #expect(task.evaluate(model, on: data.prefix(0)).loss.isNaN)
    }
}
