import CBLAS
import Linalg

/// A learned position embedding added to every token: `y[n·T + t] = x[n·T + t] + E[t]`
/// (docs/vit.md#tokens). Shapes: `x`, `y` are `(b·T) × D` (example-major, `b` from the context),
/// `E` ("weight") is `T × D`, initialised `N(0, 0.02²)` as in ViT. Backward: `∂L/∂E[t] = Σ_n g[n·T + t]`,
/// `∂L/∂x = g`.
public final class PositionEmbedding<Scalar: NeuralScalar>: FixedWidthModule {
    public let positions: Int
    public let dimension: Int
    public let weight: Parameter<Scalar>

    public init(positions: Int, dimension: Int, rng: inout Xoshiro256StarStar) {
        precondition(positions >= 1 && dimension >= 1, "PositionEmbedding needs positive sizes, got \(positions) × \(dimension)")
        self.positions = positions
        self.dimension = dimension
        var e = Matrix<Scalar>(rows: positions, columns: dimension)
        e.withUnsafeMutableBufferPointer { rng.fillNormal($0, std: 0.02) }
        weight = Parameter(name: "weight", value: e)
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight)] }
    public var summary: String { "PositionEmbedding(\(positions) × \(dimension))" }
    public var inputWidth: Int { dimension }
    public var outputWidth: Int { dimension }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        precondition(x.columns == dimension && x.rows == context.examples * positions,
                     "\(summary) got \(x.rows)×\(x.columns) for \(context.examples) examples")
        var y = x
        let block = positions * dimension
        weight.value.withUnsafeBufferPointer { ep in
            y.withUnsafeMutableBufferPointer { yp in
                for n in 0..<context.examples { Scalar.axpy(Int32(block), 1, ep.baseAddress!, 1, yp.baseAddress! + n * block, 1) }
            }
        }
        return y
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.columns == dimension && g.rows % positions == 0, "\(summary) backward got \(g.rows)×\(g.columns)")
        if options.parameterGradients && weight.isTrainable {
            let block = positions * dimension
            g.withUnsafeBufferPointer { gp in
                weight.gradient.withUnsafeMutableBufferPointer { dp in
                    for n in 0..<(g.rows / positions) { Scalar.axpy(Int32(block), 1, gp.baseAddress! + n * block, 1, dp.baseAddress!, 1) }
                }
            }
        }
        return options.inputGradient ? g : Matrix(rows: 0, columns: 0)
    }
}

/// A learned class token put in front of every example's tokens: `(b·T) × D` → `(b·(T+1)) × D`, with
/// row `n·(T+1)` equal to the token `c` ("token", `1 × D`, initialised to 0 as in ViT) and rows
/// `n·(T+1) + 1 + t` equal to `x[n·T + t]` (docs/vit.md#tokens). Backward: `∂L/∂c = Σ_n g[n·(T+1)]`,
/// `∂L/∂x` the other rows. Pool with `TokenPooling(.first)` to classify from it.
public final class ClassToken<Scalar: NeuralScalar>: FixedWidthModule {
    public let dimension: Int
    public let token: Parameter<Scalar>
    private var examples = 0

    public init(dimension: Int) {
        precondition(dimension >= 1, "ClassToken needs a positive dimension")
        self.dimension = dimension
        token = Parameter(name: "token", value: Matrix(rows: 1, columns: dimension))
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("token", token)] }
    public var summary: String { "ClassToken(\(dimension))" }
    public var inputWidth: Int { dimension }
    public var outputWidth: Int { dimension }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        let b = context.examples
        precondition(x.columns == dimension && x.rows % b == 0, "\(summary) got \(x.rows)×\(x.columns) for \(b) examples")
        precondition(context.positionMask == nil, "\(summary): a position mask must describe the sequence after the class token; "
                     + "put the class token into the token ids instead")
        examples = b
        let (t, d) = (x.rows / b, dimension)
        return x.withUnsafeBufferPointer { xp in
            token.value.withUnsafeBufferPointer { cp in
                Matrix<Scalar>(rows: b * (t + 1), columns: d) { yp in
                    for n in 0..<b {
                        let dst = yp.baseAddress! + n * (t + 1) * d
                        dst.update(from: cp.baseAddress!, count: d)
                        (dst + d).update(from: xp.baseAddress! + n * t * d, count: t * d)
                    }
                }
            }
        }
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let (b, d) = (examples, dimension)
        precondition(g.columns == d && b > 0 && g.rows % b == 0 && g.rows / b >= 1, "\(summary) backward got \(g.rows)×\(g.columns)")
        let t = g.rows / b - 1
        if options.parameterGradients && token.isTrainable {
            g.withUnsafeBufferPointer { gp in
                token.gradient.withUnsafeMutableBufferPointer { dp in
                    for n in 0..<b { Scalar.axpy(Int32(d), 1, gp.baseAddress! + n * (t + 1) * d, 1, dp.baseAddress!, 1) }
                }
            }
        }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return g.withUnsafeBufferPointer { gp in
            Matrix<Scalar>(rows: b * t, columns: d) { dp in
                for n in 0..<b { (dp.baseAddress! + n * t * d).update(from: gp.baseAddress! + (n * (t + 1) + 1) * d, count: t * d) }
            }
        }
    }
}

/// How `TokenPooling` reduces an example's tokens: their mean, or the first (class) token.
public enum TokenPoolingKind: String, Sendable, Codable, CaseIterable { case mean, first }

/// Turns each example's tokens into one row for the classifier head: `(b·T) × D` → `b × D`
/// (docs/vit.md#tokens).
/// - `.mean`: `y[n] = (1/|R_n|) Σ_{t ∈ R_n} x[n·T + t]` over the real positions `R_n` (all `T` without a
///   `positionMask`; an example without real positions gives 0);
/// - `.first`: `y[n] = x[n·T]` (the class token).
/// Linear in `x`; backward spreads `g[n]` back with the same weights.
public final class TokenPooling<Scalar: NeuralScalar>: Module {
    public let kind: TokenPoolingKind
    /// Per example and position, the weight of `x[n·T + t]` in `y[n]` (last forward).
    private var weights: [Scalar] = []
    private var shape = (examples: 0, positions: 0)

    public init(_ kind: TokenPoolingKind) { self.kind = kind }

    public var summary: String { kind == .mean ? "MeanPool(tokens)" : "FirstToken" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        let b = context.examples
        precondition(x.rows % b == 0, "\(summary) got \(x.rows) rows for \(b) examples")
        let (t, d) = (x.rows / b, x.columns)
        shape = (b, t)
        weights = [Scalar](repeating: 0, count: b * t)
        for n in 0..<b {
            switch kind {
            case .first: weights[n * t] = 1
            case .mean:
                let real = (0..<t).filter { context.positionMask?.isReal[n * t + $0] ?? true }
                precondition(context.positionMask.map { $0.positions == t } ?? true, "\(summary): mask positions differ from the \(t) tokens")
                for p in real { weights[n * t + p] = 1 / Scalar(real.count) }
            }
        }
        var y = Matrix<Scalar>(rows: b, columns: d)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for n in 0..<b {
                    // y_n = Σ_t w_{n,t} x_{n,t}: one gemv over the example's T × D block.
                    weights.withUnsafeBufferPointer { wp in
                        Scalar.gemv(CblasTrans, Int32(t), Int32(d), 1, xp.baseAddress! + n * t * d, Int32(d),
                                    wp.baseAddress! + n * t, 1, 0, yp.baseAddress! + n * d, 1)
                    }
                }
            }
        }
        return y
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        let (b, t) = shape
        precondition(g.rows == b, "\(summary) backward got \(g.rows) rows for \(b) examples")
        let d = g.columns
        var dx = Matrix<Scalar>(rows: b * t, columns: d)
        g.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in
                for n in 0..<b { for p in 0..<t where weights[n * t + p] != 0 {
                    Scalar.axpy(Int32(d), weights[n * t + p], gp.baseAddress! + n * d, 1, dp.baseAddress! + (n * t + p) * d, 1)
                } }
            }
        }
        return dx
    }
}
