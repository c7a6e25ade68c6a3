import Experiments
import Linalg
import NeuralNet
import Predictions
import Testing
import Training

/// Workloads derived from model definitions (`Workload(model:…)`, `Workload.registered`) equal the shapes
/// that were once written out by hand for the same models (kept here as the reference).
@Suite struct DerivedWorkloadTests {
    /// The shapes of a workload, names left out (derived layers are named by their module paths).
    static func shapes(_ w: Workload) -> [[Int]] {
        w.layers.map { [$0.inputs, $0.outputs, $0.positions, $0.count, $0.bias ? 1 : 0] }
    }

    @Test func mlpEqualsTheHandWrittenShapes() throws {
        let handWritten = Workload(name: "mlp", summary: "", batch: 256, outputDimension: 10, layers: [
            WorkloadLayer("fc1", inputs: 784, outputs: 512), WorkloadLayer("fc2", inputs: 512, outputs: 512),
            WorkloadLayer("fc3", inputs: 512, outputs: 10)])
        let derived = try Workload.builtin("mlp")
        #expect(Self.shapes(derived) == Self.shapes(handWritten))
        #expect(derived.batch == handWritten.batch && derived.outputDimension == handWritten.outputDimension)
        #expect(derived.layers.map(\.name) == ["layers.0", "layers.2", "layers.4"])
    }

    @Test func cnnEqualsTheHandWrittenShapes() throws {
        let handWritten = Workload(name: "cnn", summary: "", batch: 256, outputDimension: 10, layers: [
            WorkloadLayer("conv1", inputs: 9, outputs: 32, positions: 28 * 28),
            WorkloadLayer("conv2", inputs: 288, outputs: 64, positions: 14 * 14),
            WorkloadLayer("fc1", inputs: 3136, outputs: 128), WorkloadLayer("fc2", inputs: 128, outputs: 10)])
        let derived = try Workload.builtin("cnn")
        #expect(Self.shapes(derived) == Self.shapes(handWritten))
        #expect(derived.parameterCount == handWritten.parameterCount)
    }

    /// The TNGD experiments' model (conv3×3 stride 2 → fc → fc) with the positions once computed by hand.
    @Test(arguments: [(4, 32), (8, 64)])
    func tngdModelEqualsTheHandWrittenShapes(channels: Int, hidden: Int) {
        let positions = ((28 + 2 - 3) / 2 + 1) * ((28 + 2 - 3) / 2 + 1)
        let handWritten = [WorkloadLayer("conv", inputs: 9, outputs: channels, positions: positions),
                           WorkloadLayer("fc1", inputs: positions * channels, outputs: hidden),
                           WorkloadLayer("fc2", inputs: hidden, outputs: 10)]
        let model = TNGDModel.convolutionalDense(channels: channels, hidden: hidden, seed: 1)
        let derived = Workload(model: model, name: "tngd", summary: "", batch: 64, outputDimension: 10)
        #expect(Self.shapes(derived) == Self.shapes(Workload(name: "", summary: "", batch: 1, outputDimension: 1, layers: handWritten)))
    }

    /// A weight applied in two places is one layer whose positions add up; identical blocks merge on request.
    @Test func sharedWeightsAddPositionsAndRepeatsMerge() {
        var rng = Xoshiro256StarStar(seed: 3)
        let first = Linear<Float>(8, 8, rng: &rng)
        let shared = Linear<Float>(sharingParametersWith: first)
        let model = Sequential<Float>(inputFeatures: 8, [first, ReLU<Float>(), shared, Linear<Float>(8, 8, rng: &rng), Linear<Float>(8, 8, rng: &rng)])
        let w = Workload(model: model, name: "shared", summary: "", batch: 2, outputDimension: 8)
        #expect(Self.shapes(w) == [[8, 8, 2, 1, 1], [8, 8, 1, 1, 1], [8, 8, 1, 1, 1]])
        let merged = Workload(model: model, name: "shared", summary: "", batch: 2, outputDimension: 8, mergeRepeats: true)
        #expect(Self.shapes(merged) == [[8, 8, 2, 1, 1], [8, 8, 1, 2, 1]])
    }

    /// The ViT's attention cores are counted: `depth × (4·T²·D + 5·T²·H)` forward FLOPs per example beyond the
    /// Linears (T = 16 tokens of 7×7 patches, mean pooling), and the Linears act on every token.
    @Test func vitCountsItsAttentionCores() throws {
        var c = TrainingConfiguration()
        c.model = .vit
        let w = try #require(Workload.registered("vit", batch: 8, configuration: c))
        let v = c.vit
        let t = Double((28 / v.patchSize) * (28 / v.patchSize))
        let expected = Double(v.depth) * (4 * t * t * Double(v.width) + 5 * t * t * Double(v.heads))
        #expect(w.extraForwardFLOPsPerExample == expected)
        #expect(w.layers.contains { $0.positions == Int(t) && $0.inputs == v.width })
    }
}
