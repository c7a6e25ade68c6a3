import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Text
import Training

/// A text classification corpus tokenised for `--model minilm-lora` (docs/lora.md#data): the corpus of
/// `settings.corpus` split 80/20 per class (`LabeledTexts.stratifiedSplit`), WordPiece with MiniLM's
/// vocabulary to `settings.length` tokens.
public struct TextClassificationData {
    public let train: TokenizedTexts
    public let test: TokenizedTexts
    public let classNames: [String]

    public init(train: TokenizedTexts, test: TokenizedTexts, classNames: [String]) {
        self.train = train
        self.test = test
        self.classNames = classNames
    }

    /// Reads the installed packages (an error names the install command when one is missing).
    public static func load(_ settings: LoRAConfiguration) throws(ExperimentError) -> TextClassificationData {
        do {
            let texts = settings.corpus == .bbc ? try TextCorpora.bbcNews() : try TextCorpora.tweets()
            let tokenizer = try WordPieceTokenizer(vocabularyFile: try PythonPackageData.miniLM.file("model/vocab.txt"))
            let (train, test) = texts.stratifiedSplit()
            return TextClassificationData(train: try TokenizedTexts(train, tokenizer: tokenizer, length: settings.length),
                                          test: try TokenizedTexts(test, tokenizer: tokenizer, length: settings.length),
                                          classNames: texts.classNames)
        } catch let error as DatasetError {
            throw .data(error.description)
        } catch {
            throw .data("\(error)")
        }
    }
}

/// Trains arms × seeds of LoRA fine-tuning (docs/lora.md#experiment): per seed a fresh `LoRAClassifier`
/// (pretrained MiniLM-L6, frozen; adapters and head drawn from the seed), the shared experiment loop
/// (`ExperimentRunner.records` with `SoftmaxClassification<TokenBatch>`), the test split and a fixed training
/// probe (every k-th training text, all classes) evaluated every `evaluateEvery` steps, and the TNGD
/// experiments' `DeviceTimeHook` (modelled runtime = cost-model digital time + simulated device time).
public final class LoRAExperimentRunner {
    public let data: TextClassificationData
    public let train: TokenizedTexts
    public let test: TokenizedTexts
    public let probe: TokenizedTexts
    public let settings: LoRAConfiguration
    public let schedule: ExperimentSchedule
    public let batchSize: Int
    /// The pretrained model folder (nil: the installed MiniLM-L6 package).
    public let folder: String?

    public init(data: TextClassificationData, settings: LoRAConfiguration, schedule: ExperimentSchedule, batchSize: Int,
                probe: Int = 400, folder: String? = nil) {
        self.data = data
        train = schedule.trainSubset.map { data.train.strided(count: $0) } ?? data.train
        test = schedule.testSubset.map { data.test.strided(count: $0) } ?? data.test
        self.probe = train.strided(count: min(probe, train.count))
        self.settings = settings
        self.schedule = schedule
        self.batchSize = batchSize
        self.folder = folder
    }

    /// Runs `arms` × seeds (`TNGDExperimentRunner.sweep`: one log line per run, `checkpoint` after each).
    public func run(_ arms: [TNGDArm], log: (String) -> Void = { _ in }, progress: ProgressLine? = nil,
                    checkpoint: ((ExperimentResults) throws(ExperimentError) -> Void)? = nil) throws(ExperimentError) -> ExperimentResults {
        try TNGDExperimentRunner.sweep(arms, schedule: schedule, log: log, checkpoint: checkpoint) { a, seed throws(ExperimentError) in
            try run(a, seed: seed, progress: progress)
        }
    }

    /// One run of `a` with `seed`.
    public func run(_ a: TNGDArm, seed: UInt64, progress: ProgressLine? = nil) throws(ExperimentError) -> [ExperimentRecord] {
        let classifier: LoRAClassifier
        do {
            classifier = try LoRAClassifier.pretrained(settings: settings, classes: data.classNames.count, seed: seed, folder: folder)
        } catch { throw .data(error.description) }
        return try ExperimentRunner.records(arm: a.arm, seed: seed, model: classifier.model, task: SoftmaxClassification<TokenBatch>(),
                                            train: train, batchSize: batchSize, steps: schedule.steps,
                                            evaluateEvery: schedule.evaluateEvery, evaluations: [("test", test), ("train_probe", probe)],
                                            hooks: [DeviceTimeHook(digitalSecondsPerStep: a.digitalSecondsPerStep)], progress: progress)
    }
}

/// The LoRA comparison's defaults (docs/lora.md#experiment), their one home: the TNGD paper's DistilBERT
/// fine-tuning settings — TNGD-Adam with β₁ = β₂ = 0, η = 1e-3, λ = 1, δt = 0.02τ at t ∈ {0.1, 0.2, 0.4}τ
/// against Adam (η = 1e-3); batch 32.
public enum LoRAExperiment {
    public static let analogTimes: [Double] = [0.1, 0.2, 0.4]
    public static let batchSize = 32
    /// 100 steps, evaluation every 25, seed 1, the whole test split.
    // Constants inside `ExperimentSchedule`'s ranges: the initialiser cannot throw for them.
    public static let defaultSchedule = try! ExperimentSchedule(steps: 100, evaluateEvery: 25)

    /// The paper's knobs: TNGD λ = 1, δt = 0.02τ, Adam β's (0, 0) for TNGD-Adam, both learning rates as in
    /// `TNGDExperiments.Knobs` (TNGD 0.01, Adam 1e-3).
    public static var knobs: TNGDExperiments.Knobs {
        var k = TNGDExperiments.Knobs()
        k.tngd.damping = 1
        k.tngd.timeStep = 0.02
        k.tngd.adamBeta1 = 0
        k.tngd.adamBeta2 = 0
        return k
    }

    /// Adam, then TNGD-Adam at each of `times` (in τ), then (with `plainTNGD`) TNGD with SGD at the largest
    /// time. `digitalSeconds` by optimiser name (`"adam"`, `"tngd"`) prices the digital part of a step.
    public static func arms(_ k: TNGDExperiments.Knobs, times: [Double], plainTNGD: Bool, batch: Int,
                            digitalSeconds: (String) -> Double) throws -> [TNGDArm] {
        var arms = [TNGDExperiments.adam(k, batch: batch, digitalSeconds: digitalSeconds)]
        for t in times {
            var kt = k
            kt.tngd.analogTime = t
            arms.append(try TNGDExperiments.tngd("TNGD-Adam t=\(t)τ", kt, adam: true, batch: batch, digitalSeconds: digitalSeconds))
        }
        if plainTNGD, let t = times.max() {
            var kt = k
            kt.tngd.analogTime = t
            arms.append(try TNGDExperiments.tngd("TNGD t=\(t)τ", kt, batch: batch, digitalSeconds: digitalSeconds))
        }
        return arms
    }
}
