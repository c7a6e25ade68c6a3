import Linalg
import NeuralNet

/// The curvature of a loss in the model outputs at one batch, frozen as a value (so that later forward
/// passes cannot change it): what the generalised Gauss–Newton matrix `F = (1/b) Σₙ Jₙᵀ Hₙ Jₙ`
/// (docs/tngd.md#curvature) and the true Fisher need besides the model's Jacobian `Jₙ = ∂yₙ/∂θ`.
///
/// For both losses the negative log-likelihood's Hessian in `y` equals the Fisher of the predictive
/// distribution, so the true Fisher (labels sampled from the model) equals the GGN in expectation
/// (Martens 2020, §9.2): sampling is an unbiased, rank-one-per-example estimate of what `squareRootColumn`
/// gives exactly with `d` backward passes.
public enum OutputCurvature<Scalar: NeuralScalar>: Sendable {
    /// `ℓ = ½‖y − t‖²` (`MeanSquaredError`), predictive `N(y, I)`: `Hₙ = I`. Holds the outputs `b × d`.
    case gaussian(outputs: Matrix<Scalar>)
    /// Softmax cross-entropy, predictive `Categorical(p)`: `Hₙ = diag(pₙ) − pₙpₙᵀ`. Holds `p`, `b × C`.
    case categorical(probabilities: Matrix<Scalar>)
    /// Binary cross-entropy on one logit (`BinaryCrossEntropy`), predictive `Bernoulli(p)`:
    /// `Hₙ = cₙ pₙ(1 − pₙ)` with the class weight `cₙ` of the example's label (1 without weighting).
    /// Holds `p` and `c`, both `b × 1`.
    case bernoulli(probabilities: Matrix<Scalar>, weights: Matrix<Scalar>)

    private var values: Matrix<Scalar> {
        switch self {
        case let .gaussian(m), let .categorical(m), let .bernoulli(m, _): return m
        }
    }

    /// `Hₙ` of a Bernoulli output, `cₙ pₙ (1 − pₙ)`.
    private static func bernoulliHessian(_ p: Matrix<Scalar>, _ c: Matrix<Scalar>, _ n: Int) -> Scalar {
        c[n, 0] * p[n, 0] * (1 - p[n, 0])
    }

    /// Examples `b`.
    public var examples: Int { values.rows }
    /// Output dimension `d` (classes for cross-entropy).
    public var outputDimension: Int { values.columns }

    /// `Hₙ`, the `d × d` Hessian of `ℓₙ` in `yₙ` (no `1/b`).
    public func hessian(example n: Int) -> Matrix<Scalar> {
        switch self {
        case .gaussian: return .identity(outputDimension)
        case let .bernoulli(p, c): return Matrix(rows: 1, columns: 1, repeating: Self.bernoulliHessian(p, c, n))
        case let .categorical(p):
            let c = p.columns
            var h = Matrix<Scalar>(rows: c, columns: c)
            for i in 0..<c { for j in 0..<c { h[i, j] = (i == j ? p[n, i] : 0) - p[n, i] * p[n, j] } }
            return h
        }
    }

    /// Row `n` is `Hₙ vₙ` for `v` of shape `b × d` (no `1/b`).
    public func hessianProduct(_ v: Matrix<Scalar>) -> Matrix<Scalar> {
        precondition(v.rows == examples && v.columns == outputDimension, "hessianProduct: v is \(v.rows)×\(v.columns)")
        switch self {
        case .gaussian: return v
        case let .bernoulli(p, c):
            var out = v
            for n in 0..<p.rows { out[n, 0] *= Self.bernoulliHessian(p, c, n) }
            return out
        case let .categorical(p):
            // (diag(p) − ppᵀ) v = p ⊙ v − p (pᵀv), row by row.
            var out = v
            let c = p.columns
            p.withUnsafeBufferPointer { pp in
                out.withUnsafeMutableBufferPointer { op in
                    for n in 0..<p.rows {
                        let row = pp.baseAddress! + n * c
                        let o = op.baseAddress! + n * c
                        let pv = Scalar.dot(Int32(c), row, 1, o, 1)
                        for j in 0..<c { o[j] = row[j] * (o[j] - pv) }
                    }
                }
            }
            return out
        }
    }

    /// Column `k` of a square root `Hₙ = Cₙ Cₙᵀ` for every example, as an output gradient for `backward`:
    /// row `n` is `Cₙ[:, k]ᵀ / b` (the `1/b` of the mean loss, like every `∂L/∂y`). Summing the K-FAC
    /// gradient factors of the `d` backward passes with these gives the exact GGN factor ("type-2").
    /// Cross-entropy: `C = diag(√p) − p √pᵀ`, so column `k` is `√p_k (e_k − p)`. MSE: `C = I`.
    public func squareRootColumn(_ k: Int) -> Matrix<Scalar> {
        let (b, d) = (examples, outputDimension)
        precondition(k >= 0 && k < d, "squareRootColumn: \(k) outside 0..<\(d)")
        let invB = 1 / Scalar(b)
        var out = Matrix<Scalar>(rows: b, columns: d)
        switch self {
        case .gaussian:
            for n in 0..<b { out[n, k] = invB }
        case let .bernoulli(p, c):
            for n in 0..<b { out[n, 0] = Self.bernoulliHessian(p, c, n).squareRoot() * invB }
        case let .categorical(p):
            for n in 0..<b {
                let s = p[n, k].squareRoot() * invB
                for j in 0..<d { out[n, j] = -s * p[n, j] }
                out[n, k] += s
            }
        }
        return out
    }

    /// `∂L/∂y` (`b × d`, rows carrying `1/b`) for targets drawn from the model's predictive distribution:
    /// the output gradient of K-FAC's true-Fisher backward pass. Gaussian: `−z/b`, `z ~ N(0, I)`;
    /// categorical: `(pₙ − e_{t̃ₙ})/b`, `t̃ₙ ~ Categorical(pₙ)`.
    public func sampledOutputGradient(using rng: inout Xoshiro256StarStar) -> Matrix<Scalar> {
        sampledOutputGradient(using: &rng, offset: 0, globalExamples: examples)
    }
}

/// A loss whose output curvature is known in closed form.
public protocol CurvatureLoss<Scalar>: Loss {
    /// The curvature at the last `forward`.
    func outputCurvature() -> OutputCurvature<Scalar>
}

extension MeanSquaredError: CurvatureLoss {
    public func outputCurvature() -> OutputCurvature<Scalar> { .gaussian(outputs: outputs) }
}

extension BinaryCrossEntropy: CurvatureLoss {
    public func outputCurvature() -> OutputCurvature<Scalar> { .bernoulli(probabilities: probabilities, weights: weights) }
}

extension SoftmaxCrossEntropy: CurvatureLoss {
    public func outputCurvature() -> OutputCurvature<Scalar> { .categorical(probabilities: probabilities) }
}
