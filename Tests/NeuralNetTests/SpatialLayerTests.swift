import Linalg
import NeuralNet
import Testing
import _TestSupport

/// The convolution by its definition, with NCHW-free loops over (b, i, j, o, u, v, c): the oracle.
func naiveConvolution(_ x: Matrix<Double>, _ conv: Conv2d<Double>) -> Matrix<Double> {
    let (s, p, k) = (conv.stride, conv.padding, conv.kernelHeight)
    let (h, w, c) = (conv.inputShape.height, conv.inputShape.width, conv.inputShape.channels)
    let (oh, ow, o) = (conv.outputShape.height, conv.outputShape.width, conv.outputShape.channels)
    var y = Matrix<Double>(rows: x.rows, columns: oh * ow * o)
    for b in 0..<x.rows { for i in 0..<oh { for j in 0..<ow { for oc in 0..<o {
        var sum = conv.bias?.value[0, oc] ?? 0
        for u in 0..<k { for v in 0..<k { for ch in 0..<c {
            let (yy, xx) = (i * s - p + u, j * s - p + v)
            guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
            sum += conv.weight.value[oc, (u * k + v) * c + ch] * x[b, (yy * w + xx) * c + ch]
        } } }
        y[b, (i * ow + j) * o + oc] = sum
    } } } }
    return y
}

@Suite struct SpatialLayerTests {
    @Test(arguments: [(1, 0), (1, 1), (2, 1), (2, 0)])
    func convolutionMatchesDefinitionAndGradients(stride: Int, padding: Int) {
        var rng = Xoshiro256StarStar(seed: 51)
        let shape = ImageShape(height: 5, width: 6, channels: 2)
        let conv = Conv2d<Double>(input: shape, outChannels: 3, kernelSize: 3, stride: stride, padding: padding, rng: &rng)
        let x = randomMatrix(2, shape.features, seed: 52)
        let y = conv.forward(x, context: ForwardContext(isTraining: false, examples: 2))
        #expect(relativeError(y, naiveConvolution(x, conv)) < 1e-14)
        #expect(maxGradientError(conv, input: x) < gradientTolerance)
    }

    @Test func convolutionCapturesPatchesPerPosition() {
        var rng = Xoshiro256StarStar(seed: 53)
        let conv = Conv2d<Double>(input: ImageShape(height: 4, width: 4, channels: 1), outChannels: 2, kernelSize: 3,
                                  padding: 1, rng: &rng)
        conv.captureEnabled = true
        let x = randomMatrix(3, 16, seed: 54)
        let y = conv.forward(x, context: ForwardContext(isTraining: true, examples: 3))
        _ = conv.backward(randomMatrix(y.rows, y.columns, seed: 55), options: .full)
        let capture = conv.capture!
        #expect(capture.positions == 16 && capture.activations.columns == 9 && capture.outputGradients.columns == 2)
        let combined = BLAS.matmul(capture.outputGradients, transposeA: true, capture.augmentedActivations())
        for o in 0..<2 {
            for j in 0..<9 { #expect(abs(combined[o, j] - conv.weight.gradient[o, j]) < 1e-12) }
            #expect(abs(combined[o, 9] - conv.bias!.gradient[0, o]) < 1e-12)
        }
    }

    @Test func poolingGradients() {
        let shape = ImageShape(height: 4, width: 6, channels: 3)
        let x = randomMatrix(2, shape.features, seed: 61)
        #expect(maxGradientError(MaxPool2d<Double>(input: shape, kernelSize: 2), input: x) < gradientTolerance)
        #expect(maxGradientError(AvgPool2d<Double>(input: shape, kernelSize: 2), input: x) < gradientTolerance)
        #expect(maxGradientError(AvgPool2d<Double>(input: shape, kernelSize: 3, stride: 1), input: x) < gradientTolerance)
        let pool = MaxPool2d<Double>(input: ImageShape(height: 2, width: 2, channels: 1), kernelSize: 2)
        let y = pool.forward(Matrix([[1, 5, -2, 3]]), context: ForwardContext(isTraining: false, examples: 1))
        #expect(y == Matrix([[5]]))
    }

    @Test func layerNormGradients() {
        let norm = LayerNorm<Double>(5)
        norm.weight.value = randomMatrix(1, 5, seed: 71)
        norm.bias.value = randomMatrix(1, 5, seed: 72)
        #expect(maxGradientError(norm, input: randomMatrix(3, 5, seed: 73)) < gradientTolerance)
    }

    @Test func embeddingGradients() {
        var rng = Xoshiro256StarStar(seed: 81)
        let embedding = Embedding<Double>(vocabulary: 7, dimension: 4, rng: &rng)
        let tokens = Matrix<Double>([[1, 3, 3], [6, 0, 1]])
        #expect(maxGradientError(embedding, input: tokens, examples: 2) < gradientTolerance)
        let y = embedding.forward(tokens, context: ForwardContext(isTraining: false, examples: 2))
        #expect(y.rows == 6 && y.row(1) == embedding.weight.value.row(3))
    }

    @Test func dropoutGradientsAndScaling() {
        let dropout = Dropout<Double>(probability: 0.3, seed: 91)
        let start = dropout.generator
        let x = randomMatrix(8, 10, seed: 92)
        #expect(maxGradientError(dropout, input: x, training: true, beforeForward: { dropout.generator = start })
                < gradientTolerance)
        // Inference is the identity; training keeps about 70 % of entries, scaled by 1/0.7.
        #expect(dropout.forward(x, context: ForwardContext(isTraining: false, examples: 8)) == x)
        let ones = Matrix<Double>(rows: 100, columns: 100, repeating: 1)
        let y = dropout.forward(ones, context: ForwardContext(isTraining: true, examples: 100))
        let kept = y.storage.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.7) < 1e-12 })
        #expect(abs(Double(kept.count) / 10_000 - 0.7) < 0.025) // 5σ of a binomial proportion
    }

    @Test func smallConvolutionalModelGradients() {
        var rng = Xoshiro256StarStar(seed: 101)
        let model: Sequential<Double> = Models.smallConvolutional(image: ImageShape(height: 6, width: 6, channels: 1),
                                                                  classes: 3, channels: (2, 3), hidden: 4, rng: &rng)
        #expect(maxGradientError(model, input: randomMatrix(2, 36, seed: 102)) < gradientTolerance)
        let flatten = Flatten<Double>()
        #expect(maxGradientError(flatten, input: randomMatrix(2, 5, seed: 103)) < gradientTolerance)
    }
}
