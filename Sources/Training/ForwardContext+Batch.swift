import Datasets
import NeuralNet

extension ForwardContext {
    /// The context of a forward pass over `batch`: its example count and, for a `TokenBatch`, its padding
    /// mask as a `PositionMask` (attention then gives padded keys zero weight, mean pooling skips them).
    public init(_ batch: some DataBatch, isTraining: Bool) {
        self.init(isTraining: isTraining, examples: batch.count,
                  positionMask: (batch as? TokenBatch).map { PositionMask($0.mask) })
    }
}
