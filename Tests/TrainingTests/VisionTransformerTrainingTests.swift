import Curvature
import Datasets
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training
import _TestSupport

/// The ViT end to end: the registry builds it from `TrainingConfiguration.vit`, bad settings are refused
/// with the option named, and a tiny ViT learns a small fixture with Adam and with K-FAC.
@Suite("Vision transformer training")
struct VisionTransformerTrainingTests {
    /// A 4×4-image ViT (2×2 patches → 4 tokens, width 16, 2 blocks of 2 heads) on the three-cluster data.
    static func tinyModel(seed: UInt64, pooling: TokenPoolingKind = .mean) -> Sequential<Float> {
        var c = TrainingConfiguration()
        c.model = .vit
        c.seed = seed
        c.vit.patchSize = 2
        c.vit.width = 16
        c.vit.depth = 2
        c.vit.heads = 2
        c.vit.mlpRatio = 2
        c.vit.pooling = pooling
        return ModelFactory.model(c, inputFeatures: 16, classes: 3)
    }

    /// Test accuracy of `model` on 600 held-out cluster examples after `steps` steps of batch 32.
    static func accuracyAfterTraining(_ model: Sequential<Float>, optimizer: any Optimizer<Float>, steps: Int) -> Double {
        let train = clusters(count: 960, seed: 1), test = clusters(count: 600, seed: 2)
        let step = TrainingStep(model: model, optimizer: optimizer)
        for s in 0..<steps {
            let start = (s * 32) % train.count
            let batch = train.batch(Array(start..<(start + 32))[...])
            #expect(step.run(batch.images, labels: batch.labels).outcome == .applied)
        }
        let logits = model.forward(test.images, training: false)
        let correct = (0..<test.count).filter { n in
            let row = logits.row(n)
            return row.indices.max { row[$0] < row[$1] } == test.labels[n]
        }.count
        return Double(correct) / Double(test.count)
    }

    @Test("a tiny ViT reaches ≥ 95 % on the cluster fixture with Adam, for both poolings", arguments: TokenPoolingKind.allCases)
    func tinyViTLearnsWithAdam(_ pooling: TokenPoolingKind) throws {
        let model = Self.tinyModel(seed: 3, pooling: pooling)
        let accuracy = Self.accuracyAfterTraining(model, optimizer: try Adam<Float>(schedule: .constant(3e-3)), steps: 150)
        // The clusters are separated by about 3σ per coordinate in 16 dimensions: a linear classifier gets ~99 %.
        #expect(accuracy >= 0.95, "accuracy \(accuracy)")
    }

    @Test("a tiny ViT also learns with K-FAC (expand and reduce) in front of SGD", arguments: WeightSharingApproximation.allCases)
    func tinyViTLearnsWithKFAC(_ approximation: WeightSharingApproximation) throws {
        let model = Self.tinyModel(seed: 4)
        var k = KFACConfiguration()
        k.damping = 1e-2
        k.approximation = approximation
        let kfac = try KFAC(model: model, inner: try SGD<Float>(schedule: .constant(0.05), momentum: 0.9), configuration: k)
        let accuracy = Self.accuracyAfterTraining(model, optimizer: kfac, steps: 150)
        #expect(accuracy >= 0.95, "accuracy \(accuracy)")
        #expect(kfac.factors.count == model.kroneckerBlocks.count && kfac.unpreconditionedLayerSteps == 0)
    }

    @Test("NGD-CG and TNGD train a tiny ViT: the linearised model covers every layer, every step applies, the loss falls",
          arguments: [TrainingConfiguration.OptimizerKind.ngdCG, .tngd])
    func naturalGradientOnViT(_ kind: TrainingConfiguration.OptimizerKind) throws {
        let model = Self.tinyModel(seed: 5)
        var c = TrainingConfiguration()
        c.optimizer = kind
        c.learningRate = kind == .tngd ? 0.05 : 0.1
        c.seed = 5
        let step = TrainingStep(model: model, optimizer: try ModelFactory.optimizer(c, totalSteps: 30, model: model))
        let train = clusters(count: 480, seed: 1)
        var losses: [Float] = []
        for s in 0..<30 {
            let batch = train.batch(Array((s * 16)..<(s * 16 + 16))[...])
            let result = step.run(batch.images, labels: batch.labels)
            #expect(result.outcome == .applied, "step \(s): \(result.outcome)")
            losses.append(result.loss)
        }
        // Mean loss of the last five batches well below chance level ln 3 ≈ 1.1 (the loss of the untrained model).
        let late = losses.suffix(5).reduce(0, +) / 5
        let chance: Float = 1.0986123   // ln 3
        #expect(late < 0.7 * chance, "losses \(losses)")
        #expect(late < losses[0])
    }

    @Test("ViT settings out of range are refused with the option named")
    func invalidSettings() {
        var c = TrainingConfiguration()
        c.model = .vit
        #expect(throws: Never.self) { try c.validate() }
        c.vit.patchSize = 5
        #expect(throws: TrainingError.self) { try c.validate() }
        do { try c.validate() } catch { #expect(error.description.contains("--vit-patch 5") && error.description.contains("1, 2, 4, 7, 14, 28")) }
        c.vit.patchSize = 4
        c.vit.heads = 3
        do { try c.validate(); Issue.record("heads 3 of width 64 accepted") } catch { #expect(error.description.contains("--vit-heads 3")) }
    }

    @Test("the registry's ViT: 16 tokens for 7×7 patches, 49 for 4×4, same weights for the same seed")
    func registryModel() {
        var c = TrainingConfiguration()
        c.model = .vit
        let a = ModelFactory.model(c), b = ModelFactory.model(c)
        #expect(a.namedParameters.map(\.value) == b.namedParameters.map(\.value))
        #expect(a.parameter(named: "layers.1.weight")?.value.rows == 16)
        c.vit.patchSize = 4
        #expect(ModelFactory.model(c).parameter(named: "layers.1.weight")?.value.rows == 49)
    }
}
