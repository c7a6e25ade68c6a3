import Linalg

/// Inverted dropout: in training, `y = x ⊙ m / (1 − p)` with `m ~ Bernoulli(1 − p)` drawn per entry;
/// in inference, `y = x`. Backward applies the same mask to `g`.
///
/// The mask comes from the layer's own `generator` (seeded, one stream per layer); a trainer saves its
/// state in checkpoints so that a resumed run draws the same masks as an uninterrupted one.
public final class Dropout<Scalar: NeuralScalar>: Module {
    /// Probability `p ∈ [0, 1)` of zeroing an entry.
    public let probability: Double
    /// Source of the masks; part of a training run's state.
    public var generator: Xoshiro256StarStar
    private var mask = Matrix<Scalar>(rows: 0, columns: 0)
    private var wasTraining = false

    public init(probability: Double, seed: UInt64, stream: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "Dropout probability must be in [0, 1), got \(probability)")
        self.probability = probability
        generator = Xoshiro256StarStar(seed: seed, stream: 0xD50 &+ stream)
    }

    public var summary: String { "Dropout(\(probability))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        wasTraining = context.isTraining && probability > 0
        guard wasTraining else { return x }
        let keep = 1 - probability
        let scale = Scalar(1 / keep)
        var m = Matrix<Scalar>(rows: x.rows, columns: x.columns)
        m.withUnsafeMutableBufferPointer { mp in
            for i in mp.indices { mp[i] = generator.nextUniform() < keep ? scale : 0 }
        }
        mask = m
        var y = Matrix<Scalar>(rows: x.rows, columns: x.columns)
        x.withUnsafeBufferPointer { xp in
            m.withUnsafeBufferPointer { mp in
                y.withUnsafeMutableBufferPointer { yp in for i in xp.indices { yp[i] = xp[i] * mp[i] } }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        guard wasTraining else { return g }
        precondition(g.rows == mask.rows && g.columns == mask.columns, "\(summary) backward got \(g.rows)×\(g.columns)")
        var dx = Matrix<Scalar>(rows: g.rows, columns: g.columns)
        g.withUnsafeBufferPointer { gp in
            mask.withUnsafeBufferPointer { mp in
                dx.withUnsafeMutableBufferPointer { dp in for i in gp.indices { dp[i] = gp[i] * mp[i] } }
            }
        }
        return dx
    }
}
