import Linalg

/// Layer normalisation over the features of each row (Ba et al., 2016):
/// `μ = mean(x)`, `σ² = mean((x − μ)²)`, `x̂ = (x − μ)/√(σ² + ε)`, `y = γ ⊙ x̂ + β`.
/// Backward: `∂L/∂γ = Σ_rows g ⊙ x̂`, `∂L/∂β = Σ_rows g`, and with `d = g ⊙ γ`,
/// `∂L/∂x = (d − mean(d) − x̂ ⊙ mean(d ⊙ x̂)) / √(σ² + ε)`.
/// Shapes: `x`, `y` are `n × F`; `γ` ("weight") and `β` ("bias") are `1 × F`, initialised to 1 and 0.
public final class LayerNorm<Scalar: NeuralScalar>: FixedWidthModule {
    public let features: Int
    public let epsilon: Scalar
    public let weight: Parameter<Scalar>
    public let bias: Parameter<Scalar>
    private var normalized = Matrix<Scalar>(rows: 0, columns: 0)
    private var inverseStd: [Scalar] = []

    public init(_ features: Int, epsilon: Scalar = 1e-5) {
        precondition(features >= 1, "LayerNorm needs at least one feature")
        self.features = features
        self.epsilon = epsilon
        weight = Parameter(name: "weight", value: Matrix(rows: 1, columns: features, repeating: 1))
        bias = Parameter(name: "bias", value: Matrix(rows: 1, columns: features))
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight), ("bias", bias)] }
    public var summary: String { "LayerNorm(\(features))" }
    public var inputWidth: Int { features }
    public var outputWidth: Int { features }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        requireInputWidth(x)
        let (n, f) = (x.rows, features)
        guard n > 0 else {
            (normalized, inverseStd) = (x, [])
            return x
        }
        var rstd = [Scalar](repeating: 0, count: n)
        var y = Matrix<Scalar>(rows: 0, columns: 0)
        let invF = 1 / Scalar(f), epsilon = epsilon
        // Rows are independent: split over threads; within a row the sums run in `laneSum`'s fixed order.
        normalized = Matrix<Scalar>(rows: n, columns: f) { hb in
            y = Matrix<Scalar>(rows: n, columns: f) { yb in
                x.withUnsafeBufferPointer { xb in
                    weight.value.withUnsafeBufferPointer { gb in
                        bias.value.withUnsafeBufferPointer { bb in
                            rstd.withUnsafeMutableBufferPointer { sb in
                                let (xp, hp, yp, gp, bp, sp) = (xb.baseAddress!, hb.baseAddress!, yb.baseAddress!, gb.baseAddress!, bb.baseAddress!, sb.baseAddress!)
                                ParallelLoop.forEachChunk(n, workPerIndex: 4 * f) { rows in
                                    for i in rows {
                                        let xr = xp + i * f, hr = hp + i * f, yr = yp + i * f
                                        let mean = laneSum(f) { xr[$0] } * invF
                                        let variance = laneSum(f) { let d = xr[$0] - mean; return d * d } * invF
                                        let s = 1 / (variance + epsilon).squareRoot()
                                        sp[i] = s
                                        for j in 0..<f {
                                            let h = (xr[j] - mean) * s
                                            hr[j] = h
                                            yr[j] = gp[j] * h + bp[j]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        inverseStd = rstd
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let (n, f) = (normalized.rows, features)
        precondition(g.rows == n && g.columns == f, "\(summary) backward got \(g.rows)×\(g.columns)")
        if options.parameterGradients && n > 0 {
            // Accumulates: γ's and β's gradients may already hold other contributions this step. Each feature sums
            // its rows in order; the features are split over threads (disjoint writes, the same bits for any split).
            g.withUnsafeBufferPointer { gb in
                let gp = gb.baseAddress!
                if weight.isTrainable {
                    normalized.withUnsafeBufferPointer { hb in
                        weight.gradient.withUnsafeMutableBufferPointer { db in
                            let (hp, dg) = (hb.baseAddress!, db.baseAddress!)
                            Self.forEachFeatureChunk(n: n, f: f) { features in
                                for i in 0..<n { let (gr, hr) = (gp + i * f, hp + i * f); for j in features { dg[j] += gr[j] * hr[j] } }
                            }
                        }
                    }
                }
                if bias.isTrainable {
                    bias.gradient.withUnsafeMutableBufferPointer { bb in
                        let db = bb.baseAddress!
                        Self.forEachFeatureChunk(n: n, f: f) { features in
                            for i in 0..<n { let gr = gp + i * f; for j in features { db[j] += gr[j] } }
                        }
                    }
                }
            }
        }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        guard n > 0 else { return g }
        let invF = 1 / Scalar(f)
        return Matrix<Scalar>(rows: n, columns: f) { db in
            g.withUnsafeBufferPointer { gb in
                normalized.withUnsafeBufferPointer { hb in
                    weight.value.withUnsafeBufferPointer { wb in
                        inverseStd.withUnsafeBufferPointer { sb in
                            let (gp, hp, gamma, dp, sp) = (gb.baseAddress!, hb.baseAddress!, wb.baseAddress!, db.baseAddress!, sb.baseAddress!)
                            ParallelLoop.forEachChunk(n, workPerIndex: 4 * f) { rows in
                                for i in rows {
                                    let gr = gp + i * f, hr = hp + i * f, dr = dp + i * f
                                    let meanD = laneSum(f) { gr[$0] * gamma[$0] } * invF
                                    let meanDH = laneSum(f) { gr[$0] * gamma[$0] * hr[$0] } * invF
                                    let s = sp[i]
                                    for j in 0..<f { dr[j] = (gr[j] * gamma[j] - meanD - hr[j] * meanDH) * s }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `body` over contiguous ranges of `0..<f` split over threads in multiples of 16 features (whole cache lines),
    /// for the column sums over `n` rows.
    @inline(__always)
    private static func forEachFeatureChunk(n: Int, f: Int, _ body: (Range<Int>) -> Void) {
        let blocks = (f + 15) / 16
        ParallelLoop.forEachChunk(blocks, workPerIndex: 16 * n) { range in body((range.lowerBound * 16)..<min(f, range.upperBound * 16)) }
    }
}

/// `Σ_{j < count} term(j)` in eight interleaved partial sums (lane `j mod 8`) added pairwise at the end: independent
/// chains the compiler keeps in one vector register, instead of one serial chain of `count` dependent additions
/// (which made LayerNorm a quarter of a GIN step). The order is fixed, so results do not depend on threads.
@inline(__always)
func laneSum<Scalar: FloatingPoint>(_ count: Int, _ term: (Int) -> Scalar) -> Scalar {
    var (s0, s1, s2, s3, s4, s5, s6, s7) = (Scalar.zero, Scalar.zero, Scalar.zero, Scalar.zero, Scalar.zero, Scalar.zero, Scalar.zero, Scalar.zero)
    var j = 0
    while j + 8 <= count {
        s0 += term(j); s1 += term(j + 1); s2 += term(j + 2); s3 += term(j + 3)
        s4 += term(j + 4); s5 += term(j + 5); s6 += term(j + 6); s7 += term(j + 7)
        j += 8
    }
    if j < count { s0 += term(j) }
    if j + 1 < count { s1 += term(j + 1) }
    if j + 2 < count { s2 += term(j + 2) }
    if j + 3 < count { s3 += term(j + 3) }
    if j + 4 < count { s4 += term(j + 4) }
    if j + 5 < count { s5 += term(j + 5) }
    if j + 6 < count { s6 += term(j + 6) }
    return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
}
