import Linalg
@testable import NeuralNet
import Testing

/// The fused GIN message kernels and the row grouping against plain loops over `GraphKernels`' gather and
/// scatter-add, to the bit and for every thread count (docs/gnn.md#kernels); LayerNorm's lane sums against a plain sum.
struct GINKernelTests {
    /// A random disjoint graph of `nodes` nodes and `edges` edges with normal node states and edge embeddings `w` wide.
    static func randomCase(nodes: Int, edges: Int, width w: Int, seed: UInt64) -> (MessageRouting, Matrix<Float>, Matrix<Float>, Matrix<Float>) {
        var rng = Xoshiro256StarStar(seed: seed)
        let first = (0..<edges).map { _ in Int32(rng.nextInt(below: nodes)) }, second = (0..<edges).map { _ in Int32(rng.nextInt(below: nodes)) }
        let graph = BatchedGraph(nodeOffsets: [0, nodes], edgeFirst: first, edgeSecond: second,
                                 nodeCategories: Matrix(rows: nodes, columns: 1), edgeCategories: Matrix(rows: edges, columns: 1))
        let h: Matrix<Float> = rng.normalMatrix(rows: nodes, columns: w), e: Matrix<Float> = rng.normalMatrix(rows: edges, columns: w)
        let dz: Matrix<Float> = rng.normalMatrix(rows: nodes, columns: w)
        return (MessageRouting(graph), h, e, dz)
    }

    @Test func rowGroupsAreAStableSortByIndex() {
        let indices: [Int32] = [3, 0, 3, 1, 0, 3, 4]
        let groups = RowGroups(indices, groups: 6)
        #expect(groups.offsets == [0, 2, 3, 3, 6, 7, 7])
        #expect(groups.rows == [1, 4, 3, 0, 2, 5, 6])
        var rng = Xoshiro256StarStar(seed: 4)
        let many = (0..<1000).map { _ in Int32(rng.nextInt(below: 37)) }
        let big = RowGroups(many, groups: 37)
        for g in 0..<37 {
            #expect(Array(big.rows[big.offsets[g]..<big.offsets[g + 1]]) == many.indices.filter { many[$0] == g }.map { Int32($0) })
        }
    }

    /// Large enough that `ParallelLoop` splits the loops (2000 nodes × 16 features).
    @Test(arguments: [1, 2, 3]) func fusedKernelsMatchGatherAndScatterLoops(threads: Int) {
        for (nodes, edges) in [(2000, 2600), (7, 0), (1, 1)] {
            let (routing, h, e, dz) = Self.randomCase(nodes: nodes, edges: edges, width: 16, seed: UInt64(nodes))
            let a: Float = 1.25
            // Forward: pre = h[src] + e[edge], m = ReLU(pre), z = a h + scatter_dst(m).
            var pre = GraphKernels.gatherRows(h, routing.sources)
            for r in 0..<pre.rows { for c in 0..<16 { pre[r, c] += e[routing.edge(ofMessage: r), c] } }
            let messages = Matrix(rows: pre.rows, columns: 16, storage: pre.storage.map { max($0, 0) })
            var z = Matrix(rows: nodes, columns: 16, storage: h.storage.map { a * $0 })
            GraphKernels.scatterAddRows(messages, routing.targets, into: &z)
            #expect(GINKernels.aggregate(h, edges: e, routing: routing, scale: a, threads: threads) == z)
            // Backward: ∂pre = gather_dst(∂z) ⊙ [pre > 0], ∂e_k = ∂pre_k + ∂pre_{E+k}, ∂h = a ∂z + scatter_src(∂pre).
            let gathered = GraphKernels.gatherRows(dz, routing.targets)
            let dpre = Matrix(rows: pre.rows, columns: 16, storage: zip(gathered.storage, pre.storage).map { $1 <= 0 ? 0 : $0 })
            var de = Matrix<Float>(rows: edges, columns: 16)
            for k in 0..<edges { for c in 0..<16 { de[k, c] = dpre[k, c] + dpre[edges + k, c] } }
            let gradients = GINKernels.messageGradients(dz, input: h, edges: e, routing: routing, threads: threads)
            #expect(gradients.messages == dpre && gradients.edges == de)
            var dh = Matrix(rows: nodes, columns: 16, storage: dz.storage.map { a * $0 })
            GraphKernels.scatterAddRows(dpre, routing.sources, into: &dh)
            #expect(GINKernels.addGroupedRows(dpre, groups: routing.bySource, to: dz, scale: a, threads: threads) == dh)
        }
    }

    @Test func laneSumMatchesAPlainSum() {
        var rng = Xoshiro256StarStar(seed: 9)
        for count in 0..<40 {
            let x: [Double] = (0..<count).map { _ in rng.nextUniform() - 0.5 }
            let plain = x.reduce(0, +), lanes = laneSum(count) { x[$0] }
            #expect(abs(lanes - plain) <= 1e-15 * Double(max(count, 1)), "count \(count)")
        }
    }

    /// LayerNorm against its formula written out, for widths that leave every remainder of the eight lanes.
    @Test(arguments: [1, 5, 8, 13, 64]) func layerNormMatchesItsFormula(features f: Int) {
        var rng = Xoshiro256StarStar(seed: UInt64(f))
        let norm = LayerNorm<Double>(f)
        norm.weight.value = rng.normalMatrix(rows: 1, columns: f)
        norm.bias.value = rng.normalMatrix(rows: 1, columns: f)
        let x: Matrix<Double> = rng.normalMatrix(rows: 6, columns: f), g: Matrix<Double> = rng.normalMatrix(rows: 6, columns: f)
        let y = norm.forward(x, context: ForwardContext(isTraining: true, examples: 6))
        norm.zeroGradients()
        let dx = norm.backward(g, options: .full)
        for i in 0..<6 {
            let row = x.row(i), mean = row.reduce(0, +) / Double(f)
            let s = 1 / (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(f) + 1e-5).squareRoot()
            let xhat = row.map { ($0 - mean) * s }
            let d = (0..<f).map { g[i, $0] * norm.weight.value[0, $0] }
            let meanD = d.reduce(0, +) / Double(f), meanDH = zip(d, xhat).map(*).reduce(0, +) / Double(f)
            for j in 0..<f {
                #expect(abs(y[i, j] - (norm.weight.value[0, j] * xhat[j] + norm.bias.value[0, j])) < 1e-12)
                #expect(abs(dx[i, j] - (d[j] - meanD - xhat[j] * meanDH) * s) < 1e-10)
            }
        }
    }
}
