import Linalg

/// A coupling matrix as the device realises it, ready to be sampled many times (programming is
/// paid once; TK-FAC's column-by-column solves reuse it).
///
/// Pipeline (docs/device.md#programming-a-matrix): check `A` (square, finite, symmetric, size) → bound `λ_max(A)`
/// without an eigendecomposition (`SpectralBound`) → scale `A' = α A` with `α = couplingRange / λ̂_max`
/// → DAC quantisation (plain or conservative) → component mismatch `a'_ij (1 + ε η_ij)`.
/// The simulator then knows the realised spectrum (one symmetric eigen-solve of the *physical*
/// matrix, never returned as an answer): it decides positive definiteness, step stability, the
/// relaxation time used for the default burn-in and the equilibration cost, and (for the exact
/// integrators) the transition operator or the eigenbasis the chains evolve in.
public struct ProgrammedMatrix<Scalar: BLASScalar>: Sendable {
    /// `n`.
    public let size: Int
    /// The scale α: the device holds `≈ α A`; estimates are unscaled with it.
    public let scale: Double
    /// The λ_max bound λ̂ used for the scaling (α = couplingRange / λ̂).
    public let lambdaBound: Double
    /// `α A` as intended (before quantisation and mismatch), in Double.
    public let nominal: Matrix<Double>
    /// The matrix the couplings realise (scaled, quantised, mismatched): the drift of the dynamics.
    public let realized: Matrix<Scalar>
    /// Eigenvalues of `realized`, ascending (device-side physics, in 1/τ).
    public let eigenvalues: [Double]
    /// Eigenvectors of `realized` as columns (only kept for the exact integrators).
    let eigenvectors: Matrix<Double>?
    /// The same in the simulation's precision (`.eigenbasis` only: the basis the chains evolve in).
    let modalBasis: Matrix<Scalar>?
    /// Relative Frobenius difference between `realized` and `nominal` (quantisation + mismatch).
    public let programmingError: Double
    /// What the coupling DAC did (nil for an ideal DAC).
    public let dacStatistics: DACStatistics?
    /// DAC transfer and programming cost of the couplings.
    public let programmingCost: DeviceCost

    /// Smallest realised eigenvalue (1/τ).
    public var lambdaMin: Double { eigenvalues.first ?? 0 }
    /// Largest realised eigenvalue (1/τ); at most ≈ the coupling range.
    public var lambdaMax: Double { eigenvalues.last ?? 0 }
    /// Relaxation time `1/λ_min` of the slowest mode, in τ.
    public var relaxationTime: Double { 1 / lambdaMin }
    /// Condition number of the realised matrix.
    public var conditionNumber: Double { lambdaMax / lambdaMin }
}

/// Bounds on the largest eigenvalue of a symmetric matrix that use only products with it.
public enum SpectralBoundEstimator {
    /// Gershgorin: `λ_max ≤ max_i Σ_j |a_ij|`.
    public static func gershgorin(_ a: Matrix<Double>) -> Double {
        var best = 0.0
        let (rows, columns) = (a.rows, a.columns)
        a.withUnsafeBufferPointer { p in
            // Row sums in the order j = 0, 1, … (a pointer loop instead of a closure-based reduce: the same sums).
            for i in 0..<rows {
                let row = p.baseAddress! + i * columns
                var sum = 0.0
                for j in 0..<columns { sum += abs(row[j]) }
                best = Swift.max(best, sum)
            }
        }
        return best
    }

    /// `iterations` power iterations from a fixed pseudo-random start vector: the final Rayleigh
    /// quotient `vᵀAv` (≤ λ_max, converging to it at rate `(λ_2/λ_1)^{2k}`).
    public static func powerIteration(_ a: Matrix<Double>, iterations: Int) -> Double {
        let n = a.rows
        var rng = Xoshiro256StarStar(seed: 0x5EED, stream: 7)
        var v = (0..<n).map { _ in 1 + 0.1 * rng.nextNormal() }
        var rayleigh = 0.0
        for _ in 0..<iterations {
            let norm = BLAS.norm(v)
            guard norm > 0 else { return 0 }
            BLAS.scal(1 / norm, &v)
            let w = BLAS.matvec(a, v)
            rayleigh = BLAS.dot(v, w)
            v = w
        }
        return rayleigh
    }
}
