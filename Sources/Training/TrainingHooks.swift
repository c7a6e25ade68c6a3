import Datasets
import Linalg
import NeuralNet

/// Mean loss and accuracy of a model on a data set (inference mode).
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double

    public init(loss: Double, accuracy: Double) {
        self.loss = loss
        self.accuracy = accuracy
    }
}

/// Evaluates the model on named data sets (`"test"`, a fixed training probe, …) after the steps `when`
/// selects and adds the results to the event's `evaluations`, in the order listed.
public final class EvaluationHook: TrainingHook {
    public let sets: [(name: String, data: LabeledImages)]
    public let when: (StepEvent) -> Bool

    public init(_ sets: [(name: String, data: LabeledImages)], when: @escaping (StepEvent) -> Bool) {
        self.sets = sets
        self.when = when
    }

    public func afterStep(_ event: inout StepEvent, loop: TrainingLoop) throws {
        guard when(event) else { return }
        for (name, data) in sets {
            let e = evaluate(loop.model, images: data.images, labels: data.labels)
            event.evaluations[name] = Evaluation(loss: e.loss, accuracy: e.accuracy)
        }
    }
}

/// Example-weighted sums of the training loss and correct predictions since some point (a log window, an
/// epoch, the steps between two experiment records), and the seconds spent in those steps.
/// Means are `Σ loss·examples / Σ examples` and `Σ correct / Σ examples` (NaN when empty).
public struct RunningMeans: Equatable, Sendable {
    public var loss = 0.0, correct = 0, examples = 0, seconds = 0.0

    public init() {}

    public mutating func add(loss l: Float, correct c: Int, examples n: Int) {
        loss += Double(l) * Double(n)
        correct += c
        examples += n
    }

    /// Adds a step's loss and correct count.
    public mutating func add(_ event: StepEvent) {
        add(loss: event.result.loss, correct: event.result.correct, examples: event.examples)
    }

    public var meanLoss: Double { examples > 0 ? loss / Double(examples) : .nan }
    public var accuracy: Double { examples > 0 ? Double(correct) / Double(examples) : .nan }

    /// Exact text form for checkpoints: `loss bits,correct,examples,seconds bits`.
    public var encoded: String { "\(loss.bitPattern),\(correct),\(examples),\(seconds.bitPattern)" }

    /// Parses `encoded`; nil for anything else.
    public init?(_ s: String?) {
        guard let parts = s?.split(separator: ","), parts.count == 4, let l = UInt64(parts[0]), let c = Int(parts[1]),
              let e = Int(parts[2]), let t = UInt64(parts[3]) else { return nil }
        (loss, correct, examples, seconds) = (Double(bitPattern: l), c, e, Double(bitPattern: t))
    }
}
