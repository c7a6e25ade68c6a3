import CBLAS
import Linalg

/// Multi-head self-attention over the `T` tokens of each example (Vaswani et al. 2017; docs/vit.md#attention),
/// built from four `Linear(D → D)` children `"query"`, `"key"`, `"value"`, `"output"` — each applied to
/// all `b·T` token rows with shared weights, so K-FAC treats them as layers at `T` positions
/// (expand/reduce, docs/kfac.md#weight-sharing-expand-and-reduce).
///
/// With `x` of shape `(b·T) × D` (example-major, `b` from the context), `H` heads of width `d = D/H` and
/// `Q = x W_qᵀ + b_q` (likewise `K`, `V`), for example `n` and head `h` (columns `h·d ..< (h+1)·d`):
///
///     S = Q_nh K_nhᵀ / √d    (T × T),   P = softmax_rows(S),   O_nh = P V_nh,   y = O W_oᵀ + b_o.
///
/// The softmax subtracts each row's maximum before `exp` (no overflow). Keys that the context's
/// `positionMask` marks as padding get `S = −∞`, hence weight exactly 0; a query whose keys are all
/// padding gets `P = 0` (output `b_o`). Each `(n, h)` costs two GEMMs on strided views (leading dimension
/// `D`) in the forward pass and four in the backward pass:
///
///     dP = dO_nh V_nhᵀ,  dV_nh = Pᵀ dO_nh,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
///     dQ_nh = dS K_nh / √d,  dK_nh = dSᵀ Q_nh / √d.
///
/// Examples are split over `ParallelLoop`'s threads (each writes only its own rows).
public final class MultiHeadSelfAttention<Scalar: NeuralScalar>: FixedWidthModule {
    public let dimension: Int
    public let heads: Int
    public let query: Linear<Scalar>
    public let key: Linear<Scalar>
    public let value: Linear<Scalar>
    public let output: Linear<Scalar>
    /// Low-rank adapters of `query`, `key`, `value`, `output` in that order (children `"query_lora"`, …),
    /// or empty: with them, projection `p` computes `p(x) + adapter_p(x)` (docs/lora.md#adapters).
    public private(set) var adapters: [LoRAAdapter<Scalar>] = []

    // Caches of the last forward pass.
    private var q = Matrix<Scalar>(rows: 0, columns: 0)
    private var k = Matrix<Scalar>(rows: 0, columns: 0)
    private var v = Matrix<Scalar>(rows: 0, columns: 0)
    /// `P` of every `(n, h)`: rows `((n·H + h)·T + i)`, `T` columns.
    private var probabilities = Matrix<Scalar>(rows: 0, columns: 0)
    private var examples = 0
    /// `O` of the last forward pass (`(b·T) × D`, the heads' outputs side by side): the output projection's
    /// input, which the linearised model's tangent rule needs.
    public private(set) var attended = Matrix<Scalar>(rows: 0, columns: 0)

    public init(dimension: Int, heads: Int, rng: inout Xoshiro256StarStar) {
        precondition(dimension >= 1 && heads >= 1 && dimension % heads == 0,
                     "MultiHeadSelfAttention: width \(dimension) must be a positive multiple of the \(heads) heads")
        self.dimension = dimension
        self.heads = heads
        query = Linear(dimension, dimension, rng: &rng)
        key = Linear(dimension, dimension, rng: &rng)
        value = Linear(dimension, dimension, rng: &rng)
        output = Linear(dimension, dimension, rng: &rng)
    }

    /// Width of one head `d = D/H`.
    public var headDimension: Int { dimension / heads }
    public var children: [(name: String, module: any Module<Scalar>)] {
        [("query", query), ("key", key), ("value", value), ("output", output)]
            + zip(["query_lora", "key_lora", "value_lora", "output_lora"], adapters).map { ($0, $1) }
    }
    public var summary: String { "SelfAttention(\(dimension), \(heads) heads\(adapters.first.map { ", " + $0.summary } ?? ""))" }

    /// Sets the four projections' adapters (query, key, value, output; each `D → D`). Attach before the
    /// model's root container is built: it lists the parameters once.
    public func attach(_ adapters: [LoRAAdapter<Scalar>]) {
        precondition(adapters.count == 4 && adapters.allSatisfy { $0.down.inFeatures == dimension && $0.up.outFeatures == dimension },
                     "\(summary): attach four \(dimension) → \(dimension) adapters (query, key, value, output)")
        self.adapters = adapters
    }

    /// Projection `i` (0 query, 1 key, 2 value, 3 output) of `x` with its adapter's update added.
    private func project(_ i: Int, _ layer: Linear<Scalar>, _ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        var y = layer.forward(x, context: context)
        if !adapters.isEmpty { y.axpy(1, adapters[i].forward(x, context: context)) }
        return y
    }

    /// `∂L/∂x` of projection `i` (its own and its adapter's contributions).
    private func projectBackward(_ i: Int, _ layer: Linear<Scalar>, _ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        var dx = layer.backward(g, options: options)
        if !adapters.isEmpty {
            let da = adapters[i].backward(g, options: options)
            if options.inputGradient { dx.axpy(1, da) }
        }
        return dx
    }
    public var inputWidth: Int { dimension }
    public var outputWidth: Int { dimension }

    /// Tokens per example of the last forward pass.
    var tokens: Int { examples == 0 ? 0 : q.rows / examples }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        let b = context.examples
        precondition(x.columns == dimension && x.rows % b == 0, "\(summary) got \(x.rows)×\(x.columns) for \(b) examples")
        let t = x.rows / b
        if let mask = context.positionMask {
            precondition(mask.positions == t, "\(summary): the position mask has \(mask.positions) positions, the input \(t) tokens")
        }
        examples = b
        q = project(0, query, x, context: context)
        k = project(1, key, x, context: context)
        v = project(2, value, x, context: context)
        probabilities = Matrix(rows: b * heads * t, columns: t)
        attended = Self.attend(q: q, k: k, v: v, probabilities: &probabilities, examples: b, heads: heads,
                               isReal: context.positionMask?.isReal)
        return project(3, output, attended, context: context)
    }

    /// Forward FLOPs per example of the attention core, not counted in its four `Linear`s (cost model):
    /// `S = QKᵀ` and `O = PV` are `2·T²·D` each for `T` tokens, plus `5·T²·H` for the softmax (max,
    /// subtract, exp, sum, divide). Uses `T` of the last forward pass (0 before one).
    public var coreForwardFLOPsPerExample: Double {
        let t = Double(tokens)
        return 4 * t * t * Double(dimension) + 5 * t * t * Double(heads)
    }

    /// `O` (`(b·T) × D`) from `Q`, `K`, `V`, writing every `P` into `probabilities` (`b·H·T × T`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func attend(q: Matrix<Scalar>, k: Matrix<Scalar>, v: Matrix<Scalar>, probabilities: inout Matrix<Scalar>,
                       examples b: Int, heads: Int, isReal: [Bool]?) -> Matrix<Scalar> {
        let (rows, dm) = (q.rows, q.columns)
        let (t, d) = (rows / b, dm / heads)
        let scale = 1 / Scalar(d).squareRoot()
        var o = Matrix<Scalar>(rows: rows, columns: dm)
        q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in
            probabilities.withUnsafeMutableBufferPointer { pb in o.withUnsafeMutableBufferPointer { ob in
                let (qp, kp, vp, pp, op) = (qb.baseAddress!, kb.baseAddress!, vb.baseAddress!, pb.baseAddress!, ob.baseAddress!)
                ParallelLoop.forEachChunk(b, workPerIndex: 4 * heads * t * t * d) { range in
                    for n in range {
                        let keys = isReal.map { Array($0[(n * t)..<(n * t + t)]) }
                        for h in 0..<heads {
                            let base = n * t * dm + h * d
                            let p = pp + (n * heads + h) * t * t
                            Scalar.gemm(CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(d), scale, qp + base, Int32(dm),
                                        kp + base, Int32(dm), 0, p, Int32(t))
                            softmaxRows(p, rows: t, columns: t, isReal: keys)
                            Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), 1, p, Int32(t),
                                        vp + base, Int32(dm), 0, op + base, Int32(dm))
                        }
                    }
                }
            } }
        } } }
        return o
    }

    /// Row-wise softmax in place, `p_ij = e^{s_ij − m_i} / Σ_j e^{s_ij − m_i}` with `m_i = max_j s_ij` over
    /// the real keys; padding keys (`isReal[j] == false`) get 0, and a row without real keys is all 0.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func softmaxRows(_ s: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int, isReal: [Bool]?) {
        for i in 0..<rows {
            let row = s + i * columns
            var m = -Scalar.infinity
            if let isReal {
                for j in 0..<columns where isReal[j] { m = Swift.max(m, row[j]) }
            } else {
                for j in 0..<columns { m = Swift.max(m, row[j]) }
            }
            guard m > -Scalar.infinity else {
                row.update(repeating: 0, count: columns)
                continue
            }
            for j in 0..<columns { row[j] -= m }
            Scalar.exponentiate(row, count: columns)
            if let isReal { for j in 0..<columns where !isReal[j] { row[j] = 0 } }
            var sum: Scalar = 0
            for j in 0..<columns { sum += row[j] }
            let inv = 1 / sum
            for j in 0..<columns { row[j] *= inv }
        }
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let (b, t, dm, d) = (examples, tokens, dimension, headDimension)
        let scale = 1 / Scalar(d).squareRoot()
        let dO = projectBackward(3, output, g, options: BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: true))
        var dq = Matrix<Scalar>(rows: b * t, columns: dm)
        var dk = Matrix<Scalar>(rows: b * t, columns: dm)
        var dv = Matrix<Scalar>(rows: b * t, columns: dm)
        let hs = heads
        dO.withUnsafeBufferPointer { gb in q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in
            v.withUnsafeBufferPointer { vb in probabilities.withUnsafeBufferPointer { pb in
                dq.withUnsafeMutableBufferPointer { dqb in dk.withUnsafeMutableBufferPointer { dkb in dv.withUnsafeMutableBufferPointer { dvb in
                    let (gp, qp, kp, vp, pp) = (gb.baseAddress!, qb.baseAddress!, kb.baseAddress!, vb.baseAddress!, pb.baseAddress!)
                    let (dqp, dkp, dvp) = (dqb.baseAddress!, dkb.baseAddress!, dvb.baseAddress!)
                    ParallelLoop.forEachChunk(b, workPerIndex: 8 * hs * t * t * d) { range in
                        var ds = [Scalar](repeating: 0, count: t * t)
                        ds.withUnsafeMutableBufferPointer { sb in
                            let s = sb.baseAddress!
                            for n in range {
                                for h in 0..<hs {
                                    let base = n * t * dm + h * d
                                    let p = pp + (n * hs + h) * t * t
                                    Scalar.gemm(CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(d), 1, gp + base, Int32(dm),
                                                vp + base, Int32(dm), 0, s, Int32(t))
                                    Scalar.gemm(CblasTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), 1, p, Int32(t),
                                                gp + base, Int32(dm), 0, dvp + base, Int32(dm))
                                    Self.softmaxBackwardRows(p, s, rows: t, columns: t)
                                    Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), scale, s, Int32(t),
                                                kp + base, Int32(dm), 0, dqp + base, Int32(dm))
                                    Scalar.gemm(CblasTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), scale, s, Int32(t),
                                                qp + base, Int32(dm), 0, dkp + base, Int32(dm))
                                }
                            }
                        }
                    }
                } } }
            } }
        } } }
        let inner = BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: options.inputGradient)
        var dx = projectBackward(0, query, dq, options: inner)
        let dxk = projectBackward(1, key, dk, options: inner)
        let dxv = projectBackward(2, value, dv, options: inner)
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        dx.axpy(1, dxk)
        dx.axpy(1, dxv)
        return dx
    }

    /// In place `s ← P ⊙ (s − rowsum(s ⊙ P))`: the softmax's vector–Jacobian (and, being symmetric in
    /// that sense, Jacobian–vector) product for each row.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func softmaxBackwardRows(_ p: UnsafePointer<Scalar>, _ s: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int) {
        for i in 0..<rows {
            let (pr, sr) = (p + i * columns, s + i * columns)
            var dot: Scalar = 0
            for j in 0..<columns { dot += pr[j] * sr[j] }
            for j in 0..<columns { sr[j] = pr[j] * (sr[j] - dot) }
        }
    }

    /// The tangent of the attention core at the last forward pass (the linearised model, docs/tngd.md#curvature):
    /// for tangents `Q̇`, `K̇`, `V̇` (`(b·T) × D`) of the projections,
    /// `Ṡ = (Q̇ Kᵀ + Q K̇ᵀ)/√d`, `Ṗ = P ⊙ (Ṡ − rowsum(P ⊙ Ṡ))`, `Ȯ = Ṗ V + P V̇` per example and head.
    /// Returns `Ȯ` (`(b·T) × D`, before the output projection).
    public func attentionTangent(query dq: Matrix<Scalar>, key dk: Matrix<Scalar>, value dv: Matrix<Scalar>) -> Matrix<Scalar> {
        let (b, t, dm, d) = (examples, tokens, dimension, headDimension)
        precondition([dq, dk, dv].allSatisfy { $0.rows == b * t && $0.columns == dm }, "\(summary) tangent shapes differ from the forward pass")
        let scale = 1 / Scalar(d).squareRoot()
        var out = Matrix<Scalar>(rows: b * t, columns: dm)
        var s = [Scalar](repeating: 0, count: t * t)
        for n in 0..<b {
            for h in 0..<heads {
                let base = n * t * dm + h * d
                q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in
                    dq.withUnsafeBufferPointer { dqb in dk.withUnsafeBufferPointer { dkb in dv.withUnsafeBufferPointer { dvb in
                        probabilities.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { ob in
                            s.withUnsafeMutableBufferPointer { sb in
                                let p = pb.baseAddress! + (n * heads + h) * t * t, sp = sb.baseAddress!, op = ob.baseAddress! + base
                                Scalar.gemm(CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(d), scale, dqb.baseAddress! + base, Int32(dm),
                                            kb.baseAddress! + base, Int32(dm), 0, sp, Int32(t))
                                Scalar.gemm(CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(d), scale, qb.baseAddress! + base, Int32(dm),
                                            dkb.baseAddress! + base, Int32(dm), 1, sp, Int32(t))
                                Self.softmaxBackwardRows(p, sp, rows: t, columns: t)
                                Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), 1, sp, Int32(t),
                                            vb.baseAddress! + base, Int32(dm), 0, op, Int32(dm))
                                Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(t), 1, p, Int32(t),
                                            dvb.baseAddress! + base, Int32(dm), 1, op, Int32(dm))
                            }
                        } }
                    } } }
                } } }
            }
        }
        return out
    }
}
