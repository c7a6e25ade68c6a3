import CBLAS
import CLAPACKE

/// A floating-point type that BLAS and LAPACK can compute with: `Float` (the s-routines) or `Double`
/// (the d-routines). Every Thermograd kernel is generic over this protocol. A conforming type names its C routines
/// once, in a ``BLASRoutines`` table; the forwarding functions below (which add the storage-order argument) are
/// written once for both precisions, so a generic call costs one indirect call over calling OpenBLAS directly.
///
/// Matrices are row-major. Symmetric LAPACK routines are called in column-major mode with the
/// triangle flipped (a row-major lower triangle is a column-major upper one), which avoids the
/// transposed copy LAPACKE's row-major mode would make.
public protocol BLASScalar: BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The routine prefix, "s" or "d", used in error messages.
    static var blasPrefix: String { get }
    /// The CBLAS and LAPACKE routines of this precision.
    static var blasRoutines: BLASRoutines<Self> { get }
}

/// The C routines of one precision, as imported from OpenBLAS's CBLAS and LAPACKE headers. One table per
/// precision replaces a hand-written wrapper per routine and precision. (Swift closures, not `@convention(c)`
/// pointers: a C function pointer type cannot be generic over the scalar.)
public struct BLASRoutines<S>: Sendable {
    public typealias Gemm = @Sendable (CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32, S,
                                            UnsafePointer<S>?, Int32, UnsafePointer<S>?, Int32, S,
                                            UnsafeMutablePointer<S>?, Int32) -> Void
    public typealias Gemv = @Sendable (CBLAS_ORDER, CBLAS_TRANSPOSE, Int32, Int32, S, UnsafePointer<S>?, Int32,
                                            UnsafePointer<S>?, Int32, S, UnsafeMutablePointer<S>?, Int32) -> Void
    public typealias Syrk = @Sendable (CBLAS_ORDER, CBLAS_UPLO, CBLAS_TRANSPOSE, Int32, Int32, S,
                                            UnsafePointer<S>?, Int32, S, UnsafeMutablePointer<S>?, Int32) -> Void
    public typealias Axpy = @Sendable (Int32, S, UnsafePointer<S>?, Int32, UnsafeMutablePointer<S>?, Int32)
        -> Void
    public typealias Scal = @Sendable (Int32, S, UnsafeMutablePointer<S>?, Int32) -> Void
    public typealias Dot = @Sendable (Int32, UnsafePointer<S>?, Int32, UnsafePointer<S>?, Int32) -> S
    public typealias Nrm2 = @Sendable (Int32, UnsafePointer<S>?, Int32) -> S
    public typealias Potrf = @Sendable (Int32, CChar, Int32, UnsafeMutablePointer<S>?, Int32) -> Int32
    public typealias Potrs = @Sendable (Int32, CChar, Int32, Int32, UnsafePointer<S>?, Int32,
                                             UnsafeMutablePointer<S>?, Int32) -> Int32
    public typealias Syevd = @Sendable (Int32, CChar, CChar, Int32, UnsafeMutablePointer<S>?, Int32,
                                             UnsafeMutablePointer<S>?) -> Int32
    public typealias Gesv = @Sendable (Int32, Int32, Int32, UnsafeMutablePointer<S>?, Int32,
                                            UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<S>?, Int32) -> Int32

    public let gemm: Gemm, gemv: Gemv, syrk: Syrk, axpy: Axpy, scal: Scal, dot: Dot, nrm2: Nrm2
    public let potrf: Potrf, potrs: Potrs, potri: Potrf, syevd: Syevd, gesv: Gesv
}

extension Float: BLASScalar {
    public static var blasPrefix: String { "s" }
    public static let blasRoutines = BLASRoutines<Float>(
        gemm: cblas_sgemm, gemv: cblas_sgemv, syrk: cblas_ssyrk, axpy: cblas_saxpy, scal: cblas_sscal,
        dot: cblas_sdot, nrm2: cblas_snrm2, potrf: LAPACKE_spotrf, potrs: LAPACKE_spotrs, potri: LAPACKE_spotri,
        syevd: LAPACKE_ssyevd, gesv: LAPACKE_sgesv)
}

extension Double: BLASScalar {
    public static var blasPrefix: String { "d" }
    public static let blasRoutines = BLASRoutines<Double>(
        gemm: cblas_dgemm, gemv: cblas_dgemv, syrk: cblas_dsyrk, axpy: cblas_daxpy, scal: cblas_dscal,
        dot: cblas_ddot, nrm2: cblas_dnrm2, potrf: LAPACKE_dpotrf, potrs: LAPACKE_dpotrs, potri: LAPACKE_dpotri,
        syevd: LAPACKE_dsyevd, gesv: LAPACKE_dgesv)
}

// The forwarding functions, once for both precisions. BLAS level 1–3 in row-major order; LAPACK in column-major
// order (see the protocol's note); each LAPACK call returns LAPACK's `info`.
extension BLASScalar {
    @inlinable public static func gemm(_ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32,
                                       _ k: Int32, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int32,
                                       _ b: UnsafePointer<Self>, _ ldb: Int32, _ beta: Self,
                                       _ c: UnsafeMutablePointer<Self>, _ ldc: Int32) {
        blasRoutines.gemm(CblasRowMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    @inlinable public static func gemv(_ trans: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ alpha: Self,
                                       _ a: UnsafePointer<Self>, _ lda: Int32, _ x: UnsafePointer<Self>,
                                       _ incx: Int32, _ beta: Self, _ y: UnsafeMutablePointer<Self>, _ incy: Int32) {
        blasRoutines.gemv(CblasRowMajor, trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    @inlinable public static func syrk(_ uplo: CBLAS_UPLO, _ trans: CBLAS_TRANSPOSE, _ n: Int32, _ k: Int32,
                                       _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int32, _ beta: Self,
                                       _ c: UnsafeMutablePointer<Self>, _ ldc: Int32) {
        blasRoutines.syrk(CblasRowMajor, uplo, trans, n, k, alpha, a, lda, beta, c, ldc)
    }
    @inlinable public static func axpy(_ n: Int32, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int32,
                                       _ y: UnsafeMutablePointer<Self>, _ incy: Int32) {
        blasRoutines.axpy(n, alpha, x, incx, y, incy)
    }
    @inlinable public static func scal(_ n: Int32, _ alpha: Self, _ x: UnsafeMutablePointer<Self>, _ incx: Int32) {
        blasRoutines.scal(n, alpha, x, incx)
    }
    @inlinable public static func dot(_ n: Int32, _ x: UnsafePointer<Self>, _ incx: Int32,
                                      _ y: UnsafePointer<Self>, _ incy: Int32) -> Self {
        blasRoutines.dot(n, x, incx, y, incy)
    }
    @inlinable public static func nrm2(_ n: Int32, _ x: UnsafePointer<Self>, _ incx: Int32) -> Self {
        blasRoutines.nrm2(n, x, incx)
    }
    @inlinable public static func potrf(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Self>,
                                        _ lda: Int32) -> Int32 {
        blasRoutines.potrf(LAPACK_COL_MAJOR, uplo, n, a, lda)
    }
    @inlinable public static func potrs(_ uplo: CChar, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Self>,
                                        _ lda: Int32, _ b: UnsafeMutablePointer<Self>, _ ldb: Int32) -> Int32 {
        blasRoutines.potrs(LAPACK_COL_MAJOR, uplo, n, nrhs, a, lda, b, ldb)
    }
    @inlinable public static func potri(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Self>,
                                        _ lda: Int32) -> Int32 {
        blasRoutines.potri(LAPACK_COL_MAJOR, uplo, n, a, lda)
    }
    @inlinable public static func syevd(_ jobz: CChar, _ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Self>,
                                        _ lda: Int32, _ w: UnsafeMutablePointer<Self>) -> Int32 {
        blasRoutines.syevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w)
    }
    /// Row-major general solve `A X = B` (LU with partial pivoting).
    @inlinable public static func gesvRowMajor(_ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Self>,
                                               _ lda: Int32, _ ipiv: UnsafeMutablePointer<Int32>,
                                               _ b: UnsafeMutablePointer<Self>, _ ldb: Int32) -> Int32 {
        blasRoutines.gesv(LAPACK_ROW_MAJOR, n, nrhs, a, lda, ipiv, b, ldb)
    }
}
