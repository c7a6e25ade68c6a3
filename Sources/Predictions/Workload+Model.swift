import Linalg
import NeuralNet
import Training

extension Workload {
    /// The workload of a model definition (docs/cost-model.md#workloads): one `WorkloadLayer` per K-FAC block
    /// of `model` (a trainable weight with all its uses, `Sequential.kroneckerBlocks`), named by the block's
    /// path, with `inputs`/`outputs` from the weight's shape (`outFeatures × inFeatures`; a convolution's
    /// unfolded `k·k·c_in`), `bias` from the block, and `positions` the rows per example its uses see, summed
    /// over the uses (a convolution's output pixels, a sequence's tokens, a graph's nodes). The positions are
    /// read from one capturing forward and backward pass on a single zero example (`inputFeatures` wide), so
    /// they follow the model, not a restatement of it. Consecutive blocks of the same shape are merged into one
    /// layer with `count` copies only when `mergeRepeats` is set (identical transformer blocks). Products that are
    /// not a weight's — the attention core `QKᵀ`, softmax and `PV` of every `MultiHeadSelfAttention`, at the token
    /// count of that same pass — are added to `extraForwardFLOPsPerExample`.
    public init(model: Sequential<Float>, name: String, summary: String, batch: Int, outputDimension: Int,
                extraForwardFLOPsPerExample: Double = 0, mergeRepeats: Bool = false) {
        let blocks = model.kroneckerBlocks
        let capturing = model.kroneckerFactoredLayers.map { ($0.layer, $0.layer.captureEnabled) }
        model.setCapture(true)
        let output = model.forward(Matrix(rows: 1, columns: model.inputFeatures), context: ForwardContext(isTraining: false, examples: 1))
        _ = model.backward(Matrix(rows: output.rows, columns: output.columns, repeating: 1), options: BackwardOptions(parameterGradients: false))
        var layers: [WorkloadLayer] = []
        for block in blocks {
            let positions = block.captures.reduce(0) { $0 + $1.positions }
            let layer = WorkloadLayer(block.name, inputs: block.weight.value.columns, outputs: block.weight.value.rows,
                                      positions: max(positions, 1), bias: block.bias != nil)
            if mergeRepeats, let last = layers.last, last.inputs == layer.inputs, last.outputs == layer.outputs,
               last.positions == layer.positions, last.bias == layer.bias {
                layers[layers.count - 1].count += 1
            } else {
                layers.append(layer)
            }
        }
        for (layer, enabled) in capturing { layer.captureEnabled = enabled }
        let attentionFLOPs = model.namedModules().reduce(0.0) { total, entry in
            total + ((entry.module as? MultiHeadSelfAttention<Float>)?.coreForwardFLOPsPerExample ?? 0)
        }
        self.init(name: name, summary: summary, batch: batch, outputDimension: outputDimension,
                  extraForwardFLOPsPerExample: extraForwardFLOPsPerExample + attentionFLOPs, layers: layers)
    }
}

extension Workload {
    /// A model of `ModelRegistry` (`mlp`, `cnn`, `tiny-cnn`, or one a workload registered) as a workload,
    /// derived from its definition built by `ModelFactory.model(_:)` for Fashion-MNIST-shaped data (784
    /// features, 10 classes) with `configuration`'s settings (the MLP's widths) and `batch` examples; nil
    /// when no such model is registered or it does not read images (the molecule GNN: see `ogbgGNN`).
    public static func registered(_ name: String, batch: Int = 256,
                                  configuration: TrainingConfiguration = TrainingConfiguration()) -> Workload? {
        guard let kind = TrainingConfiguration.ModelKind(rawValue: name), kind.builder.input == .images else { return nil }
        var c = configuration
        c.model = kind
        let model = ModelFactory.model(c)
        return Workload(model: model, name: name,
                        summary: "Fashion-MNIST \(kind.builder.describe(c)), batch \(batch), as trained by `thermograd train --model \(name)`",
                        batch: batch, outputDimension: model.outputFeatures)
    }
}
