import Linalg

/// BERT's input embeddings for one segment (Devlin et al. 2019; docs/bert.md#encoder): token ids `b × T` →
/// `(b·T) × D`, row `n·T + t` equal to `W_word[id_nt] + W_position[t] + W_type[0]` (every token has type 0:
/// single-sentence classification). The LayerNorm that BERT applies next is a separate module.
///
/// Parameters: `"word"` (`V × D`), `"position"` (`P × D`, so `T ≤ P`), `"tokenType"` (`types × D`).
/// Backward adds `g` row by row into the used rows of each table; the ids have no gradient (a zero `b × T`
/// matrix when one is asked for).
public final class BertEmbeddings<Scalar: NeuralScalar>: Module {
    public let word: Parameter<Scalar>
    public let position: Parameter<Scalar>
    public let tokenType: Parameter<Scalar>
    private var tokens: [Int] = []
    private var inputShape = (rows: 0, columns: 0)

    /// Tables drawn `N(0, 0.02²)` (BERT's initialiser); pretrained values are copied in afterwards.
    public init(vocabulary: Int, positions: Int, types: Int, dimension: Int, rng: inout Xoshiro256StarStar) {
        precondition(vocabulary >= 1 && positions >= 1 && types >= 1 && dimension >= 1, "BertEmbeddings needs positive sizes")
        func table(_ rows: Int) -> Matrix<Scalar> { rng.normalMatrix(rows: rows, columns: dimension, std: Scalar(0.02)) }
        word = Parameter(name: "word", value: table(vocabulary))
        position = Parameter(name: "position", value: table(positions))
        tokenType = Parameter(name: "tokenType", value: table(types))
    }

    public var dimension: Int { word.value.columns }
    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        [("word", word), ("position", position), ("tokenType", tokenType)]
    }
    public var summary: String { "BertEmbeddings(\(word.value.rows) tokens, \(position.value.rows) positions, \(dimension))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures <= position.value.rows, "\(summary): \(inputFeatures) positions")
        return dimension
    }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        let (t, d, vocabulary) = (x.columns, dimension, word.value.rows)
        precondition(t <= position.value.rows, "\(summary): sequences of \(t) tokens")
        inputShape = (x.rows, x.columns)
        tokens = x.storage.map { value in
            let id = Int(value.rounded())
            precondition(id >= 0 && id < vocabulary, "BertEmbeddings: token \(value) outside 0..<\(vocabulary)")
            return id
        }
        var y = Matrix<Scalar>(rows: tokens.count, columns: d)
        word.value.withUnsafeBufferPointer { wp in position.value.withUnsafeBufferPointer { pp in
            tokenType.value.withUnsafeBufferPointer { tp in y.withUnsafeMutableBufferPointer { yp in
                for (r, id) in tokens.enumerated() {
                    let (row, w, p) = (yp.baseAddress! + r * d, wp.baseAddress! + id * d, pp.baseAddress! + (r % t) * d)
                    for j in 0..<d { row[j] = w[j] + p[j] + tp[j] }
                }
            } }
        } }
        return y
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let d = dimension
        precondition(g.rows == tokens.count && g.columns == d, "\(summary) backward got \(g.rows)×\(g.columns)")
        if options.parameterGradients {
            let t = inputShape.columns
            g.withUnsafeBufferPointer { gp in
                for (r, id) in tokens.enumerated() {
                    let source = gp.baseAddress! + r * d
                    if word.isTrainable { word.gradient.withUnsafeMutableBufferPointer { Scalar.axpy(Int32(d), 1, source, 1, $0.baseAddress! + id * d, 1) } }
                    if position.isTrainable { position.gradient.withUnsafeMutableBufferPointer { Scalar.axpy(Int32(d), 1, source, 1, $0.baseAddress! + (r % t) * d, 1) } }
                    if tokenType.isTrainable { tokenType.gradient.withUnsafeMutableBufferPointer { Scalar.axpy(Int32(d), 1, source, 1, $0.baseAddress!, 1) } }
                }
            }
        }
        return options.inputGradient ? Matrix(rows: inputShape.rows, columns: inputShape.columns) : Matrix(rows: 0, columns: 0)
    }
}
