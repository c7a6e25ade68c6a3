import Foundation
import Linalg
import NeuralNet
import Testing
import _TestSupport

/// Finite-difference tolerance: central differences in Double with h = 1e-6 are accurate to ~1e-9
/// relative on these smooth, order-one functions; 1e-6 leaves room for cancellation.
let gradientTolerance = 1e-6

@Suite struct CoreLayerTests {
    @Test func linearGradients() {
        var rng = Xoshiro256StarStar(seed: 1)
        let layer = Linear<Double>(5, 3, rng: &rng)
        #expect(maxGradientError(layer, input: randomMatrix(4, 5, seed: 2)) < gradientTolerance)
        let noBias = Linear<Double>(5, 3, bias: false, rng: &rng)
        #expect(maxGradientError(noBias, input: randomMatrix(4, 5, seed: 3)) < gradientTolerance)
    }

    @Test func linearMatchesNaiveProduct() {
        var rng = Xoshiro256StarStar(seed: 4)
        let layer = Linear<Double>(6, 4, rng: &rng)
        let x = randomMatrix(3, 6, seed: 5)
        let y = layer.forward(x, context: ForwardContext(isTraining: false, examples: 3))
        var expected = naiveProduct(x, layer.weight.value, transposeB: true)
        for i in 0..<3 { for j in 0..<4 { expected[i, j] += layer.bias!.value[0, j] } }
        #expect(relativeError(y, expected) < 1e-14)
    }

    @Test(arguments: ["relu", "gelu", "tanh"])
    func activationGradients(kind: String) {
        let x = randomMatrix(4, 6, seed: 11)
        let error: Double
        switch kind {
        case "relu": error = maxGradientError(ReLU<Double>(), input: x)
        case "gelu": error = maxGradientError(GELU<Double>(), input: x)
        default: error = maxGradientError(Tanh<Double>(), input: x)
        }
        #expect(error < gradientTolerance)
    }

    @Test func sequentialGradientsAndNames() {
        var rng = Xoshiro256StarStar(seed: 12)
        let model = Sequential<Double>(inputFeatures: 4, [
            Linear(4, 6, rng: &rng), Tanh(), Linear(6, 5, rng: &rng), GELU(), Linear(5, 3, rng: &rng),
        ])
        #expect(model.namedParameters.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias",
        ])
        #expect(model.parameterCount == 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3)
        #expect(maxGradientError(model, input: randomMatrix(3, 4, seed: 13)) < gradientTolerance)
    }

    @Test func crossEntropyGradientAndValue() {
        let logits = randomMatrix(5, 4, seed: 21)
        let labels = [0, 3, 1, 2, 3]
        let loss = SoftmaxCrossEntropy<Double>()
        #expect(maxLossGradientError(loss, output: logits, targets: labels) < gradientTolerance)
        // Value against the textbook formula.
        var expected = 0.0
        for i in 0..<5 {
            let row = logits.row(i)
            expected += -row[labels[i]] + log(row.map { exp($0) }.reduce(0, +))
        }
        #expect(abs(loss.forward(logits, targets: labels) - expected / 5) < 1e-12)
        // Stable for huge logits.
        let huge = Matrix<Double>([[1000, 0, -1000], [0, 1e4, 1e4]])
        let value = loss.forward(huge, targets: [0, 1])
        #expect(value.isFinite && abs(value - log(2) / 2) < 1e-12)
    }

    @Test func crossEntropySampledLabelsFollowPredictiveDistribution() {
        let loss = SoftmaxCrossEntropy<Double>()
        let logits = Matrix<Double>(rows: 20_000, columns: 3, storage: (0..<20_000).flatMap { _ in [0.0, log(2.0), log(7.0)] })
        _ = loss.forward(logits, targets: [Int](repeating: 0, count: 20_000))
        var rng = Xoshiro256StarStar(seed: 5)
        let sampled = loss.sampleTargets(using: &rng)
        let frequencies = (0..<3).map { c in Double(sampled.filter { $0 == c }.count) / 20_000 }
        // Binomial standard error ≤ sqrt(0.25/20000) ≈ 0.0035; allow 5σ.
        for (f, p) in zip(frequencies, [0.1, 0.2, 0.7]) { #expect(abs(f - p) < 0.018) }
    }

    @Test func meanSquaredErrorGradient() {
        let loss = MeanSquaredError<Double>()
        let y = randomMatrix(4, 3, seed: 31)
        let t = randomMatrix(4, 3, seed: 32)
        #expect(maxLossGradientError(loss, output: y, targets: t) < gradientTolerance)
        var d = y - t
        d.mapInPlace { $0 * $0 }
        #expect(abs(loss.forward(y, targets: t) - 0.5 * d.storage.reduce(0, +) / 4) < 1e-12)
    }

    /// The capture hands over `a` = the layer input and `g` = ∂L/∂s of the *latest* backward, so a
    /// second backward with sampled labels replaces `g` and keeps `a` (no second forward).
    @Test func kroneckerCaptureFollowsEveryBackward() {
        var rng = Xoshiro256StarStar(seed: 41)
        let first = Linear<Double>(4, 5, rng: &rng)
        let model = Sequential<Double>(inputFeatures: 4, [first, ReLU(), Linear(5, 3, rng: &rng)])
        let x = randomMatrix(6, 4, seed: 42)
        #expect(model.kroneckerFactoredLayers.map(\.name) == ["layers.0", "layers.2"])
        model.setCapture(true)
        let loss = SoftmaxCrossEntropy<Double>()
        let labels = [0, 1, 2, 0, 1, 2]
        _ = loss.forward(model.forward(x, training: true), targets: labels)
        model.zeroGradients()
        model.backward(loss.gradient(targets: labels))
        let empirical = first.capture!
        #expect(empirical.activations == x)
        #expect(empirical.positions == 1 && empirical.examples == 6 && empirical.hasBias)
        // [∇W, ∇b] = gᵀ ā.
        let combined = BLAS.matmul(empirical.outputGradients, transposeA: true, empirical.augmentedActivations())
        for i in 0..<5 {
            for j in 0..<4 { #expect(abs(combined[i, j] - first.weight.gradient[i, j]) < 1e-14) }
            #expect(abs(combined[i, 4] - first.bias!.gradient[0, i]) < 1e-14)
        }
        let weightGradient = first.weight.gradient
        var sampler = Xoshiro256StarStar(seed: 43)
        let sampled = loss.sampleTargets(using: &sampler)
        _ = model.backward(loss.gradient(targets: sampled), options: BackwardOptions(parameterGradients: false, inputGradient: false))
        #expect(first.capture!.activations == x)
        #expect(first.weight.gradient == weightGradient)
        if sampled != labels { #expect(first.capture!.outputGradients != empirical.outputGradients) }
        model.setCapture(false)
        _ = model.forward(x, training: true)
        #expect(first.capture == nil)
    }
}
