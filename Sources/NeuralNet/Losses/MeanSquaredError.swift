import Linalg

/// Mean squared error in the Gaussian-likelihood convention:
/// `ℓᵢ = ½ ‖yᵢ − tᵢ‖²`, `L = (1/b) Σᵢ ℓᵢ`, `∂L/∂yᵢ = (yᵢ − tᵢ) / b`.
///
/// Shapes: outputs and targets `b × d`. The predictive distribution is `N(yᵢ, I)`; `sampleTargets`
/// draws from it (true Fisher = GGN for this loss). Note the ½ and the sum over `d`: PyTorch's
/// `MSELoss` averages over all `b·d` entries without the ½ (`2/d` times this loss).
public final class MeanSquaredError<Scalar: NeuralScalar>: Loss {
    /// Outputs of the last forward pass.
    public private(set) var outputs = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ output: Matrix<Scalar>, targets: Matrix<Scalar>) -> Scalar {
        precondition(output.rows == targets.rows && output.columns == targets.columns,
                     "MSE: outputs \(output.rows)×\(output.columns) but targets \(targets.rows)×\(targets.columns)")
        precondition(output.rows > 0, "MSE needs a non-empty batch")
        outputs = output
        var d = output
        d.axpy(-1, targets)
        let n = d.frobeniusNorm
        return Scalar(0.5) * n * n / Scalar(output.rows)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gradient(targets: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(outputs.rows == targets.rows && outputs.columns == targets.columns, "MSE gradient: shape mismatch")
        var g = outputs
        g.axpy(-1, targets)
        g.scale(by: 1 / Scalar(outputs.rows))
        return g
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sampleTargets(using rng: inout Xoshiro256StarStar) -> Matrix<Scalar> {
        var t = outputs
        var noise = Matrix<Scalar>(rows: t.rows, columns: t.columns)
        noise.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        t.axpy(1, noise)
        return t
    }
}
