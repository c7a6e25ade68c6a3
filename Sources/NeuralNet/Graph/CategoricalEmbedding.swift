import Linalg

/// The sum of one embedding per categorical column (OGB's `AtomEncoder` / `BondEncoder`):
/// `y_r = Σ_k E_k[x_{r,k}]` with `E_k` of shape `categories[k] × dimension`. Input: `rows × K` whole numbers
/// (category indices); output: `rows × dimension`. Backward adds `g_r` into row `x_{r,k}` of every `E_k`;
/// the input has no gradient. Initialisation (OGB): Xavier-uniform, `E ~ U(−a, a)`, `a = √(6/(n + d))`.
/// Parameters `"tables.<k>"`, one per column.
public final class CategoricalEmbedding<Scalar: NeuralScalar>: Module {
    public let categories: [Int]
    public let dimension: Int
    public let tables: [Parameter<Scalar>]
    private var indices: [Int32] = []

    public init(categories: [Int], dimension: Int, rng: inout Xoshiro256StarStar) {
        precondition(!categories.isEmpty && categories.allSatisfy { $0 >= 1 } && dimension >= 1,
                     "CategoricalEmbedding needs positive category counts and dimension")
        self.categories = categories
        self.dimension = dimension
        tables = categories.map { n in
            let a = Scalar((6.0 / Double(n + dimension)).squareRoot())
            var e = Matrix<Scalar>(rows: n, columns: dimension)
            e.withUnsafeMutableBufferPointer { rng.fillUniform($0, low: -a, high: a) }
            return Parameter(name: "table", value: e)
        }
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        tables.enumerated().map { ("tables.\($0)", $1) }
    }
    public var summary: String { "CategoricalEmbedding(\(categories) → \(dimension))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == categories.count, "\(summary) got \(inputFeatures) columns")
        return dimension
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        let (n, k, d) = (x.rows, categories.count, dimension)
        precondition(x.columns == k, "\(summary) got input \(x.rows)×\(x.columns)")
        indices = [Int32](repeating: 0, count: n * k)
        var y = Matrix<Scalar>(rows: n, columns: d)
        x.withUnsafeBufferPointer { xp in
            for c in 0..<k {
                let limit = categories[c]
                tables[c].value.withUnsafeBufferPointer { ep in
                    y.withUnsafeMutableBufferPointer { yp in
                        for r in 0..<n {
                            let t = Int(xp[r * k + c])
                            precondition(t >= 0 && t < limit, "\(summary): category \(xp[r * k + c]) of column \(c) outside 0..<\(limit)")
                            indices[r * k + c] = Int32(t)
                            let src = ep.baseAddress! + t * d, dst = yp.baseAddress! + r * d
                            for j in 0..<d { dst[j] += src[j] }
                        }
                    }
                }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let (k, d) = (categories.count, dimension)
        let n = indices.count / k
        precondition(g.rows == n && g.columns == d, "\(summary) backward got \(g.rows)×\(g.columns)")
        if options.parameterGradients {
            g.withUnsafeBufferPointer { gp in
                for c in 0..<k where tables[c].isTrainable {
                    tables[c].gradient.withUnsafeMutableBufferPointer { dp in
                        for r in 0..<n {
                            let src = gp.baseAddress! + r * d, dst = dp.baseAddress! + Int(indices[r * k + c]) * d
                            for j in 0..<d { dst[j] += src[j] }
                        }
                    }
                }
            }
        }
        return options.inputGradient ? Matrix(rows: n, columns: k) : Matrix(rows: 0, columns: 0)
    }
}
