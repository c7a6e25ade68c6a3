import Curvature
import Datasets
import Linalg
import NeuralNet

/// What a model is trained to do on one kind of batch: its loss, the loss's gradient and curvature in the
/// model outputs, its predictions and metrics. The training step, the loop's evaluations and every
/// curvature optimiser (K-FAC, NGD, TNGD: they read `outputCurvature()` through `CurvatureBatch`) use only
/// this surface, so a new workload (sequence classification, molecule property regression) adds a task
/// and a `DataSource` and keeps the rest.
///
/// A task is a reference type with a cache: `loss` computes `L = (1/b) Σₙ ℓₙ` for a batch's outputs and
/// keeps what the other methods need until the next `loss` call (the `Loss` contract of `NeuralNet`).
public protocol TrainingTask<Batch>: AnyObject {
    associatedtype Batch: ModelInputBatch
    /// The loss's name for plot axes and tables (`"cross-entropy"`).
    var lossName: String { get }
    /// `L` (mean over the batch's `count` examples) for the model's `outputs` (`b × d`) on `batch`.
    func loss(_ outputs: Matrix<Float>, batch: Batch) -> Float
    /// `∂L/∂outputs` at the last `loss` (`b × d`, rows carrying `1/b`).
    func outputGradient(batch: Batch) -> Matrix<Float>
    /// The Hessian of the loss in the outputs at the last `loss` (`OutputCurvature`): what the GGN
    /// `F = (1/b) Σ Jᵀ H J` and the true Fisher (targets sampled from the predictive distribution) need.
    func outputCurvature() -> OutputCurvature<Float>
    /// Examples of the last `loss` whose prediction was right (the running training accuracy), or nil
    /// when the task has no notion of a right answer (regression).
    func correctCount(batch: Batch) -> Int?
    /// The task's predictions at the last `loss`, `b × d` (class probabilities, regression outputs): what
    /// evaluation metrics read.
    func predictions() -> Matrix<Float>
    /// Fresh accumulators of the evaluation metrics besides the loss (accuracy, ROC-AUC, …).
    func makeMetrics() -> [any TaskMetric<Batch>]
}

/// An evaluation metric accumulated over the chunks of a data set: `add` after each chunk's `loss`, then
/// `value`. Ranking metrics (ROC-AUC) keep the scores; additive ones (accuracy) keep sums.
public protocol TaskMetric<Batch> {
    associatedtype Batch: DataBatch
    /// Column name (`"accuracy"`).
    var name: String { get }
    /// Adds one chunk: the task's `predictions()` for `batch`.
    mutating func add(predictions: Matrix<Float>, batch: Batch)
    /// The metric over everything added (NaN when nothing was).
    var value: Double { get }
}

extension TrainingTask {
    /// Mean loss and metrics of `model` (inference mode) on `data`, in consecutive chunks of `chunk`
    /// examples: `loss = Σ_chunks L_chunk · m_chunk / n`.
    public func evaluate<Source: DataSource>(_ model: Sequential<Float>, on data: Source, chunk: Int = 1000) -> Evaluation
        where Source.Batch == Batch {
        let n = data.count
        var metrics = makeMetrics()
        guard n > 0 else { return Evaluation(loss: .nan, metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, .nan) })) }
        var total = 0.0
        for range in data.chunks(of: chunk) {
            let batch = data.batch(Array(range)[...])
            let outputs = model.forward(batch.input, context: ForwardContext(batch, isTraining: false))
            total += Double(loss(outputs, batch: batch)) * Double(batch.count)
            let p = predictions()
            for i in metrics.indices { metrics[i].add(predictions: p, batch: batch) }
        }
        return Evaluation(loss: total / Double(n), metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value) }))
    }

    /// What a curvature optimiser needs about `batch` after the step's forward pass (`lossValue` is what
    /// `loss` returned): the output curvature and a way to re-evaluate the loss at the current weights.
    public func curvatureBatch(model: Sequential<Float>, batch: Batch, lossValue: Float) -> CurvatureBatch<Float> {
        let input = batch.input
        let context = ForwardContext(batch, isTraining: true)
        var out = CurvatureBatch(model: model, input: input, lossValue: lossValue, curvature: outputCurvature()) { [self] in
            loss(model.forward(input, context: context), batch: batch)
        }
        out.positionMask = context.positionMask
        return out
    }
}
