import RealModule

/// Factorisations and solves on LAPACKE, returning typed errors instead of LAPACK's `info` codes.
///
/// Symmetric routines run in column-major mode on the row-major storage with the triangle flipped
/// (row-major lower ≡ column-major upper), so no transposed copy is made. Inputs are checked for
/// NaN/∞ first: LAPACK's behaviour on non-finite input is unspecified.
public enum LAPACK {
    /// The lower-triangular Cholesky factor `L` of a symmetric positive-definite `A = L Lᵀ` (potrf).
    /// Only the lower triangle of `a` is read. Throws `.notPositiveDefinite` with the failing minor.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func cholesky<S: BLASScalar>(_ a: Matrix<S>) throws(LinalgError) -> CholeskyFactor<S> {
        try checkSquareFinite(a, "\(S.blasPrefix)potrf")
        var l = a
        let n = a.rows
        if n > 0 {
            let info = l.withUnsafeMutableBufferPointer { S.potrf(CChar(UInt8(ascii: "U")), Int32(n), $0.baseAddress!, Int32(n)) }
            try check(info, "\(S.blasPrefix)potrf", positive: { .notPositiveDefinite(routine: "\(S.blasPrefix)potrf", leadingMinor: $0) })
        }
        l.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for j in (i + 1)..<Swift.max(i + 1, n) { p[i * n + j] = 0 } }
        }
        return CholeskyFactor(lower: l)
    }

    /// `A⁻¹` of a symmetric positive-definite matrix by Cholesky (potrf + potri), fully symmetric.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func inverseSPD<S: BLASScalar>(_ a: Matrix<S>) throws(LinalgError) -> Matrix<S> {
        try cholesky(a).inverse()
    }

    /// Eigendecomposition `A = Q diag(λ) Qᵀ` of a symmetric matrix (syevd, divide and conquer).
    /// Returns eigenvalues in ascending order and `Q` with the eigenvectors as **columns**.
    /// Only the lower triangle of `a` is read.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func symmetricEigen<S: BLASScalar>(_ a: Matrix<S>) throws(LinalgError)
        -> (values: [S], vectors: Matrix<S>) {
        try checkSquareFinite(a, "\(S.blasPrefix)syevd")
        let n = a.rows
        guard n > 0 else { return ([], a) }
        var q = a
        var w = [S](repeating: 0, count: n)
        let info = q.withUnsafeMutableBufferPointer { qp in
            w.withUnsafeMutableBufferPointer { wp in
                S.syevd(CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), Int32(n), qp.baseAddress!, Int32(n), wp.baseAddress!)
            }
        }
        try check(info, "\(S.blasPrefix)syevd", positive: { .noConvergence(routine: "\(S.blasPrefix)syevd", info: $0) })
        // Column-major eigenvectors read row-major are Qᵀ: transpose to hand back Q.
        return (w, q.transposed())
    }

    /// Solves the general square system `A X = B` by LU with partial pivoting (gesv).
    /// `B` is `n × nrhs`; the result has the same shape.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func solve<S: BLASScalar>(_ a: Matrix<S>, _ b: Matrix<S>) throws(LinalgError) -> Matrix<S> {
        let routine = "\(S.blasPrefix)gesv"
        try checkSquareFinite(a, routine)
        guard b.rows == a.rows else {
            throw .dimensionMismatch(operation: routine, detail: "A is \(a.rows)×\(a.columns), B is \(b.rows)×\(b.columns)")
        }
        guard b.isFinite else { throw .nonFinite(operation: routine) }
        let n = a.rows
        guard n > 0, b.columns > 0 else { return b }
        var lu = a
        var x = b
        var pivots = [Int32](repeating: 0, count: n)
        let nrhs = b.columns
        let info = lu.withUnsafeMutableBufferPointer { ap in
            pivots.withUnsafeMutableBufferPointer { pp in
                x.withUnsafeMutableBufferPointer { xp in
                    S.gesvRowMajor(Int32(n), Int32(nrhs), ap.baseAddress!, Int32(n), pp.baseAddress!, xp.baseAddress!, Int32(nrhs))
                }
            }
        }
        try check(info, routine, positive: { .singular(routine: routine, pivot: $0) })
        return x
    }

    /// Solves `A x = b` for one right-hand side.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func solve<S: BLASScalar>(_ a: Matrix<S>, _ b: [S]) throws(LinalgError) -> [S] {
        try solve(a, Matrix(column: b)).storage
    }

    static func checkSquareFinite<S: BLASScalar>(_ a: Matrix<S>, _ routine: String) throws(LinalgError) {
        guard a.isSquare else {
            throw .dimensionMismatch(operation: routine, detail: "matrix must be square, got \(a.rows)×\(a.columns)")
        }
        guard a.isFinite else { throw .nonFinite(operation: routine) }
    }

    static func check(_ info: Int32, _ routine: String,
                      positive: (Int) -> LinalgError) throws(LinalgError) {
        if info < 0 { throw .illegalArgument(routine: routine, argument: Int(-info)) }
        if info > 0 { throw positive(Int(info)) }
    }
}

/// A Cholesky factorisation `A = L Lᵀ` with `L` lower-triangular (row-major, upper part zero).
public struct CholeskyFactor<Scalar: BLASScalar>: Sendable {
    /// The lower-triangular factor `L`.
    public let lower: Matrix<Scalar>

    /// Order of the factored matrix.
    public var order: Int { lower.rows }

    /// Solves `A X = B` (potrs) for `B` of shape `n × nrhs`.
    public func solve(_ b: Matrix<Scalar>) throws(LinalgError) -> Matrix<Scalar> {
        let routine = "\(Scalar.blasPrefix)potrs"
        let n = order
        guard b.rows == n else {
            throw .dimensionMismatch(operation: routine, detail: "factor is \(n)×\(n), B is \(b.rows)×\(b.columns)")
        }
        guard b.isFinite else { throw .nonFinite(operation: routine) }
        guard n > 0, b.columns > 0 else { return b }
        // potrs wants B column-major (n × nrhs): that is Bᵀ in row-major memory.
        var x = b.transposed()
        let nrhs = b.columns
        let info = lower.withUnsafeBufferPointer { lp in
            x.withUnsafeMutableBufferPointer { xp in
                Scalar.potrs(CChar(UInt8(ascii: "U")), Int32(n), Int32(nrhs), lp.baseAddress!, Int32(n), xp.baseAddress!, Int32(n))
            }
        }
        try LAPACK.check(info, routine, positive: { .singular(routine: routine, pivot: $0) })
        return x.transposed()
    }

    /// Solves `A x = b` for one right-hand side.
    public func solve(_ b: [Scalar]) throws(LinalgError) -> [Scalar] {
        try solve(Matrix(column: b)).storage
    }

    /// `A⁻¹` from the factor (potri), fully symmetric.
    public func inverse() throws(LinalgError) -> Matrix<Scalar> {
        let routine = "\(Scalar.blasPrefix)potri"
        var inv = lower
        let n = order
        guard n > 0 else { return inv }
        let info = inv.withUnsafeMutableBufferPointer {
            Scalar.potri(CChar(UInt8(ascii: "U")), Int32(n), $0.baseAddress!, Int32(n))
        }
        try LAPACK.check(info, routine, positive: { .singular(routine: routine, pivot: $0) })
        inv.symmetrizeFromLower()
        return inv
    }

    /// `log det A = 2 Σ log L_ii`.
    public var logDeterminant: Scalar {
        var s: Scalar = 0
        for i in 0..<order { s += Scalar(Double.log(Double(lower[i, i]))) }
        return 2 * s
    }
}
