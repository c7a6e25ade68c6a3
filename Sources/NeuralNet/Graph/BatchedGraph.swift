import Linalg

/// Graphs of a batch stacked into one disjoint graph, and its encoding as the one input matrix a model
/// receives (the `Module` API passes a single matrix; docs/gnn.md#batched-graphs).
///
/// Structure: nodes of graph 0, then graph 1, …; `nodeOffsets[g] ..< nodeOffsets[g + 1]` are graph `g`'s
/// nodes; undirected edge `k` joins `edgeFirst[k]` and `edgeSecond[k]` (indices into the stacked nodes) and
/// is used as two directed messages. Features are integer categories (atom and bond types), `nodes × f`
/// and `edges × e`.
///
/// Encoding (`encoded()`, `init(decoding:graphs:nodeFeatures:edgeFeatures:)`): a `(nodes + edges) × W`
/// matrix, `W = 3 + max(f, e)`, node rows first: `[0, graph, 0, categories…]`, then edge rows
/// `[1, first, second, categories…]`. Whole numbers are exact in Float up to 2²⁴ (16.7 million nodes).
public struct BatchedGraph: Sendable, Equatable {
    public let graphs: Int
    public let nodeOffsets: [Int]
    public let edgeFirst: [Int32]
    public let edgeSecond: [Int32]
    public let nodeCategories: Matrix<Float>
    public let edgeCategories: Matrix<Float>

    /// A batch from its parts; traps on inconsistent shapes or indices (a data source's bug).
    public init(nodeOffsets: [Int], edgeFirst: [Int32], edgeSecond: [Int32], nodeCategories: Matrix<Float>, edgeCategories: Matrix<Float>) {
        let nodes = nodeOffsets.last ?? 0
        precondition(nodeOffsets.first == 0 && zip(nodeOffsets, nodeOffsets.dropFirst()).allSatisfy { $0 <= $1 },
                     "BatchedGraph: node offsets must start at 0 and not decrease")
        precondition(nodeCategories.rows == nodes && edgeFirst.count == edgeSecond.count && edgeCategories.rows == edgeFirst.count,
                     "BatchedGraph: \(nodeCategories.rows) node rows for \(nodes) nodes, \(edgeFirst.count)/\(edgeSecond.count) edges, \(edgeCategories.rows) edge rows")
        precondition((edgeFirst + edgeSecond).allSatisfy { $0 >= 0 && Int($0) < nodes }, "BatchedGraph: an edge names a node outside 0..<\(nodes)")
        self.graphs = nodeOffsets.count - 1
        self.nodeOffsets = nodeOffsets
        self.edgeFirst = edgeFirst
        self.edgeSecond = edgeSecond
        self.nodeCategories = nodeCategories
        self.edgeCategories = edgeCategories
    }

    public var nodes: Int { nodeCategories.rows }
    public var edges: Int { edgeFirst.count }

    /// Width of the encoded matrix for `f` node and `e` edge categories.
    public static func encodedWidth(nodeFeatures f: Int, edgeFeatures e: Int) -> Int { 3 + max(f, e) }

    /// The encoded input matrix (see the type's notes).
    public func encoded() -> Matrix<Float> {
        let (f, e) = (nodeCategories.columns, edgeCategories.columns)
        let w = Self.encodedWidth(nodeFeatures: f, edgeFeatures: e)
        var out = Matrix<Float>(rows: nodes + edges, columns: w)
        out.withUnsafeMutableBufferPointer { op in
            nodeCategories.withUnsafeBufferPointer { np in
                for g in 0..<graphs {
                    for v in nodeOffsets[g]..<nodeOffsets[g + 1] {
                        let row = op.baseAddress! + v * w
                        row[1] = Float(g)
                        (row + 3).update(from: np.baseAddress! + v * f, count: f)
                    }
                }
            }
            edgeCategories.withUnsafeBufferPointer { ep in
                for k in 0..<edges {
                    let row = op.baseAddress! + (nodes + k) * w
                    row[0] = 1
                    row[1] = Float(edgeFirst[k])
                    row[2] = Float(edgeSecond[k])
                    if e > 0 { (row + 3).update(from: ep.baseAddress! + k * e, count: e) }
                }
            }
        }
        return out
    }

    /// Decodes `encoded()`'s matrix of `graphs` graphs with `f` node and `e` edge categories.
    public init(decoding x: Matrix<Float>, graphs: Int, nodeFeatures f: Int, edgeFeatures e: Int) {
        let w = Self.encodedWidth(nodeFeatures: f, edgeFeatures: e)
        precondition(x.columns == w, "BatchedGraph: encoded width \(x.columns), expected \(w)")
        var offsets = [Int](repeating: 0, count: graphs + 1)
        var nodes = 0
        x.withUnsafeBufferPointer { xp in
            while nodes < x.rows && xp[nodes * w] == 0 {
                let g = Int(xp[nodes * w + 1])
                precondition(g >= 0 && g < graphs, "BatchedGraph: node \(nodes) in graph \(g) of \(graphs)")
                offsets[g + 1] += 1
                nodes += 1
            }
        }
        for g in 0..<graphs { offsets[g + 1] += offsets[g] }
        let edges = x.rows - nodes
        var nodeCats = Matrix<Float>(rows: nodes, columns: f), edgeCats = Matrix<Float>(rows: edges, columns: e)
        var first = [Int32](repeating: 0, count: edges), second = first
        x.withUnsafeBufferPointer { xp in
            nodeCats.withUnsafeMutableBufferPointer { np in
                for v in 0..<nodes { (np.baseAddress! + v * f).update(from: xp.baseAddress! + v * w + 3, count: f) }
            }
            edgeCats.withUnsafeMutableBufferPointer { ep in
                for k in 0..<edges {
                    let row = xp.baseAddress! + (nodes + k) * w
                    precondition(row[0] == 1, "BatchedGraph: row \(nodes + k) is a node row after the edge rows")
                    first[k] = Int32(row[1])
                    second[k] = Int32(row[2])
                    if e > 0 { (ep.baseAddress! + k * e).update(from: row + 3, count: e) }
                }
            }
        }
        self.init(nodeOffsets: offsets, edgeFirst: first, edgeSecond: second, nodeCategories: nodeCats, edgeCategories: edgeCats)
    }

    /// The directed message edges: sources and targets of `2·edges` messages, each undirected edge `k`
    /// giving `first → second` (message `k`) and `second → first` (message `edges + k`).
    public var messageSources: [Int32] { edgeFirst + edgeSecond }
    public var messageTargets: [Int32] { edgeSecond + edgeFirst }
}
