import Foundation
import NeuralNet
import Reporting
import Testing
import Training
import _TestSupport

/// `--model gnn`'s settings (`TrainingConfiguration.gnn`): the GIN's shape comes from them, the class weight
/// reaches the loss, and bad values are refused with the option's name.
@Suite struct GraphNetworkConfigurationTests {
    @Test func shapeComesFromTheConfiguration() throws {
        var c = moleculeConfiguration("gnn-shape")
        c.gnn.width = 16
        c.gnn.layers = 2
        c.gnn.readout = .sum
        let trainer = try Trainer(configuration: c, data: try moleculeData())
        let gin = try #require(trainer.model.layers.first as? GraphIsomorphismNetwork<Float>)
        #expect(gin.summary == "GIN(2 layers × 16, sum readout → 1)")
        #expect(gin.dropouts.isEmpty)
        #expect(c.description.contains("GIN with edge features, 2 layers × 16, sum readout"))
        c.gnn.dropout = 0.25
        let dropped = try #require(try Trainer(configuration: c, data: try moleculeData()).model.layers.first as? GraphIsomorphismNetwork<Float>)
        #expect(dropped.summary == "GIN(2 layers × 16, sum readout, dropout 0.25 → 1)")
        #expect(dropped.dropouts.map(\.probability) == [0.25, 0.25])
        #expect(c.description.contains("sum readout, dropout 0.25"))
    }

    /// A config.json written before the dropout setting existed decodes with no dropout; a new one round-trips.
    @Test func configurationsWithoutDropoutDecodeAsNoDropout() throws {
        let old = #"{"width": 64, "layers": 3, "readout": "mean", "positiveWeight": 1}"#
        let decoded = try JSONDecoder().decode(GraphNetworkConfiguration.self, from: Data(old.utf8))
        #expect(decoded == GraphNetworkConfiguration())
        var g = GraphNetworkConfiguration()
        g.dropout = 0.3
        g.readout = .sum
        #expect(try JSONDecoder().decode(GraphNetworkConfiguration.self, from: JSONEncoder().encode(g)) == g)
    }

    @Test(arguments: [1.0, -0.1, .nan])
    func refusesBadDropout(p: Double) {
        var c = moleculeConfiguration("gnn-bad-dropout")
        c.gnn.dropout = p
        #expect { try c.validate() } throws: { "\($0)".contains("--gnn-dropout") }
    }

    /// The first step's loss is `(Σ_negatives softplus(z) + c₁ Σ_positives softplus(−z)) / b` at the same initial
    /// weights and batch: linear in `c₁`, so `L(3) − L(1) = (L(5) − L(1)) / 2`; an ignored weight makes both zero.
    @Test func positiveWeightScalesTheLossOfActiveMolecules() throws {
        func firstStepLoss(_ weight: Float) throws -> Double {
            var c = moleculeConfiguration("gnn-weight-\(weight)")
            c.epochs = 1
            c.logEvery = 1
            let data = TrainingData.molecules(train: try moleculeFixture(count: 96, offset: 0, name: "fixture"),
                                              validation: try moleculeFixture(count: 30, offset: 500, name: "fixture validation"),
                                              test: try moleculeFixture(count: 30, offset: 900, name: "fixture test"),
                                              positiveWeight: weight)
            let trainer = try Trainer(configuration: c, data: data)
            _ = try trainer.run()
            let rows = CSVWriter.parse(try String(contentsOfFile: trainer.metricsPath, encoding: .utf8))
            #expect(rows[0][3].contains("loss"), "\(rows[0])")
            return try #require(Double(rows[1][3]))
        }
        let (l1, l3, l5) = (try firstStepLoss(1), try firstStepLoss(3), try firstStepLoss(5))
        #expect(l5 - l1 > 0.05, "the positives' share of the loss: \(l1), \(l5)")
        // Float losses of order 1: the identity holds to a few ulps of the sums.
        #expect(abs((l3 - l1) - (l5 - l1) / 2) < 1e-5 * l5, "\(l1), \(l3), \(l5)")
    }

    @Test(arguments: [("width", 0), ("width", 5000), ("layers", 0), ("layers", 33)])
    func refusesBadShapes(field: String, value: Int) {
        var c = moleculeConfiguration("gnn-bad")
        if field == "width" { c.gnn.width = value } else { c.gnn.layers = value }
        #expect { try c.validate() } throws: { "\($0)".contains("--gnn-\(field)") }
    }

    @Test(arguments: [0.0, -1, .nan, .infinity])
    func refusesBadPositiveWeights(weight: Double) {
        var c = moleculeConfiguration("gnn-bad-weight")
        c.gnn.positiveWeight = weight
        #expect { try c.validate() } throws: { "\($0)".contains("--positive-weight") }
    }
}
