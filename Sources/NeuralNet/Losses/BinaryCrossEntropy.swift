import Linalg

/// Binary cross-entropy on logits, numerically stable (docs/gnn.md#loss-and-imbalance): one logit `zₙ` per
/// example, `pₙ = σ(zₙ)`, label `yₙ ∈ {0, 1}`, and a weight `c_y` per class (`c₁ = positiveWeight`, `c₀ = 1`):
///
///     ℓₙ = c₁ yₙ softplus(−zₙ) + (1 − yₙ) softplus(zₙ),   L = (1/b) Σ ℓₙ,   ∂L/∂zₙ = c_{yₙ} (pₙ − yₙ) / b
///
/// with `softplus(x) = max(x, 0) + log(1 + e^{−|x|})`. Shapes: logits `b × 1`, targets `b` labels.
/// `positiveWeight = 1` is the plain Bernoulli negative log-likelihood.
public final class BinaryCrossEntropy<Scalar: NeuralScalar>: Loss {
    public let positiveWeight: Scalar
    /// `p = σ(z)` of the last forward pass (`b × 1`).
    public private(set) var probabilities = Matrix<Scalar>(rows: 0, columns: 0)
    /// `c_{yₙ}` of the last forward pass's labels (`b × 1`).
    public private(set) var weights = Matrix<Scalar>(rows: 0, columns: 0)

    public init(positiveWeight: Scalar = 1) {
        precondition(positiveWeight > 0 && positiveWeight.isFinite, "BCE: the positive weight must be positive and finite")
        self.positiveWeight = positiveWeight
    }

    static func softplus(_ x: Scalar) -> Scalar { max(x, 0) + Scalar.logarithm(1 + Scalar.exponential(-abs(x))) }

    public func forward(_ logits: Matrix<Scalar>, targets: [Int]) -> Scalar {
        let b = logits.rows
        precondition(logits.columns == 1 && targets.count == b && b > 0,
                     "BCE: needs b × 1 logits and b labels, got \(logits.rows)×\(logits.columns) and \(targets.count)")
        var p = Matrix<Scalar>(rows: b, columns: 1), c = p
        var total: Scalar = 0
        for n in 0..<b {
            let z = logits[n, 0], y = targets[n]
            precondition(y == 0 || y == 1, "BCE: label \(y) is not 0 or 1")
            p[n, 0] = 1 / (1 + Scalar.exponential(-z))
            c[n, 0] = y == 1 ? positiveWeight : 1
            total += y == 1 ? positiveWeight * Self.softplus(-z) : Self.softplus(z)
        }
        probabilities = p
        weights = c
        return total / Scalar(b)
    }

    public func gradient(targets: [Int]) -> Matrix<Scalar> {
        let b = probabilities.rows
        precondition(targets.count == b, "BCE gradient: \(b) rows but \(targets.count) labels")
        var g = Matrix<Scalar>(rows: b, columns: 1)
        for n in 0..<b {
            let y = targets[n]
            g[n, 0] = (y == 1 ? positiveWeight : 1) * (probabilities[n, 0] - Scalar(y)) / Scalar(b)
        }
        return g
    }

    public func sampleTargets(using rng: inout Xoshiro256StarStar) -> [Int] {
        (0..<probabilities.rows).map { n in Scalar(rng.nextUniform()) < probabilities[n, 0] ? 1 : 0 }
    }
}
