import Foundation
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training

/// The model tree seen from training: nested names in checkpoints, the model registry.
@Suite struct ModelTreeTrainingTests {
    /// Linear → Residual(LayerNorm → Linear → ReLU → Dropout) → Linear, with the residual's LayerNorm frozen.
    static func nested() -> Sequential<Float> {
        var rng = Xoshiro256StarStar(seed: 31)
        let model = Sequential<Float>(inputFeatures: 4, [
            Linear(4, 6, rng: &rng),
            Residual(Sequential(inputFeatures: 6, [LayerNorm(6), Linear(6, 6, rng: &rng), ReLU(), Dropout(probability: 0.3, seed: 2)])),
            Linear(6, 2, rng: &rng),
        ])
        model.freeze { $0.hasPrefix("layers.1.body.layers.0.") }
        return model
    }

    @Test("nested parameter paths, a frozen parameter and a nested dropout generator survive checkpoint save/load")
    func nestedCheckpointRoundTrip() throws {
        let model = Self.nested()
        let adam = try Adam<Float>(schedule: .constant(0.01))
        var rng = Xoshiro256StarStar(seed: 32)
        let x: Matrix<Float> = rng.normalMatrix(rows: 8, columns: 4)
        let labels = [0, 1, 0, 1, 1, 0, 0, 1]
        let loss = SoftmaxCrossEntropy<Float>()
        for _ in 0..<3 {
            _ = loss.forward(model.forward(x, training: true), targets: labels)
            model.zeroGradients()
            model.backward(loss.gradient(targets: labels))
            #expect(adam.update(model.trainableParameters) == .applied)
        }
        let path = temporaryDirectory("nested-ckpt") + "/c.safetensors"
        try Checkpoint(model: model, optimizer: adam, step: 3).write(to: path)
        let checkpoint = try Checkpoint.read(from: path)
        #expect(checkpoint.file.tensors["model.layers.1.body.layers.1.weight"] != nil)
        #expect(checkpoint.file.tensors["model.layers.1.body.layers.0.weight"] != nil)
        #expect(checkpoint.file.metadata["rng.layers.1.body.layers.3"] != nil)
        // No optimiser state for the frozen LayerNorm.
        #expect(!checkpoint.file.tensors.keys.contains { $0.hasPrefix("optimizer.") && $0.contains("layers.1.body.layers.0.") })

        let fresh = Self.nested()
        let freshAdam = try Adam<Float>(schedule: .constant(0.01))
        try checkpoint.restore(into: fresh, optimizer: freshAdam, path: path)
        #expect(fresh.namedParameters.map(\.name) == model.namedParameters.map(\.name))
        for (p, q) in zip(model.namedParameters, fresh.namedParameters) { #expect(p.value == q.value, "\(p.name)") }
        #expect(freshAdam.stateTensors() == adam.stateTensors())
        // The restored model continues exactly like the original (same dropout masks, same moments).
        for m in [model, fresh] {
            _ = loss.forward(m.forward(x, training: true), targets: labels)
            m.zeroGradients()
            m.backward(loss.gradient(targets: labels))
        }
        _ = adam.update(model.trainableParameters)
        _ = freshAdam.update(fresh.trainableParameters)
        for (p, q) in zip(model.namedParameters, fresh.namedParameters) { #expect(p.value == q.value, "\(p.name) after one more step") }
    }

    @Test("existing models keep their checkpoint names (resume of old runs)")
    func legacyNames() {
        var c = TrainingConfiguration()
        c.mlpSizes = [784, 32, 10]
        #expect(ModelFactory.model(c).namedParameters.map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"])
        c.model = .tinyCNN
        #expect(ModelFactory.model(c).namedParameters.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias", "layers.7.weight", "layers.7.bias",
        ])
    }

    @Test("a workload registers a model without editing the core; names are checked")
    func registry() throws {
        #expect(Array(ModelRegistry.names.prefix(3)) == ["mlp", "cnn", "tiny-cnn"])
        #expect(TrainingConfiguration.ModelKind(rawValue: "tree-test-residual") == nil)
        try ModelRegistry.register(ModelBuilder(name: "tree-test-residual", describe: { _ in "residual test model" }) { r, rng in
            Sequential(inputFeatures: r.inputFeatures, [
                Linear(r.inputFeatures, 8, rng: &rng),
                Residual(Sequential(inputFeatures: 8, [LayerNorm(8), Linear(8, 8, rng: &rng), GELU()])),
                Linear(8, r.classes, rng: &rng),
            ])
        })
        #expect(throws: ModelRegistryError.duplicateName("tree-test-residual")) {
            try ModelRegistry.register(ModelBuilder(name: "tree-test-residual", describe: { _ in "" }) { r, rng in
                Sequential(inputFeatures: r.inputFeatures, [Linear(r.inputFeatures, r.classes, rng: &rng)])
            })
        }
        #expect(throws: ModelRegistryError.invalidName("Bad Name")) {
            try ModelRegistry.register(ModelBuilder(name: "Bad Name", describe: { _ in "" }) { r, rng in
                Sequential(inputFeatures: r.inputFeatures, [Linear(r.inputFeatures, r.classes, rng: &rng)])
            })
        }
        var c = TrainingConfiguration()
        c.model = try #require(TrainingConfiguration.ModelKind(rawValue: "tree-test-residual"))
        let model = ModelFactory.model(c, inputFeatures: 12, classes: 3)
        #expect(model.outputFeatures == 3 && model.namedParameters.count == 8)
        #expect(c.description.contains("residual test model"))
        // The configuration round-trips through JSON by name.
        let back = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(c))
        #expect(back.model == c.model)
        let unknown = Data(#""no-such-model""#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TrainingConfiguration.ModelKind.self, from: unknown) }
    }
}

/// Freezing seen by every optimiser family: the frozen weights do not move by a single bit.
@Suite struct FrozenParameterTrainingTests {
    @Test("a frozen parameter is bit-identical after training; the others move", arguments: [
        TrainingConfiguration.OptimizerKind.sgd, .adam, .kfac, .tkfac, .ngdCG, .ngdExact, .tngd, .tngdAdam,
    ])
    func frozenStaysPut(kind: TrainingConfiguration.OptimizerKind) throws {
        var c = TrainingConfiguration()
        c.mlpSizes = [12, 8, 3]
        c.optimizer = kind
        c.learningRate = 0.05
        c.batchSize = 6
        let model = ModelFactory.model(c, inputFeatures: 12, classes: 3)
        model.freeze { $0 == "layers.0.weight" || $0 == "layers.2.bias" }
        let frozen = model.namedParameters.filter { !$0.isTrainable }
        #expect(frozen.map(\.name) == ["layers.0.weight", "layers.2.bias"])
        let before = model.namedParameters.map(\.value)
        let step = TrainingStep(model: model, optimizer: try ModelFactory.optimizer(c, totalSteps: 10, model: model))
        var rng = Xoshiro256StarStar(seed: 77)
        for _ in 0..<4 {
            let x: Matrix<Float> = rng.normalMatrix(rows: 6, columns: 12)
            let outcome = step.run(x, labels: (0..<6).map { _ in rng.nextInt(below: 3) }).outcome
            #expect(outcome == .applied, "\(kind)")
        }
        for (p, old) in zip(model.namedParameters, before) {
            if p.isTrainable { #expect(p.value != old, "\(kind): \(p.name) did not train") }
            else { #expect(p.value.storage.map(\.bitPattern) == old.storage.map(\.bitPattern), "\(kind): frozen \(p.name) moved") }
        }
        #expect(!step.optimizer.stateTensors().keys.contains { $0.contains("layers.0.weight") || $0.contains("layers.2.bias") },
                "\(kind): optimiser state for a frozen parameter")
    }
}
