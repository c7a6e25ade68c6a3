/// How the GGN `F` and the gradient `∇ℓ` of a natural-gradient step are normalised over the batch.
public enum LossNormalization: String, Sendable, Equatable, Codable, CaseIterable, CustomStringConvertible {
    /// `F = J_fᵀ H_L J_f / b + λI`, `∇ℓ` of the mean loss (docs/tngd.md; the default).
    case mean
    /// `F = J_fᵀ H_L J_f + λI`, `∇ℓ` of the summed loss: `b` times the data term and the gradient. The
    /// mean readout becomes `(J_fᵀ H_L J_f / b + λ/b)⁻¹ ∇ℓ_mean` (damping effectively `λ/b`); on the TNGD
    /// device the relaxation is `b` times faster (so δt is cut `b`-fold), and the noise `κ0 F⁻¹` is `b` times
    /// smaller in every direction with curvature well above `λ/b` (unchanged, `κ0/λ`, in the null space).
    case sum
    public var description: String { rawValue }
}
