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
        precondition(x.columns == features, "\(summary) got input \(x.rows)×\(x.columns)")
        let (n, f) = (x.rows, features)
        var xhat = Matrix<Scalar>(rows: n, columns: f)
        var y = Matrix<Scalar>(rows: n, columns: f)
        inverseStd = [Scalar](repeating: 0, count: n)
        let invF = 1 / Scalar(f)
        x.withUnsafeBufferPointer { xp in
            xhat.withUnsafeMutableBufferPointer { hp in
                y.withUnsafeMutableBufferPointer { yp in
                    weight.value.withUnsafeBufferPointer { gp in
                        bias.value.withUnsafeBufferPointer { bp in
                            for i in 0..<n {
                                let row = i * f
                                var mean: Scalar = 0
                                for j in 0..<f { mean += xp[row + j] }
                                mean *= invF
                                var variance: Scalar = 0
                                for j in 0..<f { let d = xp[row + j] - mean; variance += d * d }
                                let rstd = 1 / (variance * invF + epsilon).squareRoot()
                                inverseStd[i] = rstd
                                for j in 0..<f {
                                    let h = (xp[row + j] - mean) * rstd
                                    hp[row + j] = h
                                    yp[row + j] = gp[j] * h + bp[j]
                                }
                            }
                        }
                    }
                }
            }
        }
        normalized = xhat
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let (n, f) = (normalized.rows, features)
        precondition(g.rows == n && g.columns == f, "\(summary) backward got \(g.rows)×\(g.columns)")
        if options.parameterGradients {
            // Accumulates: γ's and β's gradients may already hold other contributions this step.
            g.withUnsafeBufferPointer { gp in
                if weight.isTrainable {
                    normalized.withUnsafeBufferPointer { hp in
                        weight.gradient.withUnsafeMutableBufferPointer { dg in
                            for i in 0..<n { for j in 0..<f { dg[j] += gp[i * f + j] * hp[i * f + j] } }
                        }
                    }
                }
                if bias.isTrainable {
                    bias.gradient.withUnsafeMutableBufferPointer { db in
                        for i in 0..<n { for j in 0..<f { db[j] += gp[i * f + j] } }
                    }
                }
            }
        }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        var dx = Matrix<Scalar>(rows: n, columns: f)
        let invF = 1 / Scalar(f)
        g.withUnsafeBufferPointer { gp in
            normalized.withUnsafeBufferPointer { hp in
                weight.value.withUnsafeBufferPointer { gamma in
                    dx.withUnsafeMutableBufferPointer { dp in
                        for i in 0..<n {
                            let row = i * f
                            var meanD: Scalar = 0, meanDH: Scalar = 0
                            for j in 0..<f {
                                let d = gp[row + j] * gamma[j]
                                meanD += d
                                meanDH += d * hp[row + j]
                            }
                            meanD *= invF
                            meanDH *= invF
                            for j in 0..<f {
                                let d = gp[row + j] * gamma[j]
                                dp[row + j] = (d - meanD - hp[row + j] * meanDH) * inverseStd[i]
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
