import Datasets
import Foundation
import Linalg
import NeuralNet
import Testing
import Training

/// The MiniLM-L6 encoder against PyTorch: bench/minilm_hidden_golden.py ran BERT's forward pass in torch (CPU,
/// float32) on the package's model.safetensors for 6 sentences padded to 22 tokens and stored the ids, mask and
/// last hidden states in Fixtures/minilm_hidden_golden.safetensors (docs/bert.md#parity).
@Suite struct BertEncoderParityTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/minilm_hidden_golden.safetensors").path

    @Test func lastHiddenStatesMatchPyTorchWithin1e4() throws {
        let golden = try SafetensorsFile(contentsOf: Self.fixture)
        let ids: Matrix<Float> = try golden.tensors["input_ids"]!.matrix()
        let mask: Matrix<Float> = try golden.tensors["attention_mask"]!.matrix()
        let expected: Matrix<Float> = try golden.tensors["last_hidden_state"]!.matrix()
        #expect(ids.rows >= 5)
        let folder = try PythonPackageData.miniLM.file("model")
        var rng = Xoshiro256StarStar(seed: 1)
        let encoder = BertEncoder<Float>(try BertPretrained.configuration(folder: folder), length: ids.columns, rng: &rng)
        try BertPretrained.load(into: encoder, folder: folder)
        let context = ForwardContext(isTraining: false, examples: ids.rows, positionMask: PositionMask(mask))
        let hidden = encoder.model.forward(ids, context: context)
        #expect(hidden.rows == expected.rows && hidden.columns == expected.columns)
        // float32 sums of 384–1536 terms through 6 blocks: PyTorch and OpenBLAS order them differently, ~1e-6
        // relative per product; 1e-4 absolute on values of magnitude ≤ 6 leaves a margin of about 10×.
        var worst: Float = 0
        for i in 0..<hidden.storage.count { worst = max(worst, abs(hidden.storage[i] - expected.storage[i])) }
        #expect(worst <= 1e-4, "largest difference \(worst)")
    }

    @Test func aMissingOrMisshapenTensorIsNamed() throws {
        let config = BertConfiguration(vocabularySize: 10, hiddenSize: 4, layers: 1, heads: 2, intermediateSize: 8, maximumPositions: 6)
        var rng = Xoshiro256StarStar(seed: 2)
        let encoder = BertEncoder<Float>(config, length: 6, rng: &rng)
        var tensors: [String: SafetensorsTensor] = [:]
        for (name, parameter) in encoder.pretrainedParameters { tensors[name] = SafetensorsTensor(parameter.value) }
        // Stored as 2-D `1 × n`, a LayerNorm weight is misshapen: BERT stores it 1-D.
        do {
            try BertPretrained.load(into: encoder, from: SafetensorsFile(tensors: tensors), path: "f")
            Issue.record("a 2-D LayerNorm weight was accepted")
        } catch {
            #expect(error == .misshapenTensor(name: "embeddings.LayerNorm.weight", path: "f", expected: [4], found: [1, 4]))
        }
        for (name, parameter) in encoder.pretrainedParameters where parameter.value.rows == 1 {
            tensors[name] = SafetensorsTensor(dataType: .float32, shape: [parameter.value.columns],
                                              bytes: parameter.value.withUnsafeBufferPointer { [UInt8](UnsafeRawBufferPointer($0)) })
        }
        try BertPretrained.load(into: encoder, from: SafetensorsFile(tensors: tensors), path: "f")
        tensors["encoder.layer.0.attention.self.key.bias"] = nil
        #expect(throws: PretrainedModelError.missingTensor(name: "encoder.layer.0.attention.self.key.bias", path: "f")) {
            try BertPretrained.load(into: encoder, from: SafetensorsFile(tensors: tensors), path: "f")
        }
        #expect(throws: BertConfigurationError.badField(path: "c", field: "hidden_act", value: "relu", expected: "\"gelu\" (exact erf GELU)")) {
            try BertConfiguration(json: Data(#"{"vocab_size":10,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":6,"type_vocab_size":2,"layer_norm_eps":1e-12,"hidden_act":"relu"}"#.utf8), path: "c")
        }
    }
}
