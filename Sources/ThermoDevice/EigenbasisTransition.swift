import CBLAS
import Foundation
import Linalg

/// The exact Ornstein–Uhlenbeck transition over a step `h`, written in the eigenbasis of the programmed
/// matrix `A' = Q Λ Qᵀ` (symmetric: the couplings are reciprocal and the mismatch draws `η_ij = η_ji`, so the
/// realised matrix is exactly symmetric and `Q` orthogonal).
///
/// In modal coordinates `y = Qᵀx` the overdamped dynamics `dx = -(A'x − c) dt + sqrt(2/β) dW` decouples into
/// `n` scalar OU processes `dy_k = -(λ_k y_k − (Qᵀc)_k) dt + sqrt(2/β) dW_k` (the noise stays white because
/// `Q` is orthogonal), whose transition is exactly
/// `y_k ← d_k y_k + u_k + s_k z_k`, `d_k = e^{-λ_k h}`, `u_k = φ(λ_k)(Qᵀc)_k`, `φ(λ) = (1 − e^{-λh})/λ`,
/// `s_k² = (1 − e^{-2λ_k h})/(βλ_k)`, `z_k ~ N(0, 1)`:
/// the same law as the dense transition `x ← e^{-A'h}x + φ(A')c + Lz` (`.exact`), for O(n) work per chain step.
/// The input `c` enters through `u` only: the mean `A'⁻¹c` is reached by the dynamics, never formed.
public struct EigenbasisTransition<Scalar: BLASScalar>: Sendable {
    /// `Q` (`n × n`, columns are eigenvectors), row-major.
    public let basis: Matrix<Scalar>
    /// `λ_k`, ascending (1/τ).
    public let eigenvalues: [Double]
    /// Inverse temperature β.
    public let beta: Double
    /// Step `h` (τ).
    public let step: Double
    /// `d_k = e^{-λ_k h}`.
    let decay: [Scalar]
    /// `s_k = sqrt((1 − e^{-2λ_k h})/(βλ_k))`.
    let noise: [Scalar]
    /// Modal inputs `Qᵀc` per input row (`rows × n`), before the factor `φ(λ_k)`.
    let modalInput: Matrix<Scalar>
    /// `u = φ(λ) ∘ Qᵀc` per input row (`rows × n`).
    let drive: Matrix<Scalar>

    /// The transition for inputs `bias` (`rows × n`, device units: one row per right-hand side) over `h` τ.
    /// Cost: one GEMM `rows × n × n` (the inputs into the eigenbasis) and O(n) exponentials.
    public init(basis: Matrix<Scalar>, eigenvalues: [Double], beta: Double, bias: Matrix<Scalar>, step h: Double) {
        precondition(basis.isSquare && basis.rows == eigenvalues.count && bias.columns == basis.rows,
                     "EigenbasisTransition: basis n × n, n eigenvalues and inputs rows × n")
        let modal = bias.rows == 0 ? bias : BLAS.matmul(bias, basis)    // rows (Qᵀc)ᵀ = cᵀQ
        self.init(basis: basis, eigenvalues: eigenvalues, beta: beta, modalInput: modal, step: h)
    }

    private init(basis: Matrix<Scalar>, eigenvalues: [Double], beta: Double, modalInput: Matrix<Scalar>, step h: Double) {
        self.basis = basis
        self.eigenvalues = eigenvalues
        self.beta = beta
        self.step = h
        self.modalInput = modalInput
        decay = eigenvalues.map { Scalar(Foundation.exp(-$0 * h)) }
        noise = eigenvalues.map { l in Scalar((-Foundation.expm1(-2 * l * h) / (beta * l)).squareRoot()) }
        let phi = eigenvalues.map { l in -Foundation.expm1(-l * h) / l }
        var u = modalInput
        let n = eigenvalues.count
        u.withUnsafeMutableBufferPointer { p in
            phi.withUnsafeBufferPointer { f in
                // Row pointers, no bounds checks: the loop vectorises (the same products).
                guard let base = p.baseAddress, let f = f.baseAddress else { return }
                for r in 0..<modalInput.rows {
                    let row = base + r * n
                    for k in 0..<n { row[k] = Scalar(Double(row[k]) * f[k]) }
                }
            }
        }
        drive = u
    }

    /// The same basis and inputs over another step `h` (burn-in as one exact jump): O(n · rows).
    public func retimed(_ h: Double) -> EigenbasisTransition {
        EigenbasisTransition(basis: basis, eigenvalues: eigenvalues, beta: beta, modalInput: modalInput, step: h)
    }

    /// Device basis → modal: `Y ← X Q` for `rows` states (rows of `x`, leading dimension `ldx`).
    func toModal(_ x: UnsafePointer<Scalar>, rows: Int, ldx: Int, into y: UnsafeMutablePointer<Scalar>, ldy: Int) {
        let n = basis.rows
        basis.withUnsafeBufferPointer { q in
            Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(rows), Int32(n), Int32(n), 1, x, Int32(ldx),
                        q.baseAddress!, Int32(n), 0, y, Int32(ldy))
        }
    }

    /// Modal → device basis: `X ← Y Qᵀ` for `rows` states.
    func toDevice(_ y: UnsafePointer<Scalar>, rows: Int, ldy: Int, into x: UnsafeMutablePointer<Scalar>, ldx: Int) {
        let n = basis.rows
        basis.withUnsafeBufferPointer { q in
            Scalar.gemm(CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(n), 1, y, Int32(ldy),
                        q.baseAddress!, Int32(n), 0, x, Int32(ldx))
        }
    }

    /// A matrix from modal to device coordinates: `Q M Qᵀ` (two GEMMs; for moments accumulated in the eigenbasis).
    public func rotateToDevice(_ m: Matrix<Double>) -> Matrix<Double> {
        let q = convert(basis, to: Double.self)
        return BLAS.matmul(BLAS.matmul(q, m), q, transposeB: true)
    }

    /// One exact step of `chains` states stored as rows of `y` (leading dimension `ld`) with standard normals `z`
    /// (`chains × n`); chain `r` uses input row `r / chainsPerInputRow`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func advance(_ y: UnsafeMutablePointer<Scalar>, chains: Int, ld: Int, chainsPerInputRow per: Int,
                 noise z: UnsafePointer<Float>) {
        let n = basis.rows
        decay.withUnsafeBufferPointer { db in
            noise.withUnsafeBufferPointer { sb in
                drive.withUnsafeBufferPointer { ub in
                    let d = db.baseAddress!, s = sb.baseAddress!, u = ub.baseAddress!
                    for r in 0..<chains {
                        let yr = y + r * ld, ur = u + (r / per) * n, zr = z + r * n
                        for k in 0..<n { yr[k] = d[k] * yr[k] + ur[k] + s[k] * Scalar(zr[k]) }
                    }
                }
            }
        }
    }
}
