import Linalg

/// Jacobi (diagonal) equilibration of a damped factor before it is programmed (docs/device.md#equilibrated-programming).
///
/// With `S = diag(s)`, `s_i = 1/√M_ii`, the device is programmed with `M̃ = S M S` — unit diagonal, every
/// off-diagonal in `[−1, 1]` for a PSD `M` — and its answers are mapped back digitally:
///
///     M⁻¹ = S M̃⁻¹ S          (Method 1: the device inverse, O(n²))
///     M x = b  ⇔  M̃ y = S b,  x = S y   (Method 2: each right-hand side and solution, O(n))
///
/// Why: an auto-ranged DAC's step is `Δ = max|M_ij| / 2^(bits−1)`, set by the largest diagonal entry, and the
/// PSD-preserving quantisation shifts the diagonal by about `nΔ/4` (`QuantizationScheme.conservative`). When the
/// diagonal spans orders of magnitude (activation factors: dead inputs; GNN factors) that shift is a large
/// fraction of the *mean* diagonal and acts as extra damping. After equilibration `Δ = 2^(1−bits)` relative to
/// every diagonal entry. Exact for ideal converters (the map is a congruence); it costs no device time.
public struct DiagonalEquilibration<Scalar: BLASScalar>: Sendable, Equatable {
    /// `s_i = 1/√M_ii` (the scaling of LAPACK's `xPOEQU`, one line, so computed here); 1 where `M_ii` is not positive and finite (such a matrix is then refused by the device's
    /// own checks, unchanged).
    public let scales: [Scalar]
    /// `1/s_i = √M_ii`, kept so that mapping warm starts (every Method 2 step) allocates no reciprocals.
    private let inverseScales: [Scalar]

    /// The scales of a square matrix `m` from its diagonal.
    public init(diagonalOf m: Matrix<Scalar>) {
        precondition(m.isSquare, "DiagonalEquilibration needs a square matrix, got \(m.rows)×\(m.columns)")
        scales = m.diagonalElements.map { d in d > 0 && d.isFinite ? 1 / d.squareRoot() : 1 }
        inverseScales = scales.map { 1 / $0 }
    }

    /// `S m S`: equilibrates a factor before programming, and maps a device inverse of `S M S` back to `M⁻¹`
    /// (the same congruence).
    public func congruence(_ m: Matrix<Scalar>) -> Matrix<Scalar> {
        let n = scales.count
        precondition(m.rows == n && m.columns == n, "DiagonalEquilibration: \(m.rows)×\(m.columns) matrix for \(n) scales")
        var out = m
        scales.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { p in
                for i in 0..<n {
                    let si = s[i], row = p.baseAddress! + i * n
                    for j in 0..<n { row[j] = row[j] * si * s[j] }
                }
            }
        }
        return out
    }

    /// Right-hand sides or solutions held as rows (`k × n`): every row multiplied element-wise by `s`
    /// (`b → S b` before a solve, `y → S y` after it).
    public func scaledRows(_ rows: Matrix<Scalar>) -> Matrix<Scalar> { Self.multiplyRows(rows, by: scales) }

    /// Rows divided element-wise by `s` (`x → S⁻¹ x`: a warm start in the original coordinates into the
    /// equilibrated ones).
    public func unscaledRows(_ rows: Matrix<Scalar>) -> Matrix<Scalar> { Self.multiplyRows(rows, by: inverseScales) }

    /// Every row of `rows` multiplied element-wise by `factors`.
    private static func multiplyRows(_ rows: Matrix<Scalar>, by factors: [Scalar]) -> Matrix<Scalar> {
        let n = factors.count
        precondition(rows.columns == n, "DiagonalEquilibration: rows of length \(rows.columns) for \(n) scales")
        var out = rows
        factors.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows.rows {
                    let row = p.baseAddress! + r * n
                    for j in 0..<n { row[j] *= s[j] }
                }
            }
        }
        return out
    }
}
