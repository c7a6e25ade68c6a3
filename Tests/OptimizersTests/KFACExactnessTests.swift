import Curvature
import Linalg
import NeuralNet
import Optimizers
import Testing
import _TestSupport

/// K-FAC's factors against the exact GGN/Fisher blocks `F = (1/b) Σₙ Jₙᵀ Hₙ Jₙ` from the dense Jacobian,
/// on networks where theory says K-FAC is exact (curvlinops' test pattern):
/// - one example, positions = 1: every block is `(BᵀHB) ⊗ (āāᵀ)`, exactly a Kronecker product;
/// - deep linear networks with MSE: `B_ℓ` does not depend on the input and `H = I`, so each block is
///   `(B_ℓᵀB_ℓ) ⊗ E[āāᵀ]` for any batch;
/// - the output layer with MSE (`B = I`, `H = I`): exact for any batch and any hidden nonlinearity.
/// Tolerance 1e-8 relative in Double (the factors and `JᵀHJ` differ by rounding only, ~1e-15).
@Suite("K-FAC exactness against the dense GGN")
struct KFACExactnessTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let sizes: [Int]
        let activation: TestActivation
        let loss: TestLoss
        let examples: Int
        /// Indices (into `kroneckerFactoredLayers`) where `G ⊗ A` must equal the exact block.
        let exactLayers: [Int]
        /// Indices where it must *not* (a negative control that the comparison can fail).
        let inexactLayers: [Int]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "deep linear 4-5-3-2, MSE, 1 example", sizes: [4, 5, 3, 2], activation: .none, loss: .mse,
             examples: 1, exactLayers: [0, 1, 2], inexactLayers: []),
        Case(name: "deep linear 3-4-2, MSE, 8 examples", sizes: [3, 4, 2], activation: .none, loss: .mse,
             examples: 8, exactLayers: [0, 1], inexactLayers: []),
        Case(name: "tanh 3-4-3, cross-entropy, 1 example", sizes: [3, 4, 3], activation: .tanh, loss: .crossEntropy,
             examples: 1, exactLayers: [0, 1], inexactLayers: []),
        Case(name: "relu 3-5-2, MSE, 6 examples", sizes: [3, 5, 2], activation: .relu, loss: .mse,
             examples: 6, exactLayers: [1], inexactLayers: [0]),
        Case(name: "tanh 3-4-3, cross-entropy, 5 examples", sizes: [3, 4, 3], activation: .tanh, loss: .crossEntropy,
             examples: 5, exactLayers: [], inexactLayers: [0, 1]),
    ]

    @Test("G ⊗ A of the exact-GGN factors equals the dense GGN block", arguments: cases)
    func exactGGNBlocks(_ c: Case) throws {
        let model = makeNetwork(c.sizes, activation: c.activation, seed: 11)
        let data = TestBatch(model: model, loss: c.loss, examples: c.examples, seed: 5)
        var rng = Xoshiro256StarStar(seed: 1)
        let layers = model.kroneckerFactoredLayers
        let factors = KroneckerFactorComputation.batchFactors(blocks: model.kroneckerBlocks, model: model, curvature: data.curvature,
                                                              fisher: .exactGGN, rng: &rng)
        let f = GeneralizedGaussNewton.dense(model, input: data.input, curvature: data.curvature)
        let offsets = parameterOffsets(model)
        for (i, (name, layer)) in layers.enumerated() {
            let exact = block(f, combinedIndices(layer, offsets: offsets))
            let kfac = try #require(factors[name]).denseBlock()
            let error = relativeError(kfac, exact)
            if c.exactLayers.contains(i) { #expect(error < 1e-8, "\(name): relative error \(error)") }
            if c.inexactLayers.contains(i) { #expect(error > 1e-3, "\(name) should not be exact, error \(error)") }
        }
    }

    @Test("A is the exact second moment of [a, 1] and G of the output layer with MSE is I")
    func factorStructureOnTwoLayerNet() throws {
        // 2-layer ReLU net, 7 examples: A_0 = (1/b) Σ [x,1][x,1]ᵀ from the data; the output layer's G = I.
        let model = makeNetwork([3, 4, 2], activation: .relu, seed: 2)
        let data = TestBatch(model: model, loss: .mse, examples: 7, seed: 9)
        var rng = Xoshiro256StarStar(seed: 1)
        let layers = model.kroneckerFactoredLayers
        let factors = KroneckerFactorComputation.batchFactors(blocks: model.kroneckerBlocks, model: model, curvature: data.curvature,
                                                              fisher: .exactGGN, rng: &rng)
        var expectedA = Matrix<Double>(rows: 4, columns: 4)
        for n in 0..<7 {
            let a = data.input.row(n) + [1]
            for i in 0..<4 { for j in 0..<4 { expectedA[i, j] += a[i] * a[j] / 7 } }
        }
        #expect(relativeError(try #require(factors["layers.0"]).activation, expectedA) < 1e-13)
        #expect(relativeError(try #require(factors["layers.2"]).gradient, .identity(2)) < 1e-13)
    }

    @Test("true-Fisher factor (sampled labels) averages to the exact GGN factor")
    func trueFisherIsGGNInExpectation() throws {
        // G from one sampled backward is an unbiased estimate of the GGN factor; the mean of M draws has a
        // relative error ~ sqrt(2/M) per entry. M = 4000 → ~2 %; the bound 8 % leaves room.
        for loss in [TestLoss.mse, .crossEntropy] {
            let model = makeNetwork([3, 4, 3], activation: .tanh, seed: 4)
            let data = TestBatch(model: model, loss: loss, examples: 2, seed: 8)
            var rng = Xoshiro256StarStar(seed: 21)
            let layers = model.kroneckerFactoredLayers
            let exact = KroneckerFactorComputation.batchFactors(blocks: model.kroneckerBlocks, model: model, curvature: data.curvature,
                                                                fisher: .exactGGN, rng: &rng)
            let draws = 4000
            var mean = Matrix<Double>(rows: 4, columns: 4)
            for _ in 0..<draws {
                let f = KroneckerFactorComputation.batchFactors(blocks: model.kroneckerBlocks, model: model, curvature: data.curvature,
                                                                fisher: .trueFisher, rng: &rng)
                mean.axpy(1 / Double(draws), try #require(f["layers.0"]).gradient)
            }
            let error = relativeError(mean, try #require(exact["layers.0"]).gradient)
            #expect(error < 0.08, "\(loss): Monte-Carlo G vs exact GGN G, relative error \(error)")
        }
    }
}

/// K-FAC-expand and K-FAC-reduce (Eschenhagen et al. 2023) on constructed captures.
@Suite("K-FAC expand and reduce")
struct KFACWeightSharingTests {
    static func capture(examples b: Int, positions r: Int, inputs: Int, outputs: Int, identicalInputs: Bool,
                        singlePositionGradient: Bool, seed: UInt64) -> KroneckerCapture<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        var a: Matrix<Double> = rng.normalMatrix(rows: b * r, columns: inputs)
        var g: Matrix<Double> = rng.normalMatrix(rows: b * r, columns: outputs)
        for n in 0..<b { for p in 0..<r {
            if identicalInputs { for j in 0..<inputs { a[n * r + p, j] = a[n * r, j] } }
            if singlePositionGradient && p != r - 1 { for j in 0..<outputs { g[n * r + p, j] = 0 } }
        } }
        g.scale(by: 1 / Double(b))
        return KroneckerCapture(activations: a, outputGradients: g, examples: b, hasBias: true)
    }

    static func factors(_ c: KroneckerCapture<Double>, _ approximation: WeightSharingApproximation) -> KroneckerFactors<Double> {
        KroneckerFactors(activation: KroneckerFactorComputation.activationFactor(c, approximation: approximation),
                         gradient: KroneckerFactorComputation.gradientFactor(c.outputGradients, examples: c.examples,
                                                                            approximation: approximation))
    }

    @Test("positions = 1: expand and reduce are identical")
    func singlePosition() {
        let c = Self.capture(examples: 5, positions: 1, inputs: 3, outputs: 4, identicalInputs: false,
                             singlePositionGradient: false, seed: 1)
        #expect(Self.factors(c, .expand) == Self.factors(c, .reduce))
    }

    @Test("inputs identical across positions: the A factors agree; with one gradient position per example so do the G")
    func identicalInputs() {
        let c = Self.capture(examples: 4, positions: 3, inputs: 3, outputs: 2, identicalInputs: true,
                             singlePositionGradient: false, seed: 2)
        let (e, r) = (Self.factors(c, .expand), Self.factors(c, .reduce))
        #expect(relativeError(e.activation, r.activation) < 1e-14)
        #expect(relativeError(e.gradient, r.gradient) > 1e-2)   // cross terms Σ_{r≠r'} g_r g_r'ᵀ differ
        let single = Self.capture(examples: 4, positions: 3, inputs: 3, outputs: 2, identicalInputs: true,
                                  singlePositionGradient: true, seed: 2)
        let (e1, r1) = (Self.factors(single, .expand), Self.factors(single, .reduce))
        #expect(relativeError(e1.denseBlock(), r1.denseBlock()) < 1e-14)
    }

    @Test("generic inputs at several positions: expand and reduce differ, and match their formulas")
    func differOnGenericCase() {
        let (b, r) = (3, 4)
        let c = Self.capture(examples: b, positions: r, inputs: 2, outputs: 2, identicalInputs: false,
                             singlePositionGradient: false, seed: 3)
        let (e, red) = (Self.factors(c, .expand), Self.factors(c, .reduce))
        #expect(relativeError(e.activation, red.activation) > 1e-2)
        // Reduce, by hand: â_n = mean_r ā_{n,r}, ĝ_n = Σ_r g_{n,r}; A = (1/b) Σ â âᵀ, G = b Σ ĝ ĝᵀ.
        let abar = c.augmentedActivations()
        var a = Matrix<Double>(rows: 3, columns: 3)
        var g = Matrix<Double>(rows: 2, columns: 2)
        for n in 0..<b {
            var am = [Double](repeating: 0, count: 3), gs = [Double](repeating: 0, count: 2)
            for p in 0..<r {
                for j in 0..<3 { am[j] += abar[n * r + p, j] / Double(r) }
                for j in 0..<2 { gs[j] += c.outputGradients[n * r + p, j] }
            }
            for i in 0..<3 { for j in 0..<3 { a[i, j] += am[i] * am[j] / Double(b) } }
            for i in 0..<2 { for j in 0..<2 { g[i, j] += Double(b) * gs[i] * gs[j] } }
        }
        #expect(relativeError(red.activation, a) < 1e-14)
        #expect(relativeError(red.gradient, g) < 1e-14)
    }
}
