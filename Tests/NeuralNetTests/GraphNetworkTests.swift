import Linalg
@testable import NeuralNet
import Testing
import _TestSupport

/// Gather/scatter and segment kernels against plain loops; gradients of the graph layers by finite differences.
struct GraphNetworkTests {
    func randomMatrix(_ r: Int, _ c: Int, seed: UInt64) -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        return rng.normalMatrix(rows: r, columns: c)
    }

    @Test func kernelsMatchLoops() {
        let x = randomMatrix(7, 3, seed: 1)
        let idx: [Int32] = [6, 0, 0, 3, 5, 2, 6, 1, 4]
        let gathered = GraphKernels.gatherRows(x, idx)
        for (r, i) in idx.enumerated() { for j in 0..<3 { #expect(gathered[r, j] == x[Int(i), j]) } }
        var out = Matrix<Double>(rows: 7, columns: 3)
        GraphKernels.scatterAddRows(gathered, idx, into: &out)
        var loop = Matrix<Double>(rows: 7, columns: 3)
        for (r, i) in idx.enumerated() { for j in 0..<3 { loop[Int(i), j] += gathered[r, j] } }
        #expect(out == loop)
        let offsets = [0, 2, 2, 7], scale: [Double] = [0.5, 1, 0.2]
        let sums = GraphKernels.segmentSum(x, offsets: offsets, scale: scale)
        for s in 0..<3 { for j in 0..<3 {
            var t = 0.0
            for r in offsets[s]..<offsets[s + 1] { t += x[r, j] }
            #expect(abs(sums[s, j] - scale[s] * t) < 1e-14)
        } }
        let g = randomMatrix(3, 3, seed: 2)
        let spread = GraphKernels.segmentBroadcast(g, offsets: offsets, scale: scale)
        for s in 0..<3 { for r in offsets[s]..<offsets[s + 1] { for j in 0..<3 { #expect(spread[r, j] == scale[s] * g[s, j]) } } }
    }

    @Test func encodingRoundTrips() {
        let graph = BatchedGraph(nodeOffsets: [0, 3, 5], edgeFirst: [0, 1, 3], edgeSecond: [1, 2, 4],
                                 nodeCategories: Matrix(rows: 5, columns: 2, storage: [1, 0, 2, 1, 0, 1, 3, 0, 1, 1]),
                                 edgeCategories: Matrix(rows: 3, columns: 1, storage: [0, 1, 2]))
        #expect(BatchedGraph(decoding: graph.encoded(), graphs: 2, nodeFeatures: 2, edgeFeatures: 1) == graph)
    }

    /// Two small molecules-like graphs: a triangle with a tail and a pair.
    static let graph = BatchedGraph(nodeOffsets: [0, 4, 6], edgeFirst: [0, 1, 2, 2, 4], edgeSecond: [1, 2, 0, 3, 5],
                                    nodeCategories: Matrix(rows: 6, columns: 2, storage: [1, 0, 2, 1, 0, 1, 3, 0, 1, 1, 2, 2]),
                                    edgeCategories: Matrix(rows: 5, columns: 1, storage: [0, 1, 2, 0, 1]))

    func encodedGraph(for model: GraphIsomorphismNetwork<Double>) -> Matrix<Double> {
        Matrix(rows: 11, columns: model.inputFeatures, storage: Self.graph.encoded().storage.map(Double.init))
    }

    /// `L = Σ w ⊙ f(x)` for a fixed random `w`: its gradient in every parameter by backward and by central
    /// differences (Double, h = 1e-6: agreement to 1e-6 relative is strict; see `centralDifferenceGradient`).
    /// Dropout masks are held fixed: every forward restarts the layers' generators from the same state.
    func checkGradients(_ model: GraphIsomorphismNetwork<Double>, readout: String) {
        let x = encodedGraph(for: model)
        let context = ForwardContext(isTraining: true, examples: 2)
        let w = randomMatrix(2, 2, seed: 5)
        let generators = model.dropouts.map(\.generator)
        func loss() -> Double {
            for (d, g) in zip(model.dropouts, generators) { d.generator = g }
            let y = model.forward(x, context: context)
            return zip(y.storage, w.storage).reduce(0) { $0 + $1.0 * $1.1 }
        }
        _ = loss()
        model.zeroGradients()
        _ = model.backward(w, options: .full)
        for (path, p) in model.parametersWithPaths() {
            let numeric = centralDifferenceGradient(count: p.count, perturb: { i, d in p.value.withUnsafeMutableBufferPointer { $0[i] += d } }, value: { loss() })
            let scale = max(1.0, numeric.map { abs($0) }.max() ?? 0)
            let worst = zip(numeric, p.gradient.storage).map { abs($0 - $1) }.max() ?? 0.0
            #expect(worst / scale < 1e-6, "\(readout) \(path): backward differs from finite differences by \(worst)")
        }
    }

    @Test(arguments: [GraphIsomorphismNetwork<Double>.Readout.mean, .sum]) func ginGradientsMatchFiniteDifferences(_ readout: GraphIsomorphismNetwork<Double>.Readout) {
        var rng = Xoshiro256StarStar(seed: 3)
        let model = GraphIsomorphismNetwork<Double>(nodeCategories: [4, 3], edgeCategories: [3], width: 4, layers: 2,
                                                    outputs: 2, readout: readout, rng: &rng)
        // A non-zero ε so that the (1 + ε) path is exercised.
        for c in model.convolutions { c.epsilon.value[0, 0] = 0.3 }
        checkGradients(model, readout: readout.rawValue)
    }

    /// Dropout after each layer acts in training only: building the dropout layers draws nothing from the weights'
    /// generator, so in evaluation the network equals the one without dropout to the bit; a training forward
    /// differs (half the node features zeroed, the rest doubled); with its masks fixed, backward matches finite
    /// differences.
    @Test func dropoutActsInTrainingOnly() {
        var rngPlain = Xoshiro256StarStar(seed: 3), rngDropped = Xoshiro256StarStar(seed: 3)
        let plain = GraphIsomorphismNetwork<Double>(nodeCategories: [4, 3], edgeCategories: [3], width: 4, layers: 2,
                                                    outputs: 2, rng: &rngPlain)
        let dropped = GraphIsomorphismNetwork<Double>(nodeCategories: [4, 3], edgeCategories: [3], width: 4, layers: 2,
                                                      outputs: 2, dropout: 0.5, dropoutSeed: 7, rng: &rngDropped)
        #expect(dropped.dropouts.count == 2 && plain.dropouts.isEmpty)
        let x = encodedGraph(for: plain)
        let evaluation = ForwardContext(isTraining: false, examples: 2), training = ForwardContext(isTraining: true, examples: 2)
        #expect(plain.forward(x, context: evaluation) == dropped.forward(x, context: evaluation))
        #expect(plain.forward(x, context: training) != dropped.forward(x, context: training))
        for c in dropped.convolutions { c.epsilon.value[0, 0] = 0.3 }
        checkGradients(dropped, readout: "dropout 0.5")
    }

    @Test func binaryCrossEntropyGradientMatchesFiniteDifferences() {
        let loss = BinaryCrossEntropy<Double>(positiveWeight: 3)
        var z = Matrix<Double>(rows: 4, columns: 1, storage: [-2, 0.5, 30, -0.1])
        let labels = [1, 0, 1, 1]
        _ = loss.forward(z, targets: labels)
        let g = loss.gradient(targets: labels)
        let numeric = centralDifferenceGradient(count: 4, perturb: { i, d in z.withUnsafeMutableBufferPointer { $0[i] += d } }, value: { loss.forward(z, targets: labels) })
        for i in 0..<4 { #expect(abs(numeric[i] - g.storage[i]) < 1e-8) }
        // Large logits stay finite: softplus(±40) without overflow.
        #expect(loss.forward(Matrix(rows: 2, columns: 1, storage: [-40, 40]), targets: [1, 0]).isFinite)
    }
}
