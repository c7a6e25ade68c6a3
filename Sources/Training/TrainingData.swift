import Chemistry
import Datasets
import Linalg
import NeuralNet

/// What a run trains and evaluates on, with the task that scores it, as one value: `Trainer` and the
/// experiment runners build the one `TrainingLoop` and its `EvaluationHook` from it without knowing the
/// batch type. Built for images (`images(train:test:)`: softmax classification, evaluated on `"test"`) and
/// for molecules (`molecules(train:validation:test:)`: binary classification, evaluated on `"validation"`
/// and `"test"`, docs/gnn.md#training).
public struct TrainingData {
    /// The training set's display name (`"Fashion-MNIST"`, `"ogbg-molhiv"`).
    public let name: String
    /// Training examples.
    public let trainCount: Int
    /// Evaluated sets in order, with their sizes; one is `"test"`.
    public let evaluationSets: [(name: String, count: Int)]
    /// Columns of one input row and outputs the model must produce (classes, or 1 logit).
    public let inputFeatures: Int
    public let outputs: Int
    /// The task's evaluation metrics besides the loss, headline first (`["accuracy"]`, `["roc_auc", "average_precision"]`).
    public let metricNames: [String]
    /// The loss's name for plot axes (`"cross-entropy"`).
    public let lossName: String
    /// Counts and a hash of every example, stored in checkpoints (a resume on other data is refused).
    public let fingerprint: String
    private let loop: (TrainingStep, MiniBatches, Int, [any TrainingHook]) -> TrainingLoop
    private let evaluation: (@escaping (StepEvent) -> Bool) -> EvaluationHook
    private let subset: (_ train: Int?, _ evaluation: Int?) -> TrainingData

    /// `task` on `train`, evaluated on `evaluations` (one named `"test"`). `fingerprint` hashes the
    /// sets; `subset` rebuilds the value on prefixes of them.
    public init<Task: TrainingTask, Source: DataSource>(task: Task, train: Source, evaluations: [(name: String, data: Source)],
                                                        inputFeatures: Int, outputs: Int, fingerprint: String,
                                                        subset: @escaping (_ train: Int?, _ evaluation: Int?) -> TrainingData)
        where Source.Batch == Task.Batch {
        precondition(evaluations.contains { $0.name == "test" }, "TrainingData: one evaluated set must be named test")
        name = train.name
        trainCount = train.count
        evaluationSets = evaluations.map { ($0.name, $0.data.count) }
        self.inputFeatures = inputFeatures
        self.outputs = outputs
        metricNames = task.makeMetrics().map(\.name)
        lossName = task.lossName
        self.fingerprint = fingerprint
        loop = { step, batches, total, hooks in
            TrainingLoop(step: step, task: task, data: train, batches: batches, totalSteps: total, hooks: hooks)
        }
        evaluation = { when in EvaluationHook(task: task, evaluations, when: when) }
        self.subset = subset
    }

    /// Columns of an encoded molecule batch (`MoleculeGraphs.encodedWidth`), for callers without Chemistry.
    public static var moleculeInputFeatures: Int { MoleculeGraphs.encodedWidth }

    /// The headline metric (`"accuracy"`, `"roc_auc"`).
    public var headlineMetric: String { metricNames.first ?? "loss" }
    /// Names of the evaluated sets.
    public var evaluationNames: [String] { evaluationSets.map(\.name) }

    /// The loop training on this data with `step`, in `batches`' order, for `totalSteps` steps.
    public func makeLoop(step: TrainingStep, batches: MiniBatches, totalSteps: Int, hooks: [any TrainingHook]) -> TrainingLoop {
        loop(step, batches, totalSteps, hooks)
    }

    /// An evaluation of every set after the steps `when` selects.
    public func makeEvaluation(when: @escaping (StepEvent) -> Bool) -> EvaluationHook { evaluation(when) }

    /// The first `train` training examples and the first `evaluation` examples of every evaluated set (nil: all).
    public func prefix(train: Int?, evaluation: Int?) -> TrainingData {
        train == nil && evaluation == nil ? self : subset(train, evaluation)
    }

    /// Fashion-MNIST-style images: softmax classification, evaluated on `test`.
    public static func images(train: LabeledImages, test: LabeledImages) -> TrainingData {
        images(train: train, evaluations: [("test", test)])
    }

    /// Images evaluated on several named sets (one named `"test"`; a training probe beside it).
    public static func images(train: LabeledImages, evaluations: [(name: String, data: LabeledImages)]) -> TrainingData {
        let test = evaluations.first { $0.name == "test" }?.data ?? train
        return TrainingData(task: SoftmaxClassification<ImageBatch>(), train: train, evaluations: evaluations,
                            inputFeatures: train.features, outputs: train.classCount,
                            fingerprint: Trainer.dataFingerprint(train: train, test: test)) { n, m in
            images(train: n.map { train.prefix($0) } ?? train, evaluations: evaluations.map { ($0.name, m.map($0.data.prefix) ?? $0.data) })
        }
    }

    /// Molecules with 0/1 labels (`BinaryClassification` with the positive class weighted by `positiveWeight`, 1:
    /// unweighted; docs/gnn.md#loss-and-imbalance), evaluated on `validation` and `test`.
    public static func molecules(train: MoleculeGraphs, validation: MoleculeGraphs, test: MoleculeGraphs,
                                 positiveWeight: Float = 1) -> TrainingData {
        let fingerprint = zip(["training", "validation", "test"], [train, validation, test])
            .map { "\($1.count) \($0) (\($1.positives) positive)" }.joined(separator: ", ")
            + ", hash " + String(MoleculeGraphs.fingerprint([train, validation, test]), radix: 16)
        return TrainingData(task: BinaryClassification<MoleculeBatch>(positiveWeight: positiveWeight), train: train,
                            evaluations: [("validation", validation), ("test", test)],
                            inputFeatures: MoleculeGraphs.encodedWidth, outputs: 1, fingerprint: fingerprint) { n, m in
            molecules(train: n.map { train.prefix($0) } ?? train, validation: m.map { validation.prefix($0) } ?? validation,
                      test: m.map { test.prefix($0) } ?? test, positiveWeight: positiveWeight)
        }
    }
}
