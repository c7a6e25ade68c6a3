import Linalg
import NeuralNet
import Testing
import _TestSupport

/// LoRA adapters (docs/lora.md#adapters): central-difference gradient checks of the adapter alone and of
/// attention with adapters on frozen projections (padded batch, dropout on), the zero start, the merge.
@Suite("LoRA adapters")
struct LoRATests {
    /// An adapter `5 → 4` of rank 2, α 6, with a random `B` (zero `B` hides `∂L/∂A`).
    static func adapter(dropout: Double, seed: UInt64) -> LoRAAdapter<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        let a = LoRAAdapter<Double>(inFeatures: 5, outFeatures: 4, rank: 2, alpha: 6, dropout: dropout, dropoutSeed: 9, dropoutStream: 0, rng: &rng)
        a.up.weight.value = rng.normalMatrix(rows: 4, columns: 2)
        return a
    }

    @Test("the adapter's gradients equal central differences, in inference and with dropout")
    func adapterGradients() {
        let x = randomMatrix(6, 5, seed: 2)
        #expect(maxGradientError(Self.adapter(dropout: 0, seed: 1), input: x) < gradientTolerance)
        let dropped = Self.adapter(dropout: 0.3, seed: 1)
        // The same mask for every evaluation: restart the dropout generator before each forward pass.
        let start = dropped.dropout.generator
        #expect(maxGradientError(dropped, input: x, training: true, beforeForward: { dropped.dropout.generator = start }) < gradientTolerance)
    }

    @Test("Δy = (α/r) x Aᵀ Bᵀ, zero at construction, and merging W + (α/r) B A gives the same output")
    func adapterDefinitionAndMerge() {
        var rng = Xoshiro256StarStar(seed: 3)
        let fresh = LoRAAdapter<Double>(inFeatures: 5, outFeatures: 4, rank: 2, alpha: 6, dropout: 0, dropoutSeed: 1, dropoutStream: 0, rng: &rng)
        let x = randomMatrix(3, 5, seed: 4)
        #expect(fresh.forward(x, context: ForwardContext(isTraining: false, examples: 3)).storage.allSatisfy { $0 == 0 })
        let a = Self.adapter(dropout: 0, seed: 5)
        var expected = naiveProduct(naiveProduct(x, a.down.weight.value, transposeB: true), a.up.weight.value, transposeB: true)
        expected.scale(by: 3)    // α / r = 6 / 2
        #expect(relativeError(a.forward(x, context: ForwardContext(isTraining: false, examples: 3)).storage, expected.storage) < 1e-14)
        // Merged weight against the base + adapter path of an adapted attention projection.
        let base = Linear<Double>(5, 4, rng: &rng)
        var merged = base.weight.value
        merged.axpy(1, a.weightUpdate)
        var y = base.forward(x, context: ForwardContext(isTraining: false, examples: 3))
        y.axpy(1, a.forward(x, context: ForwardContext(isTraining: false, examples: 3)))
        var m = naiveProduct(x, merged, transposeB: true)
        for i in 0..<3 { for j in 0..<4 { m[i, j] += base.bias!.value[0, j] } }
        #expect(relativeError(y.storage, m.storage) < 1e-14)
    }

    /// Attention of width 6 (3 heads) with frozen projections and adapters of rank 2 (random `B`).
    static func adaptedAttention(dropout: Double) -> MultiHeadSelfAttention<Double> {
        var rng = Xoshiro256StarStar(seed: 6)
        let attention = MultiHeadSelfAttention<Double>(dimension: 6, heads: 3, rng: &rng)
        attention.freeze()
        let adapters = (0..<4).map { i in
            LoRAAdapter<Double>(inFeatures: 6, outFeatures: 6, rank: 2, alpha: 4, dropout: dropout, dropoutSeed: 2, dropoutStream: UInt64(i), rng: &rng)
        }
        for a in adapters { a.up.weight.value = rng.normalMatrix(rows: 6, columns: 2) }
        attention.attach(adapters)
        return attention
    }

    @Test("attention with adapters on frozen projections: gradients of x, A and B equal central differences (padded, dropout)")
    func adaptedAttentionGradients() {
        let attention = Self.adaptedAttention(dropout: 0.2)
        #expect(attention.trainableParameters.count == 8)       // A and B of four adapters; W, b frozen
        let mask = PositionMask(positions: 4, isReal: [true, true, true, true, true, true, false, false])
        let starts = attention.adapters.map(\.dropout.generator)
        let error = maxGradientError(attention, input: randomMatrix(8, 6, seed: 7), examples: 2, training: true, positionMask: mask,
                                     beforeForward: { for (a, s) in zip(attention.adapters, starts) { a.dropout.generator = s } })
        #expect(error < gradientTolerance)
        #expect(attention.query.weight.gradient.count == 0 && attention.output.bias!.gradient.count == 0)
    }

    @Test("with B = 0 the adapted attention's output is the pretrained one, bit for bit")
    func zeroStartKeepsTheModel() {
        var rng = Xoshiro256StarStar(seed: 8)
        let attention = MultiHeadSelfAttention<Double>(dimension: 6, heads: 3, rng: &rng)
        let x = randomMatrix(8, 6, seed: 9)
        let context = ForwardContext(isTraining: false, examples: 2)
        let before = attention.forward(x, context: context)
        attention.attach((0..<4).map { i in
            LoRAAdapter<Double>(inFeatures: 6, outFeatures: 6, rank: 3, alpha: 32, dropout: 0, dropoutSeed: 1, dropoutStream: UInt64(i), rng: &rng)
        })
        #expect(attention.forward(x, context: context) == before)
    }
}
