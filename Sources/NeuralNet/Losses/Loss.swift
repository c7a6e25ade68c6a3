import Linalg

/// A loss `L = (1/b) Σᵢ ℓ(yᵢ, tᵢ)` over a batch of `b` model outputs `y` (rows) and targets `t`.
///
/// `forward` computes `L` and caches what the gradients need; `gradient(targets:)` returns `∂L/∂y`
/// (carrying the `1/b` of the mean, see `KroneckerCapture`) for *any* targets using that cache, so the
/// true-Fisher pass of K-FAC costs no second forward: `gradient(targets: sampleTargets(using:))`.
public protocol Loss<Scalar>: AnyObject {
    associatedtype Scalar: NeuralScalar
    associatedtype Target

    /// `L` for `output` (`b × d`) and `targets`; caches the output-side quantities.
    func forward(_ output: Matrix<Scalar>, targets: Target) -> Scalar
    /// `∂L/∂y` for `targets` at the output of the last `forward` (`b × d`).
    func gradient(targets: Target) -> Matrix<Scalar>
    /// Targets drawn from the model's predictive distribution at the last `forward` (for the true Fisher).
    func sampleTargets(using rng: inout Xoshiro256StarStar) -> Target
}
