import Linalg

/// What a forward pass is for, and how many examples the batch holds.
public struct ForwardContext: Sendable, Equatable {
    /// Training mode: dropout draws masks. In inference mode dropout is the identity.
    public var isTraining: Bool
    /// Examples in the batch (the model input's rows). A layer applied at several positions with shared
    /// weights sees `examples · positions` rows; `positions = rows / examples` (K-FAC-expand/reduce need it).
    public var examples: Int

    public init(isTraining: Bool, examples: Int) {
        precondition(examples >= 1, "a batch needs at least one example")
        self.isTraining = isTraining
        self.examples = examples
    }
}

/// What a backward pass must produce.
public struct BackwardOptions: Sendable, Equatable {
    /// Write `∂L/∂θ` into each parameter's `gradient` (overwriting it). K-FAC's extra true-Fisher pass
    /// turns this off: it needs only the captured output gradients.
    public var parameterGradients: Bool
    /// Return `∂L/∂input`. The first layer of a model does not need it (saves one GEMM per step).
    public var inputGradient: Bool

    public init(parameterGradients: Bool = true, inputGradient: Bool = true) {
        self.parameterGradients = parameterGradients
        self.inputGradient = inputGradient
    }

    public static let full = BackwardOptions()
}

/// A layer with an explicit forward and backward pass (the contract of tensorflow/swift-apis's
/// backpropagator, spelled as two methods on a reference type).
///
/// - `forward` computes the output and caches what `backward` needs (inputs, masks, patches).
/// - `backward` takes `∂L/∂output` (same shape as the output), writes parameter gradients and returns
///   `∂L/∂input` (or an empty `0 × 0` matrix when `options.inputGradient` is false). It does **not**
///   consume the cache: calling it again with another output gradient (labels sampled from the model
///   for the true Fisher) gives that gradient's results without a new forward pass. This is the
///   vector–Jacobian product of the layer; natural-gradient methods build on it.
/// - Parameters are listed with local names (`"weight"`, `"bias"`); containers prefix them.
///
/// Shape mismatches are programming errors and trap with a message naming the layer.
public protocol Layer<Scalar>: AnyObject {
    associatedtype Scalar: NeuralScalar

    /// Output features (columns) for `inputFeatures` input columns; traps if the layer cannot take them.
    func outputFeatures(forInput inputFeatures: Int) -> Int
    /// The output for `input` (rows = examples or examples × positions, columns = features).
    func forward(_ input: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar>
    /// `∂L/∂input` from `∂L/∂output`; see the protocol's notes.
    func backward(_ outputGradient: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar>
    /// Trainable parameters with local names, in a fixed order.
    var parameters: [Parameter<Scalar>] { get }
    /// One line for configuration printouts, e.g. `Linear(784 → 512, bias)`.
    var summary: String { get }
}

extension Layer {
    public var parameters: [Parameter<Scalar>] { [] }
}

/// The pair a Kronecker-factored curvature method (K-FAC, KFC, TK-FAC) needs from one layer
/// `s = W a (+ b)`, captured during the ordinary forward and backward passes (REFERENCE.md §2).
///
/// - `activations` `a`: `(examples · positions) × inFeatures` — the layer input for `Linear`, the
///   im2col patches for `Conv2d`. The bias column is **not** included; when `hasBias`, `ā = [a, 1]`
///   (`augmentedActivations()`) so that the weight and bias gradients form one `out × (in + 1)` matrix
///   `[∇W, ∇b] = gᵀ ā`.
/// - `outputGradients` `g = ∂L/∂s`: `(examples · positions) × outFeatures`.
///
/// Scaling convention: every loss is a **mean over the batch**, `L = (1/b) Σᵢ ℓᵢ`, so each row of `g`
/// carries a factor `1/b`. The per-example gradients are `b·gᵢ`; the K-FAC factors of a batch are
/// `A = āᵀā / b` and `G = b · gᵀg` (for `positions > 1`, K-FAC-expand divides `A` by `b·positions` and
/// K-FAC-reduce first averages `a` and sums `g` over the positions of each example).
public struct KroneckerCapture<Scalar: BLASScalar> {
    public let activations: Matrix<Scalar>
    public let outputGradients: Matrix<Scalar>
    /// Examples in the batch `b`.
    public let examples: Int
    /// Whether the layer has a bias (then `ā = [a, 1]`).
    public let hasBias: Bool

    public init(activations: Matrix<Scalar>, outputGradients: Matrix<Scalar>, examples: Int, hasBias: Bool) {
        precondition(activations.rows == outputGradients.rows && activations.rows % examples == 0,
                     "capture: a has \(activations.rows) rows, g has \(outputGradients.rows), examples \(examples)")
        self.activations = activations
        self.outputGradients = outputGradients
        self.examples = examples
        self.hasBias = hasBias
    }

    /// Positions per example (1 for a plain `Linear`, `outH · outW` for `Conv2d`, the sequence length
    /// for a layer shared over a sequence).
    public var positions: Int { activations.rows / examples }

    /// `ā = [a, 1]` (a copy) when the layer has a bias, else `a`.
    public func augmentedActivations() -> Matrix<Scalar> {
        guard hasBias else { return activations }
        let (n, k) = (activations.rows, activations.columns)
        var out = Matrix<Scalar>(rows: n, columns: k + 1, repeating: 1)
        activations.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    (dst.baseAddress! + i * (k + 1)).update(from: src.baseAddress! + i * k, count: k)
                }
            }
        }
        return out
    }
}

/// A trainable layer of the form `s = W a + b` (after an optional linear unfolding of the input, such
/// as im2col) that can capture its `a` and `g` for Kronecker-factored curvature.
///
/// Capture is off by default and costs nothing then; an optimiser that needs it sets `captureEnabled`.
/// With capture on, `forward` keeps `a` (which the layer stores for its own backward anyway — no copy)
/// and every `backward` replaces `g`, so a second backward with sampled labels captures the true-Fisher
/// `g` while `a` from the single forward pass stays valid.
public protocol KroneckerFactored<Scalar>: Layer {
    /// Weight `W`, shape `outFeatures × inFeatures` (for `Conv2d`: `outChannels × (kh·kw·inChannels)`).
    var weight: Parameter<Scalar> { get }
    /// Bias `b` as a `1 × outFeatures` row, if any.
    var bias: Parameter<Scalar>? { get }
    /// When true, forward/backward record `capture`.
    var captureEnabled: Bool { get set }
    /// The activations of the last forward and output gradients of the last backward with capture on;
    /// nil until both have run.
    var capture: KroneckerCapture<Scalar>? { get }
}
