import ArgumentParser
import NeuralNet
import Training

extension GraphIsomorphismNetwork<Float>.Readout: ExpressibleByArgument {}

/// The `--gnn-*` options of `--model gnn` (train, bench train-step, experiment compare). Every option is optional:
/// one the user did not pass keeps `GraphNetworkConfiguration`'s default, shown in `--help`.
struct GraphNetworkOptions: ParsableArguments, ModelSpecificOptions {
    private static let defaults = GraphNetworkConfiguration()
    static let owner = TrainingConfiguration.ModelKind.gnn
    static let optionsName = "--gnn-* and --positive-weight"

    @Option(name: .customLong("gnn-width"), help: "Node embedding width (default \(defaults.width)).")
    var width: Int?
    @Option(name: .customLong("gnn-layers"), help: "GIN layers (default \(defaults.layers)).")
    var layers: Int?
    @Option(name: .customLong("gnn-readout"), help: "Graph readout over the nodes: mean or sum (default \(defaults.readout.rawValue)).")
    var readout: GraphIsomorphismNetwork<Float>.Readout?
    @Option(name: .customLong("gnn-dropout"),
            help: "Dropout on the node states after each GIN layer, training only (OGB: 0.5) (default \(defaults.dropout)).")
    var dropout: Double?
    @Option(name: .customLong("positive-weight"),
            help: "Loss weight c₁ of active molecules (1: unweighted as OGB; ≈ 27 balances the HIV classes) (default \(defaults.positiveWeight)).")
    var positiveWeight: Double?

    var overrides: [(inout GraphNetworkConfiguration) -> Void] {
        var o: [(inout GraphNetworkConfiguration) -> Void] = []
        if let width { o.append { $0.width = width } }
        if let layers { o.append { $0.layers = layers } }
        if let readout { o.append { $0.readout = readout } }
        if let dropout { o.append { $0.dropout = dropout } }
        if let positiveWeight { o.append { $0.positiveWeight = positiveWeight } }
        return o
    }
}

/// The shape options of the models that have them (`--vit-*`, `--gnn-*`), shared by every command that builds a
/// model (train, bench train-step, experiment compare and the other comparisons).
struct ModelShapeOptions: ParsableArguments {
    @OptionGroup(title: "Vision transformer (--model vit)")
    var vit: VisionTransformerOptions
    @OptionGroup(title: "Graph network (--model gnn)")
    var gnn: GraphNetworkOptions

    /// Writes the passed settings over the configurations' (defaults, or a resumed run's).
    func apply(vit v: inout VisionTransformerConfiguration, gnn g: inout GraphNetworkConfiguration) {
        vit.apply(to: &v)
        gnn.apply(to: &g)
    }

    /// Refuses shape options of a model other than `model`.
    func check(model: TrainingConfiguration.ModelKind) throws {
        try vit.check(model: model)
        try gnn.check(model: model)
    }
}
