import CBLAS
import Linalg

/// The few dense kernels K-FAC runs on every step, specialised for Float and Double and called on raw
/// buffers (the generic `Matrix` helpers cost ~100 ns per element when called unspecialised across
/// modules, which for a 785 × 785 factor is more than the BLAS work itself).
public enum FactorKernels {
    /// True when every entry is finite: `xᵀx` by one BLAS dot is finite exactly when no entry is NaN/∞
    /// and the squared norm does not overflow (an overflowing factor is treated as non-finite).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func isFinite<S: BLASScalar>(_ m: Matrix<S>) -> Bool {
        guard m.count > 0 else { return true }
        return m.withUnsafeBufferPointer { S.dot(Int32($0.count), $0.baseAddress!, 1, $0.baseAddress!, 1) }.isFinite
    }

    /// `α XᵀX` (`X` is `rows × n`, result `n × n`) by one `syrk`: fully symmetric, or with `lowerOnly` only
    /// the lower triangle (diagonal included; the upper one stays zero) for a caller that accumulates
    /// factors and mirrors once when they are read (`KFAC.factors`).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func gram<S: BLASScalar>(_ x: Matrix<S>, alpha: S, lowerOnly: Bool = false) -> Matrix<S> {
        let (k, n) = (x.rows, x.columns)
        var c = Matrix<S>(rows: n, columns: n)
        guard n > 0, k > 0 else { return c }
        x.withUnsafeBufferPointer { xp in
            c.withUnsafeMutableBufferPointer { cp in
                S.syrk(CblasLower, CblasTrans, Int32(n), Int32(k), alpha, xp.baseAddress!, Int32(n), 0, cp.baseAddress!, Int32(n))
            }
        }
        if !lowerOnly { mirrorLowerTriangle(&c) }
        return c
    }

    /// Copies the lower triangle onto the upper one, in cache-friendly tiles.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func mirrorLowerTriangle<S: BLASScalar>(_ m: inout Matrix<S>) {
        let n = m.rows
        let tile = 64
        m.withUnsafeMutableBufferPointer { p in
            let a = p.baseAddress!
            var ib = 0
            while ib < n {
                var jb = ib
                while jb < n {
                    for i in ib..<min(ib + tile, n) {
                        for j in max(jb, i + 1)..<max(min(jb + tile, n), i + 1) { a[i * n + j] = a[j * n + i] }
                    }
                    jb += tile
                }
                ib += tile
            }
        }
    }

    /// `(M + λI)⁻¹` of a symmetric matrix by Cholesky (potrf + potri) on raw buffers. Throws
    /// `.nonFinite` for NaN/∞ input and `.notPositiveDefinite` when the factorisation fails.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func dampedInverse<S: BLASScalar>(_ m: Matrix<S>, damping lambda: S) throws(LinalgError) -> Matrix<S> {
        let routine = "\(S.blasPrefix)potrf"
        guard m.isSquare else { throw .dimensionMismatch(operation: routine, detail: "factor is \(m.rows)×\(m.columns)") }
        guard isFinite(m), lambda.isFinite else { throw .nonFinite(operation: routine) }
        let n = m.rows
        var a = m
        guard n > 0 else { return a }
        let info: Int32 = a.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { p[i * n + i] += lambda }
            let f = S.potrf(CChar(UInt8(ascii: "U")), Int32(n), p.baseAddress!, Int32(n))
            return f != 0 ? f : S.potri(CChar(UInt8(ascii: "U")), Int32(n), p.baseAddress!, Int32(n))
        }
        if info < 0 { throw .illegalArgument(routine: routine, argument: Int(-info)) }
        if info > 0 { throw .notPositiveDefinite(routine: routine, leadingMinor: Int(info)) }
        mirrorLowerTriangle(&a)
        guard isFinite(a) else { throw .nonFinite(operation: "\(S.blasPrefix)potri") }
        return a
    }
}
