import Datasets
import Linalg
import NeuralNet

/// Mean loss and metrics (`"accuracy"`, …: the task's `makeMetrics()`) of a model on a data set, inference mode.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var metrics: [String: Double]

    public init(loss: Double, metrics: [String: Double]) {
        self.loss = loss
        self.metrics = metrics
    }

    public init(loss: Double, accuracy: Double) { self.init(loss: loss, metrics: ["accuracy": accuracy]) }

    /// The accuracy (NaN for a task without one).
    public var accuracy: Double { metrics["accuracy"] ?? .nan }
}

/// Evaluates the model on named data sets (`"test"`, a fixed training probe, …) with a task after the steps
/// `when` selects and adds the results to the event's `evaluations`, in the order listed.
public final class EvaluationHook: TrainingHook {
    public let names: [String]
    private let evaluators: [(Sequential<Float>) -> Evaluation]
    public let when: (StepEvent) -> Bool

    public init<Task: TrainingTask, Source: DataSource>(task: Task, _ sets: [(name: String, data: Source)],
                                                        when: @escaping (StepEvent) -> Bool) where Source.Batch == Task.Batch {
        names = sets.map(\.name)
        evaluators = sets.map { set in { model in task.evaluate(model, on: set.data) } }
        self.when = when
    }

    /// Image classification (`SoftmaxClassification`) on each set.
    public convenience init(_ sets: [(name: String, data: LabeledImages)], when: @escaping (StepEvent) -> Bool) {
        self.init(task: SoftmaxClassification<ImageBatch>(), sets, when: when)
    }

    public func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        guard when(event) else { return }
        for (name, evaluate) in zip(names, evaluators) { event.evaluations[name] = evaluate(loop.model) }
    }
}

/// Example-weighted sums of the training loss and correct predictions since some point (a log window, an
/// epoch, the steps between two experiment records), and the seconds spent in those steps.
/// Means are `Σ loss·examples / Σ examples` and `Σ correct / Σ scored examples` (NaN when empty; steps of a
/// task without accuracy add no scored examples).
public struct RunningMeans: Equatable, Sendable {
    public var loss = 0.0, correct = 0, examples = 0, seconds = 0.0
    /// Examples of steps that reported a correct count.
    public var scoredExamples = 0

    public init() {}

    public mutating func add(loss l: Float, correct c: Int?, examples n: Int) {
        loss += Double(l) * Double(n)
        if let c {
            correct += c
            scoredExamples += n
        }
        examples += n
    }

    /// Adds a step's loss and correct count.
    public mutating func add(_ event: StepEvent) {
        add(loss: event.result.loss, correct: event.result.correct, examples: event.examples)
    }

    public var meanLoss: Double { examples > 0 ? loss / Double(examples) : .nan }
    public var accuracy: Double { scoredExamples > 0 ? Double(correct) / Double(scoredExamples) : .nan }

    /// Exact text form for checkpoints: `loss bits,correct,examples,seconds bits` (and `,scored examples`
    /// when they differ from the examples).
    public var encoded: String {
        "\(loss.bitPattern),\(correct),\(examples),\(seconds.bitPattern)" + (scoredExamples == examples ? "" : ",\(scoredExamples)")
    }

    /// Parses `encoded`; nil for anything else.
    public init?(_ s: String?) {
        guard let parts = s?.split(separator: ","), parts.count == 4 || parts.count == 5, let l = UInt64(parts[0]),
              let c = Int(parts[1]), let e = Int(parts[2]), let t = UInt64(parts[3]) else { return nil }
        (loss, correct, examples, seconds) = (Double(bitPattern: l), c, e, Double(bitPattern: t))
        if parts.count == 5 {
            guard let scored = Int(parts[4]) else { return nil }
            scoredExamples = scored
        } else {
            scoredExamples = e
        }
    }
}
