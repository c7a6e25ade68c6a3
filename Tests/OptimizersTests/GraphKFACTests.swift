import Curvature
import Linalg
import NeuralNet
import Optimizers
import Testing

/// K-FAC on layers shared over the nodes of graphs of different sizes (`KroneckerCapture.rowOffsets`).
struct GraphKFACTests {
    @Test func expandAndReduceFactorsWithPerGraphRowCounts() {
        var rng = Xoshiro256StarStar(seed: 4)
        let a: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 2), g: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 3)
        let offsets = [0, 2, 5]
        let capture = KroneckerCapture(activations: a, outputGradients: g, examples: 2, hasBias: true, rowOffsets: offsets)
        let abar = capture.augmentedActivations()
        // Expand: every node an example, A = āᵀā / 5, G = b gᵀg.
        let expandA = KroneckerFactorComputation.activationFactor(capture, approximation: .expand)
        let expandG = KroneckerFactorComputation.gradientFactor(g, examples: 2, approximation: .expand, rowOffsets: offsets)
        // Reduce: per graph the mean of ā and the sum of g, A = (1/b) Σ â âᵀ, G = b Σ ĝ ĝᵀ.
        let reduceA = KroneckerFactorComputation.activationFactor(capture, approximation: .reduce)
        let reduceG = KroneckerFactorComputation.gradientFactor(g, examples: 2, approximation: .reduce, rowOffsets: offsets)
        for i in 0..<3 { for j in 0..<3 {
            var e = 0.0, r = 0.0
            for n in 0..<5 { e += abar[n, i] * abar[n, j] }
            for s in 0..<2 {
                let rows = offsets[s]..<offsets[s + 1]
                let mi = rows.reduce(0.0) { $0 + abar[$1, i] } / Double(rows.count), mj = rows.reduce(0.0) { $0 + abar[$1, j] } / Double(rows.count)
                r += mi * mj
            }
            #expect(abs(expandA[i, j] - e / 5) < 1e-12 && abs(reduceA[i, j] - r / 2) < 1e-12)
            var eg = 0.0, rg = 0.0
            for n in 0..<5 { eg += g[n, i] * g[n, j] }
            for s in 0..<2 {
                let rows = offsets[s]..<offsets[s + 1]
                rg += rows.reduce(0.0) { $0 + g[$1, i] } * rows.reduce(0.0) { $0 + g[$1, j] }
            }
            #expect(abs(expandG[i, j] - 2 * eg) < 1e-12 && abs(reduceG[i, j] - 2 * rg) < 1e-12)
        } }
    }

    /// K-FAC (both approximations) preconditions every Linear of a GIN, node-shared ones included, and the
    /// loss on a fixed batch of two graphs goes down.
    @Test(arguments: [WeightSharingApproximation.expand, .reduce]) func kfacTrainsAGraphNetwork(_ approximation: WeightSharingApproximation) throws {
        var rng = Xoshiro256StarStar(seed: 7)
        let gin = GraphIsomorphismNetwork<Double>(nodeCategories: [4, 3], edgeCategories: [3], width: 8, layers: 2, outputs: 1, rng: &rng)
        let model = Sequential<Double>(inputFeatures: gin.inputFeatures, [gin])
        let graph = BatchedGraph(nodeOffsets: [0, 4, 6, 9], edgeFirst: [0, 1, 2, 2, 4, 6, 7], edgeSecond: [1, 2, 0, 3, 5, 7, 8],
                                 nodeCategories: Matrix(rows: 9, columns: 2, storage: [1, 0, 2, 1, 0, 1, 3, 0, 1, 1, 2, 2, 0, 0, 1, 2, 3, 1]),
                                 edgeCategories: Matrix(rows: 7, columns: 1, storage: [0, 1, 2, 0, 1, 2, 2]))
        let x = Matrix<Double>(rows: 16, columns: gin.inputFeatures, storage: graph.encoded().storage.map(Double.init))
        let labels = [1, 0, 1]
        var configuration = KFACConfiguration()
        configuration.approximation = approximation
        configuration.damping = 0.1
        let kfac = try KFAC(model: model, inner: try SGD<Double>(schedule: try LearningRateSchedule(baseRate: 0.1)), configuration: configuration)
        #expect(kfac.blocks.count == 2 * 2 + 1)
        let loss = BinaryCrossEntropy<Double>()
        let context = ForwardContext(isTraining: true, examples: 3)
        var first = 0.0, last = 0.0
        for step in 0..<15 {
            let value = loss.forward(model.forward(x, context: context), targets: labels)
            model.zeroGradients()
            model.backward(loss.gradient(targets: labels))
            kfac.observeCurvature(CurvatureBatch(model: model, input: x, lossValue: value, curvature: loss.outputCurvature()) {
                loss.forward(model.forward(x, context: context), targets: labels)
            })
            #expect(kfac.update(model.trainableParameters) == .applied)
            if step == 0 { first = value }
            last = value
        }
        #expect(kfac.factors.count == 5 && kfac.unpreconditionedLayerSteps == 0)
        #expect(last < 0.5 * first)
    }
}
