import Datasets
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training

/// LoRA fine-tuning end to end on a tiny BERT (docs/lora.md): only adapters and head train, frozen weights
/// stay bit-identical, a padded token fixture is learnt with Adam, and the curvature optimisers (K-FAC on the
/// adapter factors, TNGD-Adam through the masked linearisation) take steps.
@Suite("LoRA training")
struct LoRATrainingTests {
    static let bert = BertConfiguration(vocabularySize: 20, hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, maximumPositions: 8)
    static var settings: LoRAConfiguration {
        var s = LoRAConfiguration()
        s.rank = 2
        s.alpha = 4
        s.length = 6
        return s
    }

    /// `count` texts of 2–6 tokens `[CLS]=1, w…, [SEP]=2` then padding 0; the label is whether word 3 occurs.
    static func fixture(count: Int, seed: UInt64) throws -> TokenBatch {
        var rng = Xoshiro256StarStar(seed: seed)
        var tokens = Matrix<Float>(rows: count, columns: 6), mask = Matrix<Float>(rows: count, columns: 6)
        var labels: [Int] = []
        for n in 0..<count {
            let words = 1 + Int(rng.nextUniform() * 4)          // 1…4 words
            let label = n % 2
            var ids = (0..<words).map { _ in 4 + Int(rng.nextUniform() * 16) }
            if label == 1 { ids[Int(rng.nextUniform() * Double(words))] = 3 }
            let row = [1] + ids + [2]
            for (t, id) in row.enumerated() { tokens[n, t] = Float(id); mask[n, t] = 1 }
            labels.append(label)
        }
        return try TokenBatch(tokens: tokens, mask: mask, labels: labels)
    }

    @Test("Adam on adapters and head learns the padded fixture; frozen weights are bit-identical, only trainable ones get state")
    func adamLearnsAndFrozenWeightsStay() throws {
        let classifier = LoRAClassifier(bert: Self.bert, settings: Self.settings, classes: 2, seed: 4)
        let model = classifier.model
        // 2 blocks × 4 adapters × (A 2×8 + B 8×2) + head 8×2 + 2.
        #expect(model.trainableParameters.reduce(0) { $0 + $1.count } == 2 * 4 * 32 + 18)
        let frozen = classifier.encoder.pretrainedParameters.map { ($0.parameter, $0.parameter.value) }
        let train = try Self.fixture(count: 256, seed: 1), test = try Self.fixture(count: 200, seed: 2)
        let adam = try Adam<Float>(schedule: .constant(1e-2))
        let step = TrainingStep(model: model, optimizer: adam)
        let task = SoftmaxClassification<TokenBatch>()
        var first = Float.nan, last = Float.nan
        for s in 0..<120 {
            let rows = Array(((s * 32) % 256)..<((s * 32) % 256 + 32))
            let batch = try TokenBatch(tokens: selectRows(train.tokens, rows), mask: selectRows(train.mask, rows), labels: rows.map { train.labels[$0] })
            let r = step.run(batch, task: task)
            #expect(r.outcome == .applied)
            if s == 0 { first = r.loss }
            last = r.loss
        }
        for (p, value) in frozen { #expect(p.value == value, "\(p.name) moved") }
        #expect(classifier.adapters.allSatisfy { $0.up.weight.value.maxAbs > 0 })     // B left zero
        // Keys are "<state>.<parameter path>": every one names a trainable parameter.
        let trainableNames = Set(model.trainableParameters.map(\.name))
        #expect(!adam.stateTensors().isEmpty && adam.stateTensors().keys.allSatisfy { key in
            trainableNames.contains(String(key.drop { $0 != "." }.dropFirst()))
        })
        let evaluation = task.evaluate(model, on: TokenBatchSource(batch: test))
        // Word 3 in any of 1–4 positions against none: a linear probe of the frozen random encoder's mean is
        // near chance; the trained adapters and head must separate the classes.
        #expect(last < 0.5 * first, "loss \(first) → \(last)")
        #expect(evaluation.accuracy >= 0.9, "test accuracy \(evaluation.accuracy)")
    }

    @Test("K-FAC (adapter factors as Linear over tokens) and TNGD-Adam (masked linearisation) take finite steps",
          arguments: [TrainingConfiguration.OptimizerKind.kfac, .tngdAdam])
    func curvatureOptimizersStep(_ kind: TrainingConfiguration.OptimizerKind) throws {
        var c = TrainingConfiguration()
        c.model = .miniLMLoRA
        c.lora = Self.settings
        c.optimizer = kind
        c.learningRate = 1e-3
        c.tngd.analogTime = 0.2
        c.tngd.damping = 1
        c.tngd.timeStep = 0.02
        let classifier = LoRAClassifier(bert: Self.bert, settings: Self.settings, classes: 2, seed: 5)
        let optimizer = try ModelFactory.optimizer(c, totalSteps: 5, model: classifier.model)
        let step = TrainingStep(model: classifier.model, optimizer: optimizer)
        let batch = try Self.fixture(count: 8, seed: 3)
        let frozen = classifier.encoder.pretrainedParameters.map { ($0.parameter, $0.parameter.value) }
        for _ in 0..<5 {
            let r = step.run(batch, task: SoftmaxClassification<TokenBatch>())
            #expect(r.outcome == .applied && r.loss.isFinite)
        }
        for (p, value) in frozen { #expect(p.value == value, "\(p.name) moved") }
        #expect(classifier.adapters.allSatisfy { $0.up.weight.value.maxAbs > 0 })
    }
}

/// Rows `rows` of `m`.
func selectRows(_ m: Matrix<Float>, _ rows: [Int]) -> Matrix<Float> {
    Matrix(rows: rows.count, columns: m.columns, storage: rows.flatMap { m.storage[($0 * m.columns)..<(($0 + 1) * m.columns)] })
}

/// One `TokenBatch` as a data source (evaluation of a fixture).
struct TokenBatchSource: DataSource {
    let batch: TokenBatch
    var name: String { "fixture" }
    var count: Int { batch.count }
    func prefix(_ n: Int) -> TokenBatchSource {
        let rows = Array(0..<min(n, count))
        return TokenBatchSource(batch: try! TokenBatch(tokens: selectRows(batch.tokens, rows), mask: selectRows(batch.mask, rows),
                                                       labels: rows.map { batch.labels[$0] }))
    }
    func makeBatch(capacity: Int) -> TokenBatch { batch }
    func gather(_ indices: ArraySlice<Int>, into out: inout TokenBatch) {
        let rows = Array(indices)
        out = try! TokenBatch(tokens: selectRows(batch.tokens, rows), mask: selectRows(batch.mask, rows), labels: rows.map { batch.labels[$0] })
    }
}
