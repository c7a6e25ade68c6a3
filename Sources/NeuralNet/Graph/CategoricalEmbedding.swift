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
        var rows = [Int32](repeating: 0, count: n * k)
        x.withUnsafeBufferPointer { xp in
            for r in 0..<n {
                for c in 0..<k {
                    let t = Self.wholeNumber(xp[r * k + c])
                    precondition(t >= 0 && t < categories[c], "\(summary): category \(xp[r * k + c]) of column \(c) outside 0..<\(categories[c])")
                    rows[r * k + c] = Int32(t)
                }
            }
        }
        indices = rows
        guard n > 0 else { return Matrix(rows: 0, columns: d) }
        // y_r = E_0[x_{r,0}] + E_1[x_{r,1}] + … in column order; rows are independent, split over threads.
        return Matrix<Scalar>(rows: n, columns: d) { yb in
            Self.withPointers(to: tables[...], \.value, []) { ep in
                rows.withUnsafeBufferPointer { ib in
                    let (yp, ip) = (yb.baseAddress!, ib.baseAddress!)
                    ParallelLoop.forEachChunk(n, workPerIndex: k * d) { range in
                        for r in range {
                            let y = yp + r * d
                            for j in 0..<d { y[j] = 0 }
                            for c in 0..<k {
                                let src = ep[c] + Int(ip[r * k + c]) * d
                                for j in 0..<d { y[j] += src[j] }
                            }
                        }
                    }
                }
            }
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let (k, d) = (categories.count, dimension)
        let n = indices.count / k
        precondition(g.rows == n && g.columns == d, "\(summary) backward got \(g.rows)×\(g.columns)")
        if options.parameterGradients && n > 0 {
            // Each table's rows add up in row order; the tables are disjoint, so they are split over threads.
            let columns = tables.indices.filter { tables[$0].isTrainable }
            g.withUnsafeBufferPointer { gb in
                indices.withUnsafeBufferPointer { ib in
                    Self.withPointers(to: columns.map { tables[$0] }[...], \.gradient, []) { dp in
                        let (gp, ip) = (gb.baseAddress!, ib.baseAddress!)
                        ParallelLoop.forEachChunk(columns.count, workPerIndex: n * d) { range in
                            for t in range {
                                let c = columns[t]
                                for r in 0..<n {
                                    let src = gp + r * d, dst = dp[t] + Int(ip[r * k + c]) * d
                                    for j in 0..<d { dst[j] += src[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return options.inputGradient ? Matrix(rows: n, columns: k) : Matrix(rows: 0, columns: 0)
    }

    /// Calls `body` with the base addresses of `matrix` of every parameter in `parameters` (one nested buffer access
    /// per parameter, each on its own object, so they may be written concurrently at different tables).
    private static func withPointers<R>(to parameters: ArraySlice<Parameter<Scalar>>, _ matrix: ReferenceWritableKeyPath<Parameter<Scalar>, Matrix<Scalar>>,
                                        _ collected: [UnsafeMutablePointer<Scalar>], _ body: ([UnsafeMutablePointer<Scalar>]) -> R) -> R {
        guard let first = parameters.first else { return body(collected) }
        return first[keyPath: matrix].withUnsafeMutableBufferPointer { p in
            withPointers(to: parameters.dropFirst(), matrix, collected + [p.baseAddress!], body)
        }
    }

    /// `Int(x)` (truncating; traps on NaN and infinities), through `Float`'s or `Double`'s own conversion: the generic
    /// `BinaryFloatingPoint` one takes a slow general path even when specialised (about 1 % of a GIN step).
    @inline(__always)
    static func wholeNumber(_ x: Scalar) -> Int {
        if Scalar.self == Float.self { return Int(unsafeBitCast(x, to: Float.self)) }
        if Scalar.self == Double.self { return Int(unsafeBitCast(x, to: Double.self)) }
        return Int(x)
    }
}
