import Linalg

/// What a forward pass is for, and how many examples the batch holds.
public struct ForwardContext: Sendable, Equatable {
    /// Training mode: dropout draws masks. In inference mode dropout is the identity.
    public var isTraining: Bool
    /// Examples in the batch (the model input's rows). A layer applied at several positions with shared
    /// weights sees `examples · positions` rows; `positions = rows / examples` (K-FAC-expand/reduce need it).
    public var examples: Int
    /// Rows of each example when examples have different numbers of positions (the nodes of each graph
    /// of a batch): example `n` owns rows `rowOffsets[n] ..< rowOffsets[n + 1]` (`examples + 1` entries,
    /// from 0 to the row count). Nil when every example has `rows / examples` rows. A graph network
    /// passes it to the modules it applies per node, so that K-FAC's captures know the graphs.
    public var rowOffsets: [Int]?
    /// Which positions of each example are real (padded token sequences): attention gives masked keys
    /// zero weight and mean pooling averages over real positions only. nil: every position is real.
    public var positionMask: PositionMask?

    public init(isTraining: Bool, examples: Int, rowOffsets: [Int]? = nil, positionMask: PositionMask? = nil) {
        precondition(examples >= 1, "a batch needs at least one example")
        precondition(rowOffsets.map { $0.count == examples + 1 && $0.first == 0 } ?? true,
                     "row offsets need examples + 1 = \(examples + 1) entries from 0, got \(rowOffsets?.count ?? 0)")
        precondition(positionMask.map { $0.examples == examples } ?? true,
                     "position mask for \(positionMask?.examples ?? 0) examples, batch of \(examples)")
        self.isTraining = isTraining
        self.examples = examples
        self.rowOffsets = rowOffsets
        self.positionMask = positionMask
    }
}

/// Real (true) and padding (false) positions of a batch of sequences, example-major: `isReal[n·T + t]`
/// for example `n`, position `t` (the row order of a `(b·T) × features` activation). Built from a
/// `TokenBatch`'s 0/1 mask; attention layers and mean pooling read it from the `ForwardContext`.
public struct PositionMask: Sendable, Equatable {
    /// Positions per example `T`.
    public let positions: Int
    /// `b·T` flags.
    public let isReal: [Bool]

    public init(positions: Int, isReal: [Bool]) {
        precondition(positions >= 1 && isReal.count % positions == 0,
                     "position mask: \(isReal.count) flags are not a whole number of \(positions)-long sequences")
        self.positions = positions
        self.isReal = isReal
    }

    /// From a `b × T` matrix of 0 (padding) and 1 (real).
    public init<S: BLASScalar>(_ mask: Matrix<S>) {
        self.init(positions: mask.columns, isReal: mask.storage.map { $0 != 0 })
    }

    /// Examples `b`.
    public var examples: Int { isReal.count / positions }

    /// The mask of example `n` alone (`T` flags), for running one example of a padded batch by itself.
    public func example(_ n: Int) -> PositionMask {
        precondition((0..<examples).contains(n), "position mask: example \(n) of \(examples)")
        return PositionMask(positions: positions, isReal: Array(isReal[(n * positions)..<((n + 1) * positions)]))
    }
}

/// What a backward pass must produce.
public struct BackwardOptions: Sendable, Equatable {
    /// Add `∂L/∂θ` into each trainable parameter's `gradient`. K-FAC's extra true-Fisher pass turns
    /// this off: it needs only the captured output gradients.
    public var parameterGradients: Bool
    /// Return `∂L/∂input`. The first layer of a model does not need it (saves one GEMM per step).
    public var inputGradient: Bool

    public init(parameterGradients: Bool = true, inputGradient: Bool = true) {
        self.parameterGradients = parameterGradients
        self.inputGradient = inputGradient
    }

    public static let full = BackwardOptions()
}

/// A node of a model tree with an explicit forward and backward pass (the contract of
/// tensorflow/swift-apis's backpropagator, spelled as two methods on a reference type). Leaf modules
/// (`Linear`, `Conv2d`, activations, …) compute; containers (`Sequential`, `Residual`, `Branches`, or a
/// block of your own) hold `children` and compose their passes. Traversal (`parametersWithPaths`,
/// `namedModules`, `freeze`, `zeroGradients`, …) is recursive over `children` (see `Module+Traversal`).
///
/// - `forward` computes the output and caches what `backward` needs (inputs, masks, patches).
/// - `backward` takes `∂L/∂output` (same shape as the output), **adds** `∂L/∂θ` into each trainable
///   parameter's `gradient` and returns `∂L/∂input` (or an empty `0 × 0` matrix when
///   `options.inputGradient` is false). Gradients accumulate, so a parameter used by several modules
///   gets the sum of their contributions; the training step zeroes them once per step
///   (`zeroGradients()`). `backward` does **not** consume the cache: calling it again with another
///   output gradient (labels sampled from the model for the true Fisher) gives that gradient's results
///   without a new forward pass. This is the vector–Jacobian product of the module.
/// - A module instance keeps the cache of **one** application. To apply the same weights in two places,
///   use two instances that share the parameters (`Linear(sharingParametersWith:)`); a container traps
///   when it is given the same instance twice.
/// - Parameters are listed with local names (`"weight"`, `"bias"`), children with local names
///   (`"layers.0"`, `"attention"`); full paths join them with dots (`"encoder.layers.3.attention.query.weight"`).
///
/// Shape mismatches are programming errors and trap with a message naming the module.
public protocol Module<Scalar>: AnyObject {
    associatedtype Scalar: NeuralScalar

    /// Output features (columns) for `inputFeatures` input columns; traps if the module cannot take them.
    func outputFeatures(forInput inputFeatures: Int) -> Int
    /// The output for `input` (rows = examples or examples × positions, columns = features).
    func forward(_ input: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar>
    /// `∂L/∂input` from `∂L/∂output`; see the protocol's notes.
    func backward(_ outputGradient: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar>
    /// The module's own parameters (not its children's) with local names, in a fixed order.
    var localParameters: [(name: String, parameter: Parameter<Scalar>)] { get }
    /// The direct sub-modules with local names, in a fixed order (empty for a leaf).
    var children: [(name: String, module: any Module<Scalar>)] { get }
    /// One line for configuration printouts, e.g. `Linear(784 → 512, bias)`.
    var summary: String { get }
}

extension Module {
    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [] }
    public var children: [(name: String, module: any Module<Scalar>)] { [] }
}

/// The pair a Kronecker-factored curvature method (K-FAC, KFC, TK-FAC) needs from one layer
/// `s = W a (+ b)`, captured during the ordinary forward and backward passes (docs/kfac.md#factors).
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
    /// Rows of each example when examples have different numbers of positions (a layer applied per node of
    /// a batch of graphs; `ForwardContext.rowOffsets`): example `n` owns rows `rowOffsets[n] ..< rowOffsets[n + 1]`.
    /// Nil when every example has `positions` rows.
    public let rowOffsets: [Int]?

    public init(activations: Matrix<Scalar>, outputGradients: Matrix<Scalar>, examples: Int, hasBias: Bool, rowOffsets: [Int]? = nil) {
        precondition(activations.rows == outputGradients.rows && (rowOffsets != nil || activations.rows % examples == 0),
                     "capture: a has \(activations.rows) rows, g has \(outputGradients.rows), examples \(examples)")
        precondition(rowOffsets.map { $0.count == examples + 1 && $0.first == 0 && $0.last == activations.rows } ?? true,
                     "capture: row offsets must run from 0 to \(activations.rows) over \(examples) examples")
        self.activations = activations
        self.outputGradients = outputGradients
        self.examples = examples
        self.hasBias = hasBias
        self.rowOffsets = rowOffsets
    }

    /// Positions per example (1 for a plain `Linear`, `outH · outW` for `Conv2d`, the sequence length
    /// for a layer shared over a sequence); with `rowOffsets`, the mean number of rows per example.
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
public protocol KroneckerFactored<Scalar>: Module {
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

extension KroneckerFactored {
    /// The bias when it is trainable: the column `1` of `ā` and the last column of `[∇W, ∇b]` exist only
    /// then (a frozen bias is a constant offset for the curvature).
    public var trainableBias: Parameter<Scalar>? { bias.flatMap { $0.isTrainable ? $0 : nil } }
}
