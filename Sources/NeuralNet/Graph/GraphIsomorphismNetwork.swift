import Linalg

/// A graph-level predictor on batched graphs (docs/gnn.md#gin), the architecture of OGB's GIN baseline for
/// ogbg-molhiv with LayerNorm in place of BatchNorm:
///
///     h⁰ = AtomEncoder(x)
///     hˡ⁺¹ = Dropout_p(ReLU(LN(GINConvˡ(hˡ))))   (no ReLU after the last layer; no dropout layer if p = 0)
///     y_g = Linear(readout_{v ∈ g} hᴸ_v)  (mean or sum over the nodes of graph g)
///
/// Input: a `BatchedGraph` encoded as one matrix (`BatchedGraph.encoded()`); `context.examples` is the
/// number of graphs. Output: `graphs × outputs` (logits). Every per-node module gets a context whose
/// `rowOffsets` are the graphs' node ranges (K-FAC's expand/reduce over nodes). The GIN MLP of each layer is
/// `Linear(H → 2H) → LayerNorm → ReLU → Linear(2H → H)`.
/// Dropout (OGB's `drop_ratio`, inverted, training mode only) acts on every node state after each layer, as OGB's
/// baseline; layer `l`'s mask stream is `dropoutStream + l` of `dropoutSeed`.
/// Children: `"atomEncoder"`, `"convolutions.<l>"`, `"norms.<l>"`, `"activations.<l>"`, `"dropouts.<l>"` (only
/// with `dropout > 0`), `"head"`.
public final class GraphIsomorphismNetwork<Scalar: NeuralScalar>: Module {
    public enum Readout: String, Sendable, Codable, CaseIterable { case mean, sum }

    public let nodeCategories: [Int]
    public let edgeCategories: [Int]
    public let width: Int
    public let readout: Readout
    public let atomEncoder: CategoricalEmbedding<Scalar>
    public let convolutions: [GINConvolution<Scalar>]
    public let norms: [LayerNorm<Scalar>]
    public let activations: [ReLU<Scalar>]
    /// One per layer when the dropout probability is positive, else empty.
    public let dropouts: [Dropout<Scalar>]
    public let head: Linear<Scalar>
    private var offsets: [Int] = []
    private var nodeScale: [Scalar] = []
    private var inputRows = 0

    public init(nodeCategories: [Int], edgeCategories: [Int], width: Int, layers: Int, outputs: Int,
                readout: Readout = .mean, dropout: Double = 0, dropoutSeed: UInt64 = 0, dropoutStream: UInt64 = 300,
                rng: inout Xoshiro256StarStar) {
        precondition(layers >= 1 && width >= 1 && outputs >= 1, "GraphIsomorphismNetwork needs positive layers, width and outputs")
        self.nodeCategories = nodeCategories
        self.edgeCategories = edgeCategories
        self.width = width
        self.readout = readout
        atomEncoder = CategoricalEmbedding(categories: nodeCategories, dimension: width, rng: &rng)
        var convs: [GINConvolution<Scalar>] = []
        for _ in 0..<layers {
            let mlp = Sequential<Scalar>(inputFeatures: width, [
                Linear<Scalar>(width, 2 * width, rng: &rng), LayerNorm<Scalar>(2 * width), ReLU<Scalar>(),
                Linear<Scalar>(2 * width, width, rng: &rng),
            ])
            convs.append(GINConvolution(width: width, bondCategories: edgeCategories, mlp: mlp, rng: &rng))
        }
        convolutions = convs
        norms = (0..<layers).map { _ in LayerNorm<Scalar>(width) }
        activations = (0..<(layers - 1)).map { _ in ReLU<Scalar>() }
        dropouts = dropout > 0
            ? (0..<layers).map { Dropout<Scalar>(probability: dropout, seed: dropoutSeed, stream: dropoutStream + UInt64($0)) } : []
        head = Linear<Scalar>(width, outputs, rng: &rng)
        assignParameterPaths()
    }

    /// Columns of the encoded input.
    public var inputFeatures: Int { BatchedGraph.encodedWidth(nodeFeatures: nodeCategories.count, edgeFeatures: edgeCategories.count) }

    public var children: [(name: String, module: any Module<Scalar>)] {
        [("atomEncoder", atomEncoder)]
            + convolutions.enumerated().map { ("convolutions.\($0)", $1) }
            + norms.enumerated().map { ("norms.\($0)", $1) }
            + activations.enumerated().map { ("activations.\($0)", $1) }
            + dropouts.enumerated().map { ("dropouts.\($0)", $1) }
            + [("head", head)]
    }
    public var summary: String {
        "GIN(\(convolutions.count) layers × \(width), \(readout) readout"
            + (dropouts.first.map { ", dropout \($0.probability)" } ?? "") + " → \(head.outFeatures))"
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == self.inputFeatures, "\(summary) expects encoded graphs \(self.inputFeatures) wide, got \(inputFeatures)")
        return head.outFeatures
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        inputRows = x.rows
        let floats = Matrix<Float>(rows: x.rows, columns: x.columns, storage: x.storage.map { Float($0) })
        let graph = BatchedGraph(decoding: floats, graphs: context.examples,
                                 nodeFeatures: nodeCategories.count, edgeFeatures: edgeCategories.count)
        offsets = graph.nodeOffsets
        let nodeContext = ForwardContext(isTraining: context.isTraining, examples: context.examples, rowOffsets: offsets)
        let toScalar = { (m: Matrix<Float>) in Matrix<Scalar>(rows: m.rows, columns: m.columns, storage: m.storage.map { Scalar($0) }) }
        let nodeCats = toScalar(graph.nodeCategories), edgeCats = toScalar(graph.edgeCategories)
        let routing = MessageRouting(graph)
        var h = atomEncoder.forward(nodeCats, context: nodeContext)
        for l in convolutions.indices {
            convolutions[l].graph = (routing, edgeCats, nodeContext)
            h = convolutions[l].forward(h, context: nodeContext)
            h = norms[l].forward(h, context: nodeContext)
            if l < activations.count { h = activations[l].forward(h, context: nodeContext) }
            if l < dropouts.count { h = dropouts[l].forward(h, context: nodeContext) }
        }
        nodeScale = (0..<graph.graphs).map { g in
            let n = offsets[g + 1] - offsets[g]
            return readout == .sum ? 1 : (n > 0 ? 1 / Scalar(n) : 0)
        }
        let pooled = GraphKernels.segmentSum(h, offsets: offsets, scale: nodeScale)
        return head.forward(pooled, context: ForwardContext(isTraining: context.isTraining, examples: context.examples))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        var inner = options
        inner.inputGradient = true
        let dPooled = head.backward(g, options: inner)
        var dh = GraphKernels.segmentBroadcast(dPooled, offsets: offsets, scale: nodeScale)
        for l in convolutions.indices.reversed() {
            if l < dropouts.count { dh = dropouts[l].backward(dh, options: inner) }
            if l < activations.count { dh = activations[l].backward(dh, options: inner) }
            dh = norms[l].backward(dh, options: inner)
            dh = convolutions[l].backward(dh, options: inner)
        }
        _ = atomEncoder.backward(dh, options: BackwardOptions(parameterGradients: options.parameterGradients, inputGradient: false))
        // The encoded input (category indices and structure) has no gradient.
        return options.inputGradient ? Matrix(rows: inputRows, columns: inputFeatures) : Matrix(rows: 0, columns: 0)
    }
}
