import Linalg
import NeuralNet

extension KroneckerFactorComputation {
    /// The fresh (not averaged) factors of every captured block for one batch, after the ordinary forward
    /// and backward passes with capture on. A block with several uses contributes the merged capture of
    /// its uses (`KroneckerBlock.capture`).
    ///
    /// - `A_ℓ` from the captured activations of the forward pass.
    /// - `G_ℓ` by `fisher`: `.empirical` uses the captured gradients of the real labels; `.trueFisher` runs
    ///   one more backward with `curvature.sampledOutputGradient`; `.exactGGN` sums `G` over `d` backward
    ///   passes with the columns of `Hₙ^{1/2}` (`curvature.squareRootColumn`). The extra passes do not
    ///   touch the parameter gradients. Without `curvature`, `.empirical` is used.
    ///
    /// For one example and positions = 1, `.exactGGN` gives `G ⊗ A` equal to the layer's exact GGN block;
    /// for deep linear networks with MSE it is exact for any batch (the same `Bᵀ B` for every example).
    /// With `shard` (a data-parallel step) the factors are this rank's part's; the true Fisher's labels are
    /// the ones one process draws for those rows. With `lowerOnly` only the lower triangles are written
    /// (the upper ones are zero; `KroneckerFactors.mirrorLowerTriangles` completes them).
    public static func batchFactors<S: NeuralScalar>(
        blocks: [KroneckerBlock<S>], model: Sequential<S>,
        curvature: OutputCurvature<S>?, fisher: FisherType,
        approximation: (String) -> WeightSharingApproximation = { _ in .expand },
        rng: inout Xoshiro256StarStar,
        shard: CurvatureShard? = nil,
        lowerOnly: Bool = false
    ) -> [String: KroneckerFactors<S>] {
        var activation: [String: Matrix<S>] = [:]
        for block in blocks {
            if let c = block.capture { activation[block.name] = activationFactor(c, approximation: approximation(block.name), lowerOnly: lowerOnly) }
        }
        var gradient: [String: Matrix<S>] = [:]
        func accumulate() {
            for block in blocks {
                guard let c = block.capture else { continue }
                let g = gradientFactor(c.outputGradients, examples: c.examples, approximation: approximation(block.name),
                                       rowOffsets: c.rowOffsets, lowerOnly: lowerOnly)
                if gradient[block.name] != nil { gradient[block.name]!.axpy(1, g) } else { gradient[block.name] = g }
            }
        }
        let noParameterGradients = BackwardOptions(parameterGradients: false, inputGradient: false)
        switch (fisher, curvature) {
        case (.trueFisher, let h?):
            // In a data-parallel step every rank draws the global batch's labels and keeps its part's.
            let sampled = shard.map { h.sampledOutputGradient(using: &rng, offset: $0.offset, globalExamples: $0.globalCount) }
                ?? h.sampledOutputGradient(using: &rng)
            _ = model.backward(sampled, options: noParameterGradients)
            accumulate()
        case (.exactGGN, let h?):
            for k in 0..<h.outputDimension {
                _ = model.backward(h.squareRootColumn(k), options: noParameterGradients)
                accumulate()
            }
        default:
            accumulate()
        }
        var out: [String: KroneckerFactors<S>] = [:]
        for (name, a) in activation {
            if let g = gradient[name] { out[name] = KroneckerFactors(activation: a, gradient: g) }
        }
        return out
    }
}
