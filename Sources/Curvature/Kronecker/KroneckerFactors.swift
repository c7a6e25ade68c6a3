import Linalg
import NeuralNet

/// How a layer applied at several positions with shared weights (sequences, graphs, convolution
/// patches) turns its `examples · positions` rows into Kronecker factors (Eschenhagen et al., "Kronecker-
/// Factored Approximate Curvature for Modern Neural Network Architectures", NeurIPS 2023; docs/kfac.md#weight-sharing-expand-and-reduce).
///
/// With `b` examples, `R` positions, activation rows `ā_{n,r}` and output-gradient rows `g_{n,r}` (which
/// carry the `1/b` of the mean loss, see `KroneckerCapture`):
/// - `expand`: every position is an extra example,
///   `A = (1/(bR)) Σ_{n,r} ā_{n,r} ā_{n,r}ᵀ`, `G = b Σ_{n,r} g_{n,r} g_{n,r}ᵀ`.
///   For `Conv2d` this is KFC (Grosse & Martens 2016) up to a scale `R` moved from `G` to `A`, which the
///   π-corrected damping absorbs exactly, so the preconditioned gradient is the same.
/// - `reduce`: positions are aggregated first, `â_n = (1/R) Σ_r ā_{n,r}`, `ĝ_n = Σ_r g_{n,r}`,
///   `A = (1/b) Σ_n â_n â_nᵀ`, `G = b Σ_n ĝ_n ĝ_nᵀ`.
///
/// For `R = 1` both are the same. With inputs identical across positions the two `A` agree; the two
/// `G` agree as well when each example's gradient lives at a single position (no cross terms).
public enum WeightSharingApproximation: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case expand
    case reduce
    public var description: String { rawValue }
}

/// The Kronecker factors of one layer's Fisher block `F_ℓ ≈ A_ℓ ⊗ G_ℓ` (docs/kfac.md#factors).
///
/// - `activation` `A`: `(in + 1) × (in + 1)` with the bias folded in as the last coordinate of `ā`
///   (`in × in` without a bias).
/// - `gradient` `G`: `out × out`.
///
/// With the weight and bias gradients laid out as one `out × (in + 1)` matrix `[∇W, ∇b]` and vectorised
/// row by row, the Fisher block is `G ⊗ A` and the natural gradient is `G⁻¹ [∇W, ∇b] A⁻¹`.
public struct KroneckerFactors<Scalar: BLASScalar>: Sendable, Codable, Equatable {
    public var activation: Matrix<Scalar>
    public var gradient: Matrix<Scalar>

    public init(activation: Matrix<Scalar>, gradient: Matrix<Scalar>) {
        precondition(activation.isSquare && gradient.isSquare, "Kronecker factors must be square")
        self.activation = activation
        self.gradient = gradient
    }

    /// `A ⊗ G` sizes: `(in + 1, out)`.
    public var dimensions: (activation: Int, gradient: Int) { (activation.rows, gradient.rows) }

    /// Exponential moving average `F ← ρ F + (1 − ρ) F_new` of both factors (`decay` = ρ ∈ [0, 1)).
    public mutating func blend(with fresh: KroneckerFactors, decay: Scalar) {
        activation.scale(by: decay)
        activation.axpy(1 - decay, fresh.activation)
        gradient.scale(by: decay)
        gradient.axpy(1 - decay, fresh.gradient)
    }

    /// Copies both factors' lower triangles onto their upper ones (after updates that wrote only the lower
    /// triangles, `KroneckerFactorComputation.batchFactors(lowerOnly: true)`).
    public mutating func mirrorLowerTriangles() {
        FactorKernels.mirrorLowerTriangle(&activation)
        FactorKernels.mirrorLowerTriangle(&gradient)
    }

    /// Both factors finite (no NaN/∞) — a factor that is not must never enter the running average.
    public var isFinite: Bool { FactorKernels.isFinite(activation) && FactorKernels.isFinite(gradient) }

    /// The dense Fisher block `G ⊗ A` in the row-major vectorisation of `[∇W, ∇b]` (tests and small models
    /// only: `(out·(in+1))²` entries).
    public func denseBlock() -> Matrix<Scalar> {
        let (na, ng) = (activation.rows, gradient.rows)
        let n = na * ng
        var f = Matrix<Scalar>(rows: n, columns: n)
        for i in 0..<ng { for k in 0..<ng {
            let gik = gradient[i, k]
            for j in 0..<na { for l in 0..<na { f[i * na + j, k * na + l] = gik * activation[j, l] } }
        } }
        return f
    }
}

/// Factor maths for one captured layer (the "per layer type" helper of kfac-pytorch): the activation
/// factor from `ā`, the gradient factor from `g`, under a weight-sharing approximation.
public enum KroneckerFactorComputation {
    /// `A` from the capture's activations (bias folded in), see `WeightSharingApproximation`.
    /// Shape `(in + 1) × (in + 1)` (or `in × in` without bias). One `syrk`; `lowerOnly`: see `FactorKernels.gram`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func activationFactor<S: BLASScalar>(_ capture: KroneckerCapture<S>,
                                                      approximation: WeightSharingApproximation,
                                                      lowerOnly: Bool = false) -> Matrix<S> {
        let abar = capture.augmentedActivations()
        let (b, r) = (capture.examples, capture.positions)
        // Expand divides by the total row count b·R (Σ_n R_n with per-example row counts).
        if approximation == .expand || (r == 1 && capture.rowOffsets == nil) {
            return FactorKernels.gram(abar, alpha: 1 / S(abar.rows), lowerOnly: lowerOnly)
        }
        if let offsets = capture.rowOffsets {
            return FactorKernels.gram(sumOverSegments(abar, offsets: offsets, mean: true), alpha: 1 / S(b), lowerOnly: lowerOnly)
        }
        return FactorKernels.gram(sumOverPositions(abar, examples: b, positions: r, scale: 1 / S(r)), alpha: 1 / S(b), lowerOnly: lowerOnly)
    }

    /// `G` from output gradients `g` (`(b·R) × out`, rows carrying `1/b`), see `WeightSharingApproximation`.
    /// Shape `out × out`. One `syrk`; `lowerOnly`: see `FactorKernels.gram`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    /// With `rowOffsets` (per-example row counts `R_n`, graphs), reduce sums each example's own rows.
    public static func gradientFactor<S: BLASScalar>(_ g: Matrix<S>, examples b: Int,
                                                    approximation: WeightSharingApproximation,
                                                    rowOffsets: [Int]? = nil, lowerOnly: Bool = false) -> Matrix<S> {
        if approximation == .expand { return FactorKernels.gram(g, alpha: S(b), lowerOnly: lowerOnly) }
        if let rowOffsets {
            return FactorKernels.gram(sumOverSegments(g, offsets: rowOffsets, mean: false), alpha: S(b), lowerOnly: lowerOnly)
        }
        precondition(g.rows % b == 0, "gradient factor: \(g.rows) rows for \(b) examples")
        let r = g.rows / b
        if r == 1 { return FactorKernels.gram(g, alpha: S(b), lowerOnly: lowerOnly) }
        return FactorKernels.gram(sumOverPositions(g, examples: b, positions: r, scale: 1), alpha: S(b), lowerOnly: lowerOnly)
    }

    /// `Σ_{r ∈ n} x_r` over each example's rows `offsets[n] ..< offsets[n + 1]` (divided by their count when
    /// `mean`; an example without rows gives zeros); shape `examples × columns`.
    static func sumOverSegments<S: BLASScalar>(_ x: Matrix<S>, offsets: [Int], mean: Bool) -> Matrix<S> {
        let c = x.columns, b = offsets.count - 1
        var out = Matrix<S>(rows: b, columns: c)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                for n in 0..<b where offsets[n + 1] > offsets[n] {
                    let scale: S = mean ? 1 / S(offsets[n + 1] - offsets[n]) : 1
                    for r in offsets[n]..<offsets[n + 1] { S.axpy(Int32(c), scale, xp.baseAddress! + r * c, 1, op.baseAddress! + n * c, 1) }
                }
            }
        }
        return out
    }

    /// `scale · Σ_r x_{n,r}` for rows ordered example-major (`row = n·R + r`); shape `b × columns`.
    static func sumOverPositions<S: BLASScalar>(_ x: Matrix<S>, examples b: Int, positions r: Int, scale: S) -> Matrix<S> {
        let c = x.columns
        var out = Matrix<S>(rows: b, columns: c)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                for n in 0..<b {
                    let dst = op.baseAddress! + n * c
                    for p in 0..<r { S.axpy(Int32(c), scale, xp.baseAddress! + (n * r + p) * c, 1, dst, 1) }
                }
            }
        }
        return out
    }
}
