import Chemistry
import Linalg
import NeuralNet

/// The settings of `--model gnn` (docs/gnn.md#gin), the one home of their defaults and checks: a GIN with edge
/// features on encoded molecule graphs — `layers` GIN layers of width `width` with LayerNorm, a `readout` over
/// each graph's nodes and one logit — and the class weight of the binary cross-entropy.
public struct GraphNetworkConfiguration: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Node embedding width (each GIN MLP is `width → 2·width → width`).
    public var width = 64
    /// GIN layers (message-passing steps).
    public var layers = 3
    /// Graph readout over the nodes: `mean` or `sum`.
    public var readout: GraphIsomorphismNetwork<Float>.Readout = .mean
    /// Dropout probability on the node states after each GIN layer (OGB's baseline: 0.5; 0: no dropout layers).
    /// Training mode only; the masks come from the run's seed (docs/gnn.md#gin).
    public var dropout = 0.0
    /// `c₁`, the weight of a positive example's loss (`BinaryCrossEntropy(positiveWeight:)`; 1 is OGB's
    /// unweighted loss, `N₀/N₁ ≈ 27` balances the HIV classes; docs/gnn.md#loss-and-imbalance).
    public var positiveWeight = 1.0

    public init() {}

    private enum CodingKeys: String, CodingKey { case width, layers, readout, dropout, positiveWeight }

    /// Decodes a saved configuration (a run folder's config.json); one written before `dropout` existed decodes
    /// with `dropout = 0`, the network it trained, so such runs still resume.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        width = try c.decode(Int.self, forKey: .width)
        layers = try c.decode(Int.self, forKey: .layers)
        readout = try c.decode(GraphIsomorphismNetwork<Float>.Readout.self, forKey: .readout)
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        positiveWeight = try c.decode(Double.self, forKey: .positiveWeight)
    }

    public func validate() throws(TrainingError) {
        func fail(_ message: String) -> TrainingError { .invalidConfiguration("gnn: " + message) }
        guard (1...4096).contains(width) else { throw fail("--gnn-width must be in 1...4096, got \(width)") }
        guard (1...32).contains(layers) else { throw fail("--gnn-layers must be in 1...32, got \(layers)") }
        guard (0..<1).contains(dropout) else { throw fail("--gnn-dropout must be in [0, 1), got \(dropout)") }
        guard positiveWeight > 0, positiveWeight <= 1e6 else {
            throw fail("--positive-weight must be in (0, 1e6], got \(positiveWeight)")
        }
    }

    public var description: String {
        "GIN with edge features, \(layers) layers × \(width), \(readout.rawValue) readout"
            + (dropout > 0 ? ", dropout \(dropout)" : "")
            + (positiveWeight != 1 ? ", positive weight \(positiveWeight)" : "")
    }
}

extension BuiltinModels {
    /// `--model gnn`: OGB's GIN baseline shape with `TrainingConfiguration.gnn` (default 3 layers × 64, mean readout,
    /// one logit for the binary cross-entropy). Input: `MoleculeGraphs` batches (encoded `BatchedGraph`s).
    static let gnn = ModelBuilder(name: "gnn", input: .moleculeGraphs, describe: { $0.gnn.description }) { r, rng in
        precondition(r.inputFeatures == MoleculeGraphs.encodedWidth, "the GNN reads encoded molecule graphs (\(MoleculeGraphs.encodedWidth) columns)")
        let g = r.configuration.gnn
        let gin = GraphIsomorphismNetwork<Float>(nodeCategories: MoleculeGraphs.nodeCategories, edgeCategories: MoleculeGraphs.edgeCategories,
                                                 width: g.width, layers: g.layers, outputs: 1, readout: g.readout,
                                                 dropout: g.dropout, dropoutSeed: r.configuration.seed, rng: &rng)
        return Sequential(inputFeatures: gin.inputFeatures, [gin])
    }
}
