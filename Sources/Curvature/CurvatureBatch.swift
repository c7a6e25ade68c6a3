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
                                  targets: L.Target, lossValue: Scalar) where L.Scalar == Scalar {
        self.init(model: model, input: input, lossValue: lossValue, curvature: loss.outputCurvature()) {
            loss.forward(model.forward(input, context: ForwardContext(isTraining: true, examples: input.rows)),
                         targets: targets)
        }
    }

    /// Examples `b`.
    public var examples: Int { input.rows }
}
