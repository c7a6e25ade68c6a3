import ArgumentParser
import NeuralNet
import Training

extension GraphIsomorphismNetwork<Float>.Readout: ExpressibleByArgument {}

/// The `--gnn-*` options of `--model gnn` (train, bench train-step, experiment compare). Every option is optional:
/// one the user did not pass keeps `GraphNetworkConfiguration`'s default, shown in `--help`.
struct GraphNetworkOptions: ParsableArguments {
    private static let defaults = GraphNetworkConfiguration()

    @Option(name: .customLong("gnn-width"), help: "Node embedding width (default \(defaults.width)).")
    var width: Int?
    @Option(name: .customLong("gnn-layers"), help: "GIN layers (default \(defaults.layers)).")
    var layers: Int?
    @Option(name: .customLong("gnn-readout"), help: "Graph readout over the nodes: mean or sum (default \(defaults.readout.rawValue)).")
    var readout: GraphIsomorphismNetwork<Float>.Readout?
    @Option(name: .customLong("positive-weight"),
            help: "Loss weight c₁ of active molecules (1: unweighted as OGB; ≈ 27 balances the HIV classes) (default \(defaults.positiveWeight)).")
    var positiveWeight: Double?

    /// Whether any `--gnn-*` option was passed.
    var isUsed: Bool { width != nil || layers != nil || readout != nil || positiveWeight != nil }

    /// The configuration these options describe (the defaults for what was not passed).
    var configuration: GraphNetworkConfiguration {
        var g = GraphNetworkConfiguration()
        if let width { g.width = width }
        if let layers { g.layers = layers }
        if let readout { g.readout = readout }
        if let positiveWeight { g.positiveWeight = positiveWeight }
        return g
    }

    /// Refuses `--gnn-*` options with another model.
    func check(model: TrainingConfiguration.ModelKind) throws {
        if isUsed && model != .gnn {
            throw ValidationError("--gnn-* and --positive-weight apply to --model gnn only (got --model \(model.rawValue))")
        }
    }
}
