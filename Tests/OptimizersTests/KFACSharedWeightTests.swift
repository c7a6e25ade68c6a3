import Curvature
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import _TestSupport

/// K-FAC on a weight applied in two places: one block per weight, its captures recorded per use and merged.
@Suite("K-FAC with shared weights")
struct KFACSharedWeightTests {
    /// Linear(4→4) → Tanh → the same weights again → Tanh → Linear(4→2).
    static func sharedNetwork(seed: UInt64) -> (Sequential<Double>, Linear<Double>, Linear<Double>) {
        var rng = Xoshiro256StarStar(seed: seed)
        let first = Linear<Double>(4, 4, rng: &rng)
        let second = Linear<Double>(sharingParametersWith: first)
        return (Sequential(inputFeatures: 4, [first, Tanh(), second, Tanh(), Linear(4, 2, rng: &rng)]), first, second)
    }

    @Test("one block per weight, named by its first use; the merged capture keeps each example's rows together")
    func blocksAndMergedCapture() throws {
        let (model, first, second) = Self.sharedNetwork(seed: 1)
        let data = TestBatch(model: model, loss: .mse, examples: 3, seed: 2)
        let blocks = model.kroneckerBlocks
        #expect(blocks.map(\.name) == ["layers.0", "layers.4"])
        #expect(blocks[0].uses.count == 2 && blocks[0].captures.count == 2)
        let c1 = try #require(first.capture), c2 = try #require(second.capture)
        let merged = try #require(blocks[0].capture)
        #expect(merged.positions == 2 && merged.examples == 3)
        for n in 0..<3 {
            #expect(merged.activations.row(2 * n) == c1.activations.row(n))
            #expect(merged.activations.row(2 * n + 1) == c2.activations.row(n))
            #expect(merged.outputGradients.row(2 * n + 1) == c2.outputGradients.row(n))
        }
        // gᵀā over the merged rows is the shared weight's accumulated gradient [∇W, ∇b].
        let gta = BLAS.matmul(merged.outputGradients, transposeA: true, merged.augmentedActivations())
        let combined = Matrix(rows: 4, columns: 5, storage: (0..<4).flatMap { i in first.weight.gradient.row(i) + [first.bias!.gradient[0, i]] })
        #expect(relativeError(gta, combined) < 1e-13)
        _ = data
    }

    @Test("expand and reduce factors of a two-use block follow the formulas over all (use, position) rows")
    func factorsOfTwoUses() throws {
        let (model, first, second) = Self.sharedNetwork(seed: 3)
        let b = 5
        _ = TestBatch(model: model, loss: .crossEntropy, examples: b, seed: 4)
        let block = model.kroneckerBlocks[0]
        let capture = try #require(block.capture)
        let a1 = try #require(first.capture).augmentedActivations(), a2 = try #require(second.capture).augmentedActivations()
        let g1 = try #require(first.capture).outputGradients, g2 = try #require(second.capture).outputGradients
        // expand: A = (1/(2b)) Σ_u ā_uᵀ ā_u, G = b Σ_u g_uᵀ g_u.
        var expectedA = BLAS.matmul(a1, transposeA: true, a1) + BLAS.matmul(a2, transposeA: true, a2)
        expectedA.scale(by: 1 / Double(2 * b))
        var expectedG = BLAS.matmul(g1, transposeA: true, g1) + BLAS.matmul(g2, transposeA: true, g2)
        expectedG.scale(by: Double(b))
        #expect(relativeError(KroneckerFactorComputation.activationFactor(capture, approximation: .expand), expectedA) < 1e-13)
        #expect(relativeError(KroneckerFactorComputation.gradientFactor(capture.outputGradients, examples: b, approximation: .expand),
                              expectedG) < 1e-13)
        // reduce: â_n = (ā_{1,n} + ā_{2,n})/2, ĝ_n = g_{1,n} + g_{2,n}.
        var abar = a1 + a2
        abar.scale(by: 0.5)
        var ahat = BLAS.matmul(abar, transposeA: true, abar)
        ahat.scale(by: 1 / Double(b))
        let gsum = g1 + g2
        var ghat = BLAS.matmul(gsum, transposeA: true, gsum)
        ghat.scale(by: Double(b))
        #expect(relativeError(KroneckerFactorComputation.activationFactor(capture, approximation: .reduce), ahat) < 1e-13)
        #expect(relativeError(KroneckerFactorComputation.gradientFactor(capture.outputGradients, examples: b, approximation: .reduce),
                              ghat) < 1e-13)
        // Negative control: one use alone gives a different A.
        let alone = KroneckerFactorComputation.activationFactor(try #require(first.capture), approximation: .expand)
        #expect(relativeError(alone, expectedA) > 1e-3)
    }

    @Test("a K-FAC step on the shared weight is (G + λ_G I)⁻¹ [∇W, ∇b] (A + λ_A I)⁻¹ of the block's factors")
    func kfacStepOnSharedWeight() throws {
        let (model, first, _) = Self.sharedNetwork(seed: 5)
        let kfac = try KFAC(model: model, inner: try SGD<Double>(schedule: .constant(0.1)), configuration: KFACOptimizerTests.configuration {
            $0.damping = 1e-2
        })
        let (delta, outcome, gradient) = KFACOptimizerTests.step(kfac, model, seed: 6)
        #expect(outcome == .applied)
        #expect(Set(kfac.factors.keys) == ["layers.0", "layers.4"])
        let f = try #require(kfac.factors["layers.0"])
        #expect(f.dimensions == (5, 4))
        let idx = combinedIndices(first, offsets: parameterOffsets(model))
        let g = Matrix(rows: 4, columns: 5, storage: idx.map { gradient[$0] })
        let u = try KFACSolverTests.denseSolve(f, FactorDamping.piCorrected(f, damping: 1e-2), g)
        let moved = Matrix(rows: 4, columns: 5, storage: idx.map { -delta[$0] / 0.1 })
        #expect(relativeError(moved, u) < 1e-10)
    }
}
