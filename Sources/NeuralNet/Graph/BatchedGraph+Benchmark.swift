import Linalg

extension BatchedGraph {
    /// A fixed molecule-like batch for step benchmarks, defined by formula so that another framework can
    /// build the same one (bench/pytorch_gnn_reference.py; docs/gnn.md#step-time): graph `g` has
    /// `n_g = 18 + g mod 16` nodes (25.5 on average, as ogbg-molhiv's molecules) joined in a chain
    /// `(v, v + 1)` plus ring closures `(v, v + 5)` for `v = 0, 6, 12, …` with `v + 5 < n_g` (28.4 bonds on
    /// average, molhiv: 27.5). Node `u` (index in the batch) has category `(u·(2j + 1) + j) mod f_j` in
    /// feature `j`; undirected edge `k` has `(k·(j + 1)) mod e_j`.
    public static func benchmark(graphs: Int, nodeCategories f: [Int], edgeCategories e: [Int]) -> BatchedGraph {
        var offsets = [0], first: [Int32] = [], second: [Int32] = []
        for g in 0..<graphs {
            let base = offsets[g], n = 18 + g % 16
            for v in 0..<(n - 1) { first.append(Int32(base + v)); second.append(Int32(base + v + 1)) }
            for v in stride(from: 0, to: n - 5, by: 6) { first.append(Int32(base + v)); second.append(Int32(base + v + 5)) }
            offsets.append(base + n)
        }
        var nodes = Matrix<Float>(rows: offsets[graphs], columns: f.count)
        for u in 0..<nodes.rows { for j in f.indices { nodes[u, j] = Float((u * (2 * j + 1) + j) % f[j]) } }
        var edges = Matrix<Float>(rows: first.count, columns: e.count)
        for k in 0..<edges.rows { for j in e.indices { edges[k, j] = Float((k * (j + 1)) % e[j]) } }
        return BatchedGraph(nodeOffsets: offsets, edgeFirst: first, edgeSecond: second, nodeCategories: nodes, edgeCategories: edges)
    }
}
