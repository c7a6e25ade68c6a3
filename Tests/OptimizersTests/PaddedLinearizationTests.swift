import Curvature
import Linalg
import NeuralNet
import Testing
import _TestSupport

/// The linearised model of a padded token batch (docs/lora.md#padding): a tiny BERT with frozen weights and
/// LoRA adapters on every projection, mean pooling and a head, linearised with the batch's position mask.
@Suite("Linearised model: padded token batches")
struct PaddedLinearizationTests {
    /// 2 blocks of width 4 (2 heads), vocabulary 12, 5 positions; base weights frozen, adapters with random `B`
    /// (a zero `B` would hide the `A` tangents), head trainable.
    static func model(seed: UInt64) -> Sequential<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        let config = BertConfiguration(vocabularySize: 12, hiddenSize: 4, layers: 2, heads: 2, intermediateSize: 6, maximumPositions: 5)
        let encoder = BertEncoder<Double>(config, length: 5, rng: &rng)
        for (_, p) in encoder.pretrainedParameters { p.freeze() }
        for (l, attention) in encoder.attentions.enumerated() {
            let adapters = (0..<4).map { i in
                LoRAAdapter<Double>(inFeatures: 4, outFeatures: 4, rank: 2, alpha: 4, dropout: 0.1, dropoutSeed: 1,
                                    dropoutStream: UInt64(4 * l + i), rng: &rng)
            }
            for a in adapters { a.up.weight.value = rng.normalMatrix(rows: 4, columns: 2) }
            attention.attach(adapters)
        }
        return Sequential(inputFeatures: 5, encoder.model.layers + [TokenPooling<Double>(.mean), Linear<Double>(4, 3, rng: &rng)])
    }

    /// Ids of 3 texts: lengths 5, 3 and 2 (then padding id 0), and their mask.
    static let ids = Matrix<Double>(rows: 3, columns: 5, storage: [2, 5, 7, 9, 3, 2, 8, 3, 0, 0, 2, 3, 0, 0, 0])
    static let mask = PositionMask(positions: 5, isReal: ids.storage.enumerated().map { $0.offset % 5 == 0 || $0.element != 0 })

    @Test("J v with the mask equals central differences of the masked outputs; without it, it does not")
    func tangentHonoursTheMask() throws {
        let model = Self.model(seed: 3)
        let lin = try LinearizedModel(model, input: Self.ids, positionMask: Self.mask)
        #expect(lin.parameterCount == 2 * 4 * 2 * (4 * 2) + 4 * 3 + 3)   // adapters' A and B, and the head
        var rng = Xoshiro256StarStar(seed: 4)
        let v: [Double] = (0..<lin.parameterCount).map { _ in rng.nextNormal() }
        let jv = v.withUnsafeBufferPointer { lin.jvp($0.baseAddress!) }
        let fd = centralDifferenceTangent(model, input: Self.ids, along: v, step: 1e-5, positionMask: Self.mask)
        // O(h²) truncation with h = 1e-5 on O(1) second derivatives: ~1e-10 relative, 1e-7 leaves room.
        #expect(relativeError(jv, fd) < 1e-7)
        // The unmasked model (padding attended and averaged) has other outputs and tangents: the mask matters here.
        let unmasked = try LinearizedModel(model, input: Self.ids)
        let jvUnmasked = v.withUnsafeBufferPointer { unmasked.jvp($0.baseAddress!) }
        #expect(relativeError(jvUnmasked, fd) > 1e-3)
    }

    @Test("a curvature batch carries its mask into the Gauss-Newton operator's linearisation")
    func curvatureBatchCarriesTheMask() throws {
        let model = Self.model(seed: 5)
        let loss = SoftmaxCrossEntropy<Double>()
        let value = loss.forward(model.forward(Self.ids, context: ForwardContext(isTraining: true, examples: 3, positionMask: Self.mask)),
                                 targets: [0, 1, 2])
        let batch = CurvatureBatch(model: model, input: Self.ids, loss: loss, targets: [0, 1, 2], lossValue: value, positionMask: Self.mask)
        #expect(batch.context(isTraining: false).positionMask == Self.mask)
        let f = GaussNewtonOperator(batch: batch, damping: 1)
        #expect(try f.linearize().positionMask == Self.mask)
        // The linearisation's forward pass is the masked inference pass.
        let masked = model.forward(Self.ids, context: ForwardContext(isTraining: false, examples: 3, positionMask: Self.mask))
        #expect(relativeError(f.linearization.output.storage, masked.storage) < 1e-14)
    }

    @Test("jacobianRows (one example at a time) equals batch VJPs with one non-zero row and restores the batch's caches")
    func jacobianRowsMatchBatchVJPs() throws {
        let model = Self.model(seed: 7)
        let lin = try LinearizedModel(model, input: Self.ids, positionMask: Self.mask)
        let (b, d, q, n) = (3, lin.outputDimension, 2, lin.parameterCount)
        var rng = Xoshiro256StarStar(seed: 8)
        let seeds: Matrix<Double> = rng.normalMatrix(rows: b * q, columns: d)
        func batchRow(_ r: Int) -> [Double] {
            var u = Matrix<Double>(rows: b, columns: d)
            for c in 0..<d { u[r / q, c] = 0.5 * seeds[r, c] }
            var row = [Double](repeating: 0, count: n)
            row.withUnsafeMutableBufferPointer { lin.vjp(u, into: $0.baseAddress!) }
            return row
        }
        let expected = (0..<(b * q)).map(batchRow)
        let rows = lin.jacobianRows(seeds: seeds, perExample: q, scale: 0.5)
        #expect(rows.rows == b * q && rows.columns == n)
        // One example's backward pass against the batch's: the same products, summed in another order (Double).
        #expect(relativeError(rows.storage, expected.flatMap { $0 }) < 1e-12)
        // Every row carries curvature (the padded examples too).
        #expect((0..<(b * q)).allSatisfy { r in (0..<n).contains { rows[r, $0] != 0 } })
        // The layers hold the batch's caches again: a batch VJP afterwards is the one before, bit for bit.
        #expect(batchRow(b * q - 1) == expected[b * q - 1])
    }

    @Test("the dense GGN of a padded batch (exact and Woodbury NGD) is the matrix-free operator's: the mask reaches the dense Jacobian")
    func denseFormsHonourTheMask() throws {
        let model = Self.model(seed: 9)
        let loss = SoftmaxCrossEntropy<Double>()
        let value = loss.forward(model.forward(Self.ids, context: ForwardContext(isTraining: true, examples: 3, positionMask: Self.mask)),
                                 targets: [0, 1, 2])
        let batch = CurvatureBatch(model: model, input: Self.ids, loss: loss, targets: [0, 1, 2], lossValue: value, positionMask: Self.mask)
        let f = GaussNewtonOperator(batch: batch, damping: 0.5)
        try f.linearize()
        let n = f.dimension
        var rng = Xoshiro256StarStar(seed: 10)
        let v: [Double] = (0..<n).map { _ in rng.nextNormal() }
        var matrixFree = [Double](repeating: 0, count: n), scratch = [Double](repeating: 0, count: n)
        v.withUnsafeBufferPointer { x in
            matrixFree.withUnsafeMutableBufferPointer { r in
                scratch.withUnsafeMutableBufferPointer { s in f.apply(x.baseAddress!, alpha: 1, beta: 0, into: r.baseAddress!, scratch: s.baseAddress!) }
            }
        }
        let dense = f.denseMatrix()
        let denseProduct = (0..<n).map { i in (0..<n).reduce(0.5 * v[i]) { $0 + dense[i, $1] * v[$1] } }
        // The same products summed in another order (Double): round-off only.
        #expect(relativeError(denseProduct, matrixFree) < 1e-10)
        // Without the mask (every position attended and pooled) the dense Jacobian differs: the test can fail.
        let unmasked = ModelJacobian.dense(model, input: Self.ids)
        let (masked, _) = f.denseJacobian()
        #expect(relativeError(unmasked.storage, masked.storage) > 1e-3)
    }
}
