import Linalg

/// Rows grouped by an index per row, in CSR form (docs/gnn.md#kernels): group `g` holds the rows
/// `rows[offsets[g] ..< offsets[g + 1]]`, in increasing order (a stable counting sort). A sum over each group
/// therefore adds the same rows in the same order as a scatter-add over all rows (`GraphKernels.scatterAddRows`),
/// but every output row is written by one group only, so groups can be split over threads.
public struct RowGroups: Sendable, Equatable {
    public let offsets: [Int]
    public let rows: [Int32]

    /// Groups the rows `r` of `0..<indices.count` by `indices[r]` into `groups` groups; traps on an index outside
    /// `0..<groups` (a data source's bug).
    public init(_ indices: [Int32], groups: Int) {
        precondition(groups >= 0, "RowGroups: negative group count \(groups)")
        var offsets = [Int](repeating: 0, count: groups + 1)
        for i in indices {
            precondition(i >= 0 && Int(i) < groups, "RowGroups: index \(i) outside 0..<\(groups)")
            offsets[Int(i) + 1] += 1
        }
        for g in 0..<groups { offsets[g + 1] += offsets[g] }
        var next = offsets
        rows = [Int32](unsafeUninitializedCapacity: indices.count) { buffer, initialized in
            for (r, i) in indices.enumerated() {
                buffer[next[Int(i)]] = Int32(r)
                next[Int(i)] += 1
            }
            initialized = indices.count
        }
        self.offsets = offsets
    }

    public var groups: Int { offsets.count - 1 }
}

/// The directed messages of a batched graph (docs/gnn.md#batched-graphs): undirected edge `k` gives message `k`
/// (`edgeFirst[k] → edgeSecond[k]`) and message `edges + k` (the reverse), and the messages grouped by target
/// (for the forward sum into each node) and by source (for its adjoint). Built once per batch and shared by
/// every convolution layer.
public struct MessageRouting: Sendable, Equatable {
    public let nodes: Int
    /// Undirected edges; there are `2·edges` messages.
    public let edges: Int
    public let sources: [Int32]
    public let targets: [Int32]
    public let byTarget: RowGroups
    public let bySource: RowGroups

    public init(_ graph: BatchedGraph) {
        nodes = graph.nodes
        edges = graph.edges
        sources = graph.messageSources
        targets = graph.messageTargets
        byTarget = RowGroups(targets, groups: nodes)
        bySource = RowGroups(sources, groups: nodes)
    }

    /// The undirected edge that carries message `r`.
    @inline(__always)
    public func edge(ofMessage r: Int) -> Int { r < edges ? r : r - edges }
}
