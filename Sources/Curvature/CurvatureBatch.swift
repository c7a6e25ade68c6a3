import Linalg
import NeuralNet

/// What a curvature-based optimiser (K-FAC, natural gradient) needs to know about the current batch
/// beyond the gradients: the model and its input, the loss value and its output curvature (frozen at
/// this batch), and a way to re-evaluate the loss on the same batch after the parameters changed
/// (Levenberg–Marquardt damping's reduction ratio).
///
/// Made by the training loop right after the ordinary forward and backward passes, with the loss and
/// targets of that step; nothing is recomputed until a method that says so is called.
public struct CurvatureBatch<Scalar: NeuralScalar> {
    public let model: Sequential<Scalar>
    /// The model input `x`, `b × in`.
    public let input: Matrix<Scalar>
    /// `L(θ)` on this batch at the parameters of the forward pass.
    public let lossValue: Scalar
    /// `H` of the loss in the outputs at this batch.
    public let curvature: OutputCurvature<Scalar>
    /// `L(θ')` on this batch at the *current* parameters: one more forward pass (training mode), which
    /// replaces the layers' caches.
    public let evaluateLoss: () -> Scalar
    /// This rank's part of the global batch in a data-parallel step (nil: one process); see `distributed`.
    public var shard: CurvatureShard? = nil
    /// The real (non-padding) positions of a batch of token sequences (nil: none padded). Every forward pass
    /// a curvature method runs on this batch uses `context(isTraining:)`, which carries it, so attention and
    /// mean pooling ignore padding there as they do in the training step (docs/lora.md#padding).
    public var positionMask: PositionMask? = nil

    /// The forward context of this batch: `examples` and `positionMask`.
    public func context(isTraining: Bool) -> ForwardContext {
        ForwardContext(isTraining: isTraining, examples: examples, positionMask: positionMask)
    }

    public init(model: Sequential<Scalar>, input: Matrix<Scalar>, lossValue: Scalar,
                curvature: OutputCurvature<Scalar>, evaluateLoss: @escaping () -> Scalar) {
        self.model = model
        self.input = input
        self.lossValue = lossValue
        self.curvature = curvature
        self.evaluateLoss = evaluateLoss
    }

    /// A batch for `loss` after its `forward` at `targets`; `lossValue` is what that forward returned.
    public init<L: CurvatureLoss>(model: Sequential<Scalar>, input: Matrix<Scalar>, loss: L,
                                  targets: L.Target, lossValue: Scalar, positionMask: PositionMask? = nil) where L.Scalar == Scalar {
        let context = ForwardContext(isTraining: true, examples: input.rows, positionMask: positionMask)
        self.init(model: model, input: input, lossValue: lossValue, curvature: loss.outputCurvature()) {
            loss.forward(model.forward(input, context: context), targets: targets)
        }
        self.positionMask = positionMask
    }

    /// Examples `b`.
    public var examples: Int { input.rows }
}
