import Linalg

/// A batch whose model input is one matrix (rows: examples, or examples × positions / nodes).
public protocol ModelInputBatch: DataBatch {
    /// What the model's first layer reads.
    var input: Matrix<Float> { get }
}

/// A batch with real-valued targets, `count × outputs` (regression: `MeanSquaredError`).
public protocol RegressionBatch: ModelInputBatch {
    var targets: Matrix<Float> { get }
}

extension ImageBatch: ModelInputBatch {
    /// The images, one per row.
    public var input: Matrix<Float> { images }
}

/// A batch of token sequences padded to one length `T`, for sequence classification (a ViT's patch
/// sequence has no tokens; text for LoRA fine-tuning does).
///
/// - `tokens`: `count × T`, token ids as whole numbers (what `Embedding` reads); padding positions hold
///   `paddingToken`.
/// - `mask`: `count × T`, 1 for a real token and 0 for padding (attention and pooling ignore padding).
/// - `labels`: one class per sequence.
public struct TokenBatch: LabeledBatch, ModelInputBatch {
    public var tokens: Matrix<Float>
    public var mask: Matrix<Float>
    public var labels: [Int]

    /// Checks that the shapes agree and the mask is 0/1.
    public init(tokens: Matrix<Float>, mask: Matrix<Float>, labels: [Int]) throws(DatasetError) {
        guard mask.rows == tokens.rows, mask.columns == tokens.columns, labels.count == tokens.rows else {
            throw .inconsistent(path: "TokenBatch", detail: "tokens \(tokens.rows)×\(tokens.columns), mask \(mask.rows)×\(mask.columns), "
                                + "\(labels.count) labels: they must have one row (and one label) per sequence")
        }
        guard mask.storage.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw .inconsistent(path: "TokenBatch", detail: "mask entries must be 0 (padding) or 1 (token)")
        }
        self.tokens = tokens
        self.mask = mask
        self.labels = labels
    }

    public var count: Int { labels.count }
    /// Sequence length `T` (padded).
    public var length: Int { tokens.columns }
    /// The token ids.
    public var input: Matrix<Float> { tokens }
}

/// Graphs of a batch stacked into one disjoint graph (the usual batching for message passing on molecules):
/// nodes of graph 0 first, then graph 1, …; edges index the stacked nodes.
///
/// - `nodeFeatures`: `nodes × f` (atom features); `edgeFeatures`: `edges × e` (bond features; `e` may be 0).
/// - `edgeSources`, `edgeTargets`: directed edge `k` sends a message from node `edgeSources[k]` to node
///   `edgeTargets[k]` (an undirected bond is two edges).
/// - `graphOfNode`: the graph of each node, non-decreasing in `0..<count` (the readout pools by it).
/// - `targets`: `count × tasks`; `targetMask`: 1 where the target is known (molecule benchmarks have
///   missing labels; a task's loss averages over known entries).
public struct GraphBatch: RegressionBatch {
    public var nodeFeatures: Matrix<Float>
    public var edgeFeatures: Matrix<Float>
    public var edgeSources: [Int]
    public var edgeTargets: [Int]
    public var graphOfNode: [Int]
    public var targets: Matrix<Float>
    public var targetMask: Matrix<Float>

    /// Checks every index and shape; the error names the field.
    public init(nodeFeatures: Matrix<Float>, edgeFeatures: Matrix<Float>, edgeSources: [Int], edgeTargets: [Int],
                graphOfNode: [Int], targets: Matrix<Float>, targetMask: Matrix<Float>) throws(DatasetError) {
        func fail(_ detail: String) -> DatasetError { .inconsistent(path: "GraphBatch", detail: detail) }
        let nodes = nodeFeatures.rows, graphs = targets.rows
        guard graphOfNode.count == nodes else { throw fail("graphOfNode has \(graphOfNode.count) entries for \(nodes) nodes") }
        guard edgeSources.count == edgeTargets.count, edgeFeatures.rows == edgeSources.count || edgeFeatures.columns == 0 else {
            throw fail("\(edgeSources.count) sources, \(edgeTargets.count) targets, \(edgeFeatures.rows) edge-feature rows")
        }
        if let bad = (edgeSources + edgeTargets).first(where: { $0 < 0 || $0 >= nodes }) {
            throw fail("edge endpoint \(bad) outside the \(nodes) nodes")
        }
        guard zip(graphOfNode, graphOfNode.dropFirst()).allSatisfy({ $0 <= $1 }),
              graphOfNode.allSatisfy({ $0 >= 0 && $0 < graphs }) else {
            throw fail("graphOfNode must be non-decreasing in 0..<\(graphs) (one target row per graph)")
        }
        guard targetMask.rows == graphs, targetMask.columns == targets.columns,
              targetMask.storage.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw fail("targetMask must be a 0/1 matrix of the targets' shape \(graphs)×\(targets.columns)")
        }
        self.nodeFeatures = nodeFeatures
        self.edgeFeatures = edgeFeatures
        self.edgeSources = edgeSources
        self.edgeTargets = edgeTargets
        self.graphOfNode = graphOfNode
        self.targets = targets
        self.targetMask = targetMask
    }

    /// Graphs in the batch.
    public var count: Int { targets.rows }
    /// The node features (message passing reads the edges beside them).
    public var input: Matrix<Float> { nodeFeatures }
}
