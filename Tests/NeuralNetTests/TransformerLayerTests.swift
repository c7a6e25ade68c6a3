import Foundation
import Linalg
import NeuralNet
import Testing
import _TestSupport

/// The vision-transformer layers: attention against a loop implementation of its definition, masking,
/// and central-difference gradient checks of every new layer (Double, `gradientTolerance`).
@Suite("Transformer layers")
struct TransformerLayerTests {
    /// `x W_ᵀ + b` by loops.
    static func affine(_ x: Matrix<Double>, _ layer: Linear<Double>) -> Matrix<Double> {
        var y = naiveProduct(x, layer.weight.value, transposeB: true)
        for i in 0..<y.rows { for j in 0..<y.columns { y[i, j] += layer.bias!.value[0, j] } }
        return y
    }

    /// Multi-head attention written from its definition with scalar loops (no BLAS, the textbook softmax
    /// `e^{s_j} / Σ e^{s_k}` over the real keys).
    static func naiveAttention(_ a: MultiHeadSelfAttention<Double>, _ x: Matrix<Double>, examples b: Int, isReal: [Bool]? = nil) -> Matrix<Double> {
        let (q, k, v) = (affine(x, a.query), affine(x, a.key), affine(x, a.value))
        let (t, dm, d) = (x.rows / b, a.dimension, a.headDimension)
        var o = Matrix<Double>(rows: x.rows, columns: dm)
        for n in 0..<b { for h in 0..<a.heads { for i in 0..<t {
            var weights = [Double](repeating: 0, count: t)
            for j in 0..<t where isReal?[n * t + j] ?? true {
                var s = 0.0
                for c in 0..<d { s += q[n * t + i, h * d + c] * k[n * t + j, h * d + c] }
                weights[j] = exp(s / Double(d).squareRoot())
            }
            let total = weights.reduce(0, +)
            for j in 0..<t { for c in 0..<d { o[n * t + i, h * d + c] += weights[j] / total * v[n * t + j, h * d + c] } }
        } } }
        return affine(o, a.output)
    }

    @Test("attention equals the loop implementation, with and without a key mask")
    func attentionMatchesLoops() {
        var rng = Xoshiro256StarStar(seed: 1)
        let a = MultiHeadSelfAttention<Double>(dimension: 6, heads: 3, rng: &rng)
        let (b, t) = (3, 5)
        let x = randomMatrix(b * t, 6, seed: 2)
        let y = a.forward(x, context: ForwardContext(isTraining: false, examples: b))
        #expect(relativeError(y, Self.naiveAttention(a, x, examples: b)) < 1e-13)
        let isReal = (0..<(b * t)).map { $0 % t < 3 || $0 == 9 }
        let mask = PositionMask(positions: t, isReal: isReal)
        let ym = a.forward(x, context: ForwardContext(isTraining: false, examples: b, positionMask: mask))
        #expect(relativeError(ym, Self.naiveAttention(a, x, examples: b, isReal: isReal)) < 1e-13)
        // Negative control: the mask changes the result.
        #expect(relativeError(ym, y) > 1e-3)
    }

    @Test("masked keys get zero weight: changing padded tokens leaves the real positions' outputs unchanged")
    func maskedKeysHaveNoInfluence() {
        var rng = Xoshiro256StarStar(seed: 3)
        let a = MultiHeadSelfAttention<Double>(dimension: 4, heads: 2, rng: &rng)
        let (b, t) = (2, 4)
        let isReal = [true, true, false, false, true, true, true, false]
        let context = ForwardContext(isTraining: false, examples: b, positionMask: PositionMask(positions: t, isReal: isReal))
        var x = randomMatrix(b * t, 4, seed: 4)
        let before = a.forward(x, context: context)
        for r in 0..<(b * t) where !isReal[r] { for c in 0..<4 { x[r, c] += 10 * Double(c + 1) } }
        let after = a.forward(x, context: context)
        for r in 0..<(b * t) where isReal[r] { #expect(before.row(r) == after.row(r)) }
        // Without the mask the padded tokens do change the real outputs.
        let free = a.forward(x, context: ForwardContext(isTraining: false, examples: b))
        #expect(relativeError(free.row(0), after.row(0)) > 1e-3)
    }

    @Test("a query whose keys are all padding gets zero attention (output = output bias), no NaN")
    func fullyMaskedExample() {
        var rng = Xoshiro256StarStar(seed: 5)
        let a = MultiHeadSelfAttention<Double>(dimension: 4, heads: 1, rng: &rng)
        let mask = PositionMask(positions: 2, isReal: [false, false, true, true])
        let y = a.forward(randomMatrix(4, 4, seed: 6), context: ForwardContext(isTraining: false, examples: 2, positionMask: mask))
        #expect(y.row(0) == a.output.bias!.value.row(0) && y.row(1) == a.output.bias!.value.row(0))
        #expect(y.isFinite)
    }

    @Test("softmax is stable for large scores (no overflow)")
    func stableSoftmax() {
        var s: [Double] = [1000, 1001, -1000]
        s.withUnsafeMutableBufferPointer { MultiHeadSelfAttention<Double>.softmaxRows($0.baseAddress!, rows: 1, columns: 3, isReal: nil) }
        let e = exp(-1.0)
        #expect(abs(s[0] - e / (1 + e)) < 1e-15 && abs(s[1] - 1 / (1 + e)) < 1e-15 && s[2] == 0)
    }

    @Test("attention gradients (inputs and Q, K, V, O weights) match central differences, masked and not")
    func attentionGradients() {
        var rng = Xoshiro256StarStar(seed: 7)
        let a = MultiHeadSelfAttention<Double>(dimension: 6, heads: 2, rng: &rng)
        #expect(maxGradientError(a, input: randomMatrix(8, 6, seed: 8), examples: 2) < gradientTolerance)
        let mask = PositionMask(positions: 4, isReal: [true, true, true, false, true, false, true, true])
        #expect(maxGradientError(a, input: randomMatrix(8, 6, seed: 9), examples: 2, positionMask: mask) < gradientTolerance)
        // The key bias adds the same b_k·q to every score of a row, which the softmax ignores: its gradient is 0.
        a.zeroGradients()
        _ = a.forward(randomMatrix(8, 6, seed: 10), context: ForwardContext(isTraining: true, examples: 2))
        _ = a.backward(randomMatrix(8, 6, seed: 11), options: .full)
        #expect(a.key.bias!.gradient.maxAbs < 1e-14 && a.query.bias!.gradient.maxAbs > 1e-3)
    }

    @Test("patch extraction: 7×7 patches of 28×28 give 16 tokens, 4×4 give 49; entries land where the formula says")
    func patchLayout() {
        let image = ImageShape(height: 28, width: 28, channels: 1)
        #expect(PatchExtraction<Double>(image: image, patchSize: 7).tokens == 16)
        #expect(PatchExtraction<Double>(image: image, patchSize: 4).tokens == 49)
        let small = ImageShape(height: 4, width: 6, channels: 2)
        let p = PatchExtraction<Double>(image: small, patchSize: 2)
        let x = randomMatrix(2, small.features, seed: 10)
        let y = p.forward(x, context: ForwardContext(isTraining: false, examples: 2))
        #expect(y.rows == 2 * 6 && y.columns == 8)
        for n in 0..<2 { for t in 0..<6 { for u in 0..<2 { for v in 0..<2 { for c in 0..<2 {
            let (i, j) = (t / 3, t % 3)
            #expect(y[n * 6 + t, (u * 2 + v) * 2 + c] == x[n, ((i * 2 + u) * 6 + j * 2 + v) * 2 + c])
        } } } } }
        // A permutation: backward of the output is the input.
        #expect(p.backward(y, options: .full) == x)
    }

    @Test("gradients of patch embedding, position embedding, class token and pooling match central differences")
    func embeddingGradients() {
        var rng = Xoshiro256StarStar(seed: 11)
        let image = ImageShape(height: 4, width: 4, channels: 1)
        let embed = PatchEmbedding<Double>(image: image, patchSize: 2, dimension: 3, rng: &rng)
        embed.assignParameterPaths()
        #expect(maxGradientError(embed, input: randomMatrix(2, 16, seed: 12), examples: 2) < gradientTolerance)
        let position = PositionEmbedding<Double>(positions: 4, dimension: 3, rng: &rng)
        #expect(maxGradientError(position, input: randomMatrix(8, 3, seed: 13), examples: 2) < gradientTolerance)
        let token = ClassToken<Double>(dimension: 3)
        token.token.value = randomMatrix(1, 3, seed: 14)
        #expect(maxGradientError(token, input: randomMatrix(8, 3, seed: 15), examples: 2) < gradientTolerance)
        for kind in TokenPoolingKind.allCases {
            #expect(maxGradientError(TokenPooling<Double>(kind), input: randomMatrix(8, 3, seed: 16), examples: 2) < gradientTolerance)
        }
        let mask = PositionMask(positions: 4, isReal: [true, false, true, true, false, true, false, false])
        #expect(maxGradientError(TokenPooling<Double>(.mean), input: randomMatrix(8, 3, seed: 17), examples: 2,
                                 positionMask: mask) < gradientTolerance)
    }

    @Test("masked mean pooling averages the real positions only")
    func maskedMean() {
        let x = Matrix<Double>([[1, 2], [3, 4], [100, 100], [5, 6], [7, 8], [9, 10]])
        let mask = PositionMask(positions: 3, isReal: [true, true, false, true, true, true])
        let y = TokenPooling<Double>(.mean).forward(x, context: ForwardContext(isTraining: false, examples: 2, positionMask: mask))
        #expect(relativeError(y, Matrix([[2, 3], [7, 8]])) < 1e-15)
    }

    @Test("a pre-LN transformer block and a whole tiny ViT match central differences")
    func blockAndModelGradients() {
        var rng = Xoshiro256StarStar(seed: 18)
        let block: Sequential<Double> = Models.transformerBlock(width: 4, heads: 2, mlpWidth: 8, rng: &rng)
        #expect(maxGradientError(block, input: randomMatrix(6, 4, seed: 19), examples: 2) < gradientTolerance)
        for pooling in TokenPoolingKind.allCases {
            let shape = VisionTransformerShape(image: ImageShape(height: 4, width: 4, channels: 1), classes: 3, patchSize: 2,
                                               width: 4, depth: 2, heads: 2, mlpWidth: 8, pooling: pooling, dropout: 0)
            let vit: Sequential<Double> = Models.visionTransformer(shape, rng: &rng)
            for p in vit.allParameters { p.value.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += 0.1 * Double(i % 3) } } }
            #expect(maxGradientError(vit, input: randomMatrix(2, 16, seed: 20), examples: 2) < gradientTolerance)
        }
    }

    @Test("ViT parameter paths name the attention projections; K-FAC sees every Linear at T positions")
    func namesAndBlocks() {
        var rng = Xoshiro256StarStar(seed: 21)
        let shape = VisionTransformerShape(image: ImageShape(height: 28, width: 28, channels: 1), classes: 10, patchSize: 7,
                                           width: 8, depth: 2, heads: 2, mlpWidth: 16, pooling: .first, dropout: 0.1)
        let vit: Sequential<Float> = Models.visionTransformer(shape, rng: &rng)
        let names = vit.namedParameters.map(\.name)
        #expect(names.contains("layers.0.projection.weight") && names.contains("layers.1.token"))
        #expect(names.contains("layers.4.layers.0.body.layers.1.query.weight"))
        // Patch projection, 2 × (Q, K, V, O, fc1, fc2), head.
        #expect(vit.kroneckerBlocks.count == 1 + 2 * 6 + 1)
        let y = vit.forward(Matrix(rows: 3, columns: 784, repeating: 0.5), training: true)
        #expect(y.rows == 3 && y.columns == 10 && y.isFinite)
    }
}
