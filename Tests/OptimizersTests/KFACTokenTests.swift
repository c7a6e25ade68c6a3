import Curvature
import Linalg
import NeuralNet
import Optimizers
import Testing
import _TestSupport

/// K-FAC factors of the Linears a vision transformer shares over its tokens (docs/kfac.md#weight-sharing-expand-and-reduce),
/// against explicit loops over examples and tokens, and the equalities the theory predicts.
@Suite("K-FAC on token-shared layers")
struct KFACTokenTests {
    /// A Double ViT on 4×4×2 images (`patch` 2: 4 tokens; `patch` 4: 1 token), its captures filled by one
    /// forward and backward of cross-entropy on `b` random examples.
    static func capturedViT(patch: Int, pooling: TokenPoolingKind, examples b: Int, seed: UInt64) -> Sequential<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        let shape = VisionTransformerShape(image: ImageShape(height: 4, width: 4, channels: 2), classes: 3, patchSize: patch,
                                           width: 4, depth: 2, heads: 2, mlpWidth: 6, pooling: pooling, dropout: 0)
        let model: Sequential<Double> = Models.visionTransformer(shape, rng: &rng)
        model.setCapture(true)
        let x: Matrix<Double> = rng.normalMatrix(rows: b, columns: 32)
        let loss = SoftmaxCrossEntropy<Double>()
        _ = loss.forward(model.forward(x, training: true), targets: (0..<b).map { $0 % 3 })
        model.zeroGradients()
        model.backward(loss.gradient(targets: (0..<b).map { $0 % 3 }))
        return model
    }

    /// `A` and `G` by loops: expand sums the outer products of every (example, token) row; reduce first
    /// averages `ā` and sums `g` over each example's tokens.
    static func loopFactors(_ c: KroneckerCapture<Double>, _ approximation: WeightSharingApproximation) -> (Matrix<Double>, Matrix<Double>) {
        let (b, t) = (c.examples, c.positions)
        let abar = c.augmentedActivations(), g = c.outputGradients
        let (ka, kg) = (abar.columns, g.columns)
        var a = Matrix<Double>(rows: ka, columns: ka), gg = Matrix<Double>(rows: kg, columns: kg)
        for n in 0..<b {
            if approximation == .expand {
                for p in 0..<t {
                    let r = n * t + p
                    for i in 0..<ka { for j in 0..<ka { a[i, j] += abar[r, i] * abar[r, j] / Double(b * t) } }
                    for i in 0..<kg { for j in 0..<kg { gg[i, j] += Double(b) * g[r, i] * g[r, j] } }
                }
            } else {
                var am = [Double](repeating: 0, count: ka), gs = [Double](repeating: 0, count: kg)
                for p in 0..<t {
                    for i in 0..<ka { am[i] += abar[n * t + p, i] / Double(t) }
                    for i in 0..<kg { gs[i] += g[n * t + p, i] }
                }
                for i in 0..<ka { for j in 0..<ka { a[i, j] += am[i] * am[j] / Double(b) } }
                for i in 0..<kg { for j in 0..<kg { gg[i, j] += Double(b) * gs[i] * gs[j] } }
            }
        }
        return (a, gg)
    }

    @Test("every Linear of a ViT (patch projection, Q, K, V, O, MLP, head): expand and reduce factors equal the loops")
    func factorsMatchLoops() throws {
        let model = Self.capturedViT(patch: 2, pooling: .mean, examples: 3, seed: 1)
        let blocks = model.kroneckerBlocks
        #expect(blocks.count == 1 + 2 * 6 + 1)
        for block in blocks {
            let c = try #require(block.capture)
            #expect(c.positions == (block.name == blocks.last!.name ? 1 : 4), "\(block.name)")
            for approximation in WeightSharingApproximation.allCases {
                let (a, g) = Self.loopFactors(c, approximation)
                let fa = KroneckerFactorComputation.activationFactor(c, approximation: approximation)
                let fg = KroneckerFactorComputation.gradientFactor(c.outputGradients, examples: c.examples, approximation: approximation)
                #expect(relativeError(fa, a) < 1e-13 && relativeError(fg, g) < 1e-13, "\(block.name) \(approximation)")
            }
        }
        // Negative control: on the 4-token layers expand and reduce differ.
        let query = try #require(blocks.first { $0.name.hasSuffix("query") }?.capture)
        #expect(relativeError(KroneckerFactorComputation.activationFactor(query, approximation: .reduce),
                              KroneckerFactorComputation.activationFactor(query, approximation: .expand)) > 1e-2)
    }

    @Test("one token per image (patch = image): expand and reduce are the same factors for every layer")
    func oneTokenEqual() throws {
        let model = Self.capturedViT(patch: 4, pooling: .mean, examples: 3, seed: 2)
        for block in model.kroneckerBlocks {
            let c = try #require(block.capture)
            #expect(c.positions == 1)
            #expect(KroneckerFactorComputation.activationFactor(c, approximation: .expand)
                    == KroneckerFactorComputation.activationFactor(c, approximation: .reduce))
            #expect(KroneckerFactorComputation.gradientFactor(c.outputGradients, examples: 3, approximation: .expand)
                    == KroneckerFactorComputation.gradientFactor(c.outputGradients, examples: 3, approximation: .reduce))
        }
    }

    @Test("class-token pooling: the last block's MLP gets gradient at the class token only, so expand G equals reduce G")
    func classTokenGradientFactorsEqual() throws {
        let model = Self.capturedViT(patch: 2, pooling: .first, examples: 4, seed: 3)
        let blocks = model.kroneckerBlocks
        // The last block's MLP Linears: after them come only LayerNorm (per token), the first-token pooling and the head.
        for block in blocks.suffix(3).prefix(2) {
            let c = try #require(block.capture)
            #expect(c.positions == 5)
            let expand = KroneckerFactorComputation.gradientFactor(c.outputGradients, examples: 4, approximation: .expand)
            let reduce = KroneckerFactorComputation.gradientFactor(c.outputGradients, examples: 4, approximation: .reduce)
            #expect(relativeError(reduce, expand) < 1e-14, "\(block.name)")
            #expect(expand.maxAbs > 0)
            // …while their A factors differ (the tokens' inputs differ).
            #expect(relativeError(KroneckerFactorComputation.activationFactor(c, approximation: .reduce),
                                  KroneckerFactorComputation.activationFactor(c, approximation: .expand)) > 1e-2)
        }
        // Earlier layers see gradient at every token through attention: there the two G differ.
        let query = try #require(blocks.first { $0.name.hasSuffix("query") }?.capture)
        #expect(relativeError(KroneckerFactorComputation.gradientFactor(query.outputGradients, examples: 4, approximation: .reduce),
                              KroneckerFactorComputation.gradientFactor(query.outputGradients, examples: 4, approximation: .expand)) > 1e-2)
    }
}
