/// Which curvature K-FAC's gradient factor `G` estimates (docs/kfac.md#which-curvature-g-estimates).
public enum FisherType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// True Fisher: one extra backward pass with labels sampled from the model's predictive distribution
    /// (`OutputCurvature.sampledOutputGradient`). For MSE and softmax cross-entropy the true Fisher equals
    /// the generalised Gauss–Newton matrix in expectation over the sampled labels.
    case trueFisher = "true"
    /// Empirical Fisher: the gradients of the real labels (no extra pass). Biased; a baseline.
    case empirical
    /// Exact GGN factor ("type-2"): `d` extra backward passes with the columns of `Hₙ^{1/2}`
    /// (`OutputCurvature.squareRootColumn`) — the expectation the true Fisher samples. Deterministic; the
    /// factors of the exactness tests. Costs `d` backward passes (10 for Fashion-MNIST).
    case exactGGN = "ggn"

    public var description: String { rawValue }
}
