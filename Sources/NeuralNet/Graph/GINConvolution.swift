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
/// `∂m = gather_dst(∂z)`, `pre = h_u + e_{uv}`; `∂e_k` = the sum of its two messages' `∂pre`.
/// The message sum is fused (docs/gnn.md#kernels): each node adds `ReLU(h_u + e_{uv})` of its incoming messages
/// in message order (`MessageRouting.byTarget`), so no message matrix is stored; the backward pass recomputes
/// `pre` and sums each node's outgoing `∂pre` the same way (`bySource`); `GINKernels` holds these loops.
/// Children: `"bondEncoder"`, `"mlp"`; parameter `"epsilon"` (1 × 1).
public final class GINConvolution<Scalar: NeuralScalar>: Module {
    public let bondEncoder: CategoricalEmbedding<Scalar>
    public let mlp: any Module<Scalar>
    public let epsilon: Parameter<Scalar>
    public let width: Int
    /// The batch's structure and edge categories (as `Scalar`), set before each `forward`.
    public var graph: (routing: MessageRouting, edgeCategories: Matrix<Scalar>, nodeContext: ForwardContext)?
    private var input = Matrix<Scalar>(rows: 0, columns: 0)
    private var edgeEmbedding = Matrix<Scalar>(rows: 0, columns: 0)

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

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ h: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        guard let graph else { preconditionFailure("GINConvolution: no graph set before forward") }
        let routing = graph.routing, w = width
        precondition(h.columns == w && h.rows == routing.nodes, "\(summary) got \(h.rows)×\(h.columns) for \(routing.nodes) nodes")
        input = h
        let e = bondEncoder.forward(graph.edgeCategories, context: graph.nodeContext)
        precondition(e.rows == routing.edges, "GINConvolution: \(e.rows) edge rows for \(routing.edges) edges")
        edgeEmbedding = e
        let z = GINKernels.aggregate(h, edges: e, routing: routing, scale: 1 + epsilon.value[0, 0])
        return mlp.forward(z, context: context)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard let graph else { preconditionFailure("GINConvolution: no graph set before backward") }
        var inner = options
        inner.inputGradient = true
        let dz = mlp.backward(g, options: inner)
        let routing = graph.routing, w = width, nodes = routing.nodes
        precondition(dz.rows == nodes && dz.columns == w, "\(summary) backward got \(dz.rows)×\(dz.columns)")
        if options.parameterGradients && epsilon.isTrainable && nodes > 0 {
            epsilon.gradient[0, 0] += dz.storage.withUnsafeBufferPointer { dp in
                input.storage.withUnsafeBufferPointer { Scalar.dot(Int32(dp.count), dp.baseAddress!, 1, $0.baseAddress!, 1) }
            }
        }
        let (dpre, de) = GINKernels.messageGradients(dz, input: input, edges: edgeEmbedding, routing: routing)
        _ = bondEncoder.backward(de, options: BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: false))
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return GINKernels.addGroupedRows(dpre, groups: routing.bySource, to: dz, scale: 1 + epsilon.value[0, 0])
    }
}
