import Linalg

extension TrainingConfiguration {
    /// A lower bound, in bytes, of what a run of this configuration allocates: the data set (`examples` images
    /// of `features` Float pixels), the MLP's weights and gradients (`P = Σ (nᵢ + 1)·nᵢ₊₁` Floats each), the
    /// optimiser's state (momentum: P; Adam: 2P; K-FAC: the factors `(nᵢ + 1)² + nᵢ₊₁²`, their inverses and EMA
    /// copies, three of each; TNGD: the `b·d_z × P` Jacobian) and the activations of one batch (three Floats
    /// per unit: output, pre-activation, gradient). Checked against `SystemMemory` before anything is
    /// allocated, so that `--hidden 1000000000` is refused with numbers instead of a trap in `malloc`.
    /// Counted in Double: widths whose products overflow Int give a huge estimate, not a crash. The CNNs have
    /// fixed sizes, so only their data is counted.
    public func estimatedMemoryBytes(examples: Int = 70_000, features: Int = 784) -> Double {
        let float = 4.0
        var bytes = Double(examples) * Double(features) * float
        guard model == .mlp else { return bytes }
        let widths = mlpSizes.map(Double.init)
        var parameters = 0.0, factors = 0.0
        for (a, b) in zip(widths, widths.dropFirst()) {
            parameters += (a + 1) * b
            factors += (a + 1) * (a + 1) + b * b
        }
        let inner = optimizer.isCurvatureBased ? curvatureInner : optimizer
        var state = inner == .sgd ? parameters : 2 * parameters
        if optimizer == .kfac || optimizer == .tkfac { state += 3 * factors }
        if optimizer.isThermodynamicNaturalGradient { state += Double(batchSize) * (widths.last ?? 1) * parameters }
        let activations = 3 * Double(batchSize) * widths.reduce(0, +)
        bytes += float * (2 * parameters + state + activations)
        return bytes
    }
}
