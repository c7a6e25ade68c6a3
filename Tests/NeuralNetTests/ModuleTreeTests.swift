import Linalg
import NeuralNet
import Testing
import _TestSupport

/// The module tree: recursive names, containers, accumulated gradients of shared weights, freezing.
@Suite struct ModuleTreeTests {
    /// A pre-norm residual block `x + W₂ GELU(W₁ LN(x))` followed by a two-branch projection.
    static func nestedModel(_ rng: inout Xoshiro256StarStar) -> Sequential<Double> {
        let block = Residual<Double>(Sequential(inputFeatures: 4, [
            LayerNorm(4), Linear(4, 6, rng: &rng), GELU(), Linear(6, 4, rng: &rng),
        ]))
        let heads = Branches<Double>([Linear(4, 2, rng: &rng), Sequential(inputFeatures: 4, [Tanh(), Linear(4, 3, rng: &rng)])],
                                     merge: .concatenate)
        return Sequential(inputFeatures: 4, [Linear(4, 4, rng: &rng), block, heads])
    }

    @Test("nested containers name parameters by full path, in declaration order")
    func nestedNames() {
        var rng = Xoshiro256StarStar(seed: 1)
        let model = Self.nestedModel(&rng)
        #expect(model.namedParameters.map(\.name) == [
            "layers.0.weight", "layers.0.bias",
            "layers.1.body.layers.0.weight", "layers.1.body.layers.0.bias",
            "layers.1.body.layers.1.weight", "layers.1.body.layers.1.bias",
            "layers.1.body.layers.3.weight", "layers.1.body.layers.3.bias",
            "layers.2.branches.0.weight", "layers.2.branches.0.bias",
            "layers.2.branches.1.layers.1.weight", "layers.2.branches.1.layers.1.bias",
        ])
        #expect(model.namedModules().map(\.path).contains("layers.1.body.layers.2"))
        #expect(model.leafModules().count == 8)
        #expect(model.kroneckerFactoredLayers.map(\.name) == [
            "layers.0", "layers.1.body.layers.1", "layers.1.body.layers.3", "layers.2.branches.0", "layers.2.branches.1.layers.1",
        ])
        #expect(model.parameter(atPath: "layers.1.body.layers.3.weight") === model.parameter(named: "layers.1.body.layers.3.weight"))
        #expect(model.outputFeatures == 5)
    }

    @Test("Residual, Branches (sum and concatenate) and a nested tree pass the finite-difference check")
    func containerGradients() {
        var rng = Xoshiro256StarStar(seed: 2)
        #expect(maxGradientError(Self.nestedModel(&rng), input: randomMatrix(3, 4, seed: 3)) < gradientTolerance)
        let sum = Branches<Double>([Linear(3, 2, rng: &rng), Sequential(inputFeatures: 3, [GELU(), Linear(3, 2, rng: &rng)])],
                                   merge: .sum)
        #expect(maxGradientError(sum, input: randomMatrix(4, 3, seed: 4)) < gradientTolerance)
        let residual = Residual<Double>(Linear(3, 3, rng: &rng))
        #expect(maxGradientError(residual, input: randomMatrix(4, 3, seed: 5)) < gradientTolerance)
    }

    @Test("a weight used twice gets the sum of both contributions (finite differences)")
    func sharedWeightGradient() {
        var rng = Xoshiro256StarStar(seed: 6)
        let first = Linear<Double>(4, 4, rng: &rng)
        let second = Linear<Double>(sharingParametersWith: first)
        let model = Sequential<Double>(inputFeatures: 4, [first, Tanh(), second])
        #expect(model.namedParameters.map(\.name) == ["layers.0.weight", "layers.0.bias"])
        #expect(second.weight === first.weight)
        #expect(maxGradientError(model, input: randomMatrix(5, 4, seed: 7)) < gradientTolerance)

        // Negative control: either use's contribution alone differs from the total by much more than the tolerance.
        let x = randomMatrix(5, 4, seed: 8), r = randomMatrix(5, 4, seed: 9)
        _ = model.forward(x, training: false)
        model.zeroGradients()
        model.backward(r)
        let total = first.weight.gradient
        model.zeroGradients()
        _ = second.backward(r, options: BackwardOptions(parameterGradients: true, inputGradient: false))
        #expect(relativeError(first.weight.gradient, total) > 1e-2)
    }

    @Test("backward accumulates until zeroGradients")
    func accumulation() {
        var rng = Xoshiro256StarStar(seed: 10)
        let model = Sequential<Double>(inputFeatures: 3, [Linear(3, 4, rng: &rng), ReLU(), Linear(4, 2, rng: &rng)])
        _ = model.forward(randomMatrix(6, 3, seed: 11), training: true)
        let g = randomMatrix(6, 2, seed: 12)
        model.backward(g)
        let once = model.namedParameters.map(\.gradient)
        model.backward(g)
        for (p, o) in zip(model.namedParameters, once) { #expect(p.gradient == 2 * o) }
        model.zeroGradients()
        for p in model.namedParameters { #expect(p.gradient.maxAbs == 0) }
    }

    @Test("a frozen parameter has no gradient buffer, is left out of trainableParameters and K-FAC, and its module still passes input gradients")
    func freezing() {
        var rng = Xoshiro256StarStar(seed: 13)
        let model = Self.nestedModel(&rng)
        model.freeze { $0.hasPrefix("layers.1.body") }
        let frozen = model.namedParameters.filter { !$0.isTrainable }.map(\.name)
        #expect(frozen.count == 6 && frozen.allSatisfy { $0.hasPrefix("layers.1.body") })
        #expect(model.trainableParameters.count == 6)
        for p in model.namedParameters where !p.isTrainable { #expect(p.gradient.count == 0) }
        #expect(!model.kroneckerFactoredLayers.map(\.name).contains { $0.hasPrefix("layers.1") })
        // The remaining parameters' gradients and the input gradient are still exact.
        #expect(maxGradientError(model, input: randomMatrix(3, 4, seed: 14)) < gradientTolerance)
        model.unfreeze()
        #expect(model.trainableParameters.count == 12)
        #expect(model.namedParameters.allSatisfy { $0.gradient.count == $0.value.count })
    }

    @Test("a frozen bias with a trainable weight: the capture has no bias column")
    func frozenBiasCapture() {
        var rng = Xoshiro256StarStar(seed: 15)
        let layer = Linear<Double>(3, 2, rng: &rng)
        layer.bias!.freeze()
        layer.captureEnabled = true
        _ = layer.forward(randomMatrix(4, 3, seed: 16), context: ForwardContext(isTraining: true, examples: 4))
        _ = layer.backward(randomMatrix(4, 2, seed: 17), options: .full)
        #expect(layer.capture?.hasBias == false)
        #expect(layer.bias!.gradient.count == 0)
    }

    /// A block of one's own composing its children in its own passes: `y = x + W tanh(W x + b) + b`,
    /// the same `W, b` applied twice (a two-hop message-passing step with tied weights).
    final class TiedTwoHop: Module {
        typealias Scalar = Double
        let hop: Linear<Double>
        let again: Linear<Double>
        let act = Tanh<Double>()
        init(features: Int, rng: inout Xoshiro256StarStar) {
            hop = Linear(features, features, rng: &rng)
            again = Linear(sharingParametersWith: hop)
        }
        var children: [(name: String, module: any Module<Double>)] { [("hop", hop), ("act", act), ("again", again)] }
        var summary: String { "TiedTwoHop(\(hop.inFeatures))" }
        func outputFeatures(forInput inputFeatures: Int) -> Int { hop.outputFeatures(forInput: inputFeatures) }
        func forward(_ x: Matrix<Double>, context: ForwardContext) -> Matrix<Double> {
            var y = again.forward(act.forward(hop.forward(x, context: context), context: context), context: context)
            y.axpy(1, x)
            return y
        }
        func backward(_ g: Matrix<Double>, options: BackwardOptions) -> Matrix<Double> {
            var inner = options
            inner.inputGradient = true
            let dh = act.backward(again.backward(g, options: inner), options: inner)
            var dx = hop.backward(dh, options: options)
            guard options.inputGradient else { return dx }
            dx.axpy(1, g)
            return dx
        }
    }

    @Test("a custom block with tied weights: names, one K-FAC block with two uses, exact gradients")
    func customBlock() {
        var rng = Xoshiro256StarStar(seed: 18)
        let model = Sequential<Double>(inputFeatures: 3, [TiedTwoHop(features: 3, rng: &rng), Linear(3, 2, rng: &rng)])
        #expect(model.namedParameters.map(\.name) == ["layers.0.hop.weight", "layers.0.hop.bias", "layers.1.weight", "layers.1.bias"])
        #expect(model.kroneckerBlocks.map(\.name) == ["layers.0.hop", "layers.1"])
        #expect(model.kroneckerBlocks[0].uses.count == 2)
        #expect(maxGradientError(model, input: randomMatrix(4, 3, seed: 19)) < gradientTolerance)
    }
}
