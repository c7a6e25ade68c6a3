import Chemistry
import Linalg
import NeuralNet
import Testing

/// Featurised molecules as a data source: batches stack the graphs with node indices shifted per molecule.
struct MoleculeGraphsTests {
    @Test func batchesStackTheMoleculesGraphs() throws {
        let smiles = ["CCO", "c1ccccc1", "[Na+].[Cl-]", "CC(=O)N"]
        let data = MoleculeGraphs(name: "t", molecules: try smiles.map { try SMILES.parse($0) }, labels: [0, 1, 0, 1])
        let graph = data.graph([3, 1])
        #expect(graph.nodeOffsets == [0, 4, 10] && graph.edges == 3 + 6)
        #expect(graph.edgeFirst[3] == 4 && graph.edgeSecond[3] == 5) // benzene's first bond, shifted by acetamide's 4 atoms
        let batch = data.batch([3, 1])
        #expect(batch.labels == [1, 1] && batch.input.columns == MoleculeGraphs.encodedWidth)
        #expect(BatchedGraph(decoding: batch.input, graphs: 2, nodeFeatures: 9, edgeFeatures: 3) == graph)
        var rng = Xoshiro256StarStar(seed: 1)
        let gin = GraphIsomorphismNetwork<Float>(nodeCategories: MoleculeGraphs.nodeCategories, edgeCategories: MoleculeGraphs.edgeCategories,
                                                 width: 8, layers: 2, outputs: 1, rng: &rng)
        let y = gin.forward(data.batch(Array(0..<4)[...]).input, context: ForwardContext(isTraining: false, examples: 4))
        #expect(y.rows == 4 && y.columns == 1 && y.storage.allSatisfy { $0.isFinite })
        #expect(data.prefix(2).count == 2 && data.prefix(2).graph([1]).nodes == 6)
    }
}
