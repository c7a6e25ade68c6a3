import Linalg

/// One graph-isomorphism convolution with edge features (Xu et al. 2019; the edge-feature form of OGB's
/// GIN baseline, Hu et al. 2020; docs/gnn.md#gin):
///
///     m_{u→v} = ReLU(h_u + e_{uv}),   z_v = (1 + ε) h_v + Σ_{u→v} m_{u→v},   h'_v = MLP(z_v)
///
/// with `e_{uv}` the bond embedding (`bondEncoder`, one per convolution) and a trainable scalar `ε` (init 0).
/// Shapes: `h`, `z` are `nodes × H`; `e` is `edges × H` (undirected, shared by both directions); messages
/// `2·edges × H`. The structure comes from `graph` (set by `GraphIsomorphismNetwork` before `forward`).
/// Backward: `∂z = MLPᵀ g`; `∂ε = Σ ∂z ⊙ h`; `∂h = (1 + ε) ∂z + scatter_src(∂m ⊙ [pre > 0])` with
/// `∂m = gather_dst(∂z)`; `∂e_k` = the sum of its two messages' `∂pre`.
/// Children: `"bondEncoder"`, `"mlp"`; parameter `"epsilon"` (1 × 1).
public final class GINConvolution<Scalar: NeuralScalar>: Module {
    public let bondEncoder: CategoricalEmbedding<Scalar>
    public let mlp: any Module<Scalar>
    public let epsilon: Parameter<Scalar>
    public let width: Int
    /// The batch's structure and edge categories (as `Scalar`), set before each `forward`.
    public var graph: (sources: [Int32], targets: [Int32], edgeCategories: Matrix<Scalar>, nodeContext: ForwardContext)?
    private var input = Matrix<Scalar>(rows: 0, columns: 0)
    private var preActivation = Matrix<Scalar>(rows: 0, columns: 0)

    public init(width: Int, bondCategories: [Int], mlp: any Module<Scalar>, rng: inout Xoshiro256StarStar) {
        precondition(mlp.outputFeatures(forInput: width) == width, "GINConvolution: the MLP must map \(width) features to \(width)")
        self.width = width
        self.mlp = mlp
        bondEncoder = CategoricalEmbedding(categories: bondCategories, dimension: width, rng: &rng)
        epsilon = Parameter(name: "epsilon", value: Matrix(rows: 1, columns: 1))
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] { [("epsilon", epsilon)] }
    public var children: [(name: String, module: any Module<Scalar>)] { [("bondEncoder", bondEncoder), ("mlp", mlp)] }
    public var summary: String { "GINConvolution(\(width), \(mlp.summary))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == width, "\(summary) got \(inputFeatures) features")
        return width
    }

    public func forward(_ h: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        guard let graph else { preconditionFailure("GINConvolution: no graph set before forward") }
        precondition(h.columns == width, "\(summary) got \(h.rows)×\(h.columns)")
        input = h
        let e = bondEncoder.forward(graph.edgeCategories, context: graph.nodeContext)
        let edges = e.rows, w = width
        var pre = GraphKernels.gatherRows(h, graph.sources)
        precondition(pre.rows == 2 * edges, "GINConvolution: \(pre.rows) messages for \(edges) edges")
        var messages = Matrix<Scalar>(rows: pre.rows, columns: w)
        pre.withUnsafeMutableBufferPointer { pp in
            messages.withUnsafeMutableBufferPointer { mp in
                e.withUnsafeBufferPointer { ep in
                    for j in 0..<(2 * edges) {
                        let src = ep.baseAddress! + (j % max(edges, 1)) * w, p = pp.baseAddress! + j * w, m = mp.baseAddress! + j * w
                        for c in 0..<w { p[c] += src[c]; m[c] = max(p[c], 0) }
                    }
                }
            }
        }
        preActivation = pre
        var z = h
        z.scale(by: 1 + epsilon.value[0, 0])
        GraphKernels.scatterAddRows(messages, graph.targets, into: &z)
        return mlp.forward(z, context: context)
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard let graph else { preconditionFailure("GINConvolution: no graph set before backward") }
        var inner = options
        inner.inputGradient = true
        let dz = mlp.backward(g, options: inner)
        let w = width, messages = preActivation.rows, edges = messages / 2
        if options.parameterGradients && epsilon.isTrainable {
            epsilon.gradient[0, 0] += dz.storage.withUnsafeBufferPointer { dp in
                input.storage.withUnsafeBufferPointer { Scalar.dot(Int32(dp.count), dp.baseAddress!, 1, $0.baseAddress!, 1) }
            }
        }
        // ∂pre = gather_dst(∂z) ⊙ [pre > 0]; ∂e_k = ∂pre_k + ∂pre_{edges + k}.
        var dpre = GraphKernels.gatherRows(dz, graph.targets)
        var de = Matrix<Scalar>(rows: edges, columns: w)
        dpre.withUnsafeMutableBufferPointer { dp in
            preActivation.withUnsafeBufferPointer { pp in
                de.withUnsafeMutableBufferPointer { ep in
                    for j in 0..<messages {
                        let d = dp.baseAddress! + j * w, p = pp.baseAddress! + j * w, e = ep.baseAddress! + (j % edges) * w
                        for c in 0..<w {
                            if p[c] <= 0 { d[c] = 0 }
                            e[c] += d[c]
                        }
                    }
                }
            }
        }
        _ = bondEncoder.backward(de, options: BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: false))
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        var dh = dz
        dh.scale(by: 1 + epsilon.value[0, 0])
        GraphKernels.scatterAddRows(dpre, graph.sources, into: &dh)
        return dh
    }
}
