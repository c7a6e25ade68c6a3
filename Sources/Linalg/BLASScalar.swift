import CBLAS
import CLAPACKE

/// A floating-point type that BLAS and LAPACK can compute with: `Float` (the s-routines) or `Double`
/// (the d-routines). Every Thermograd kernel is generic over this protocol; each requirement forwards
/// to exactly one C routine, so a generic call costs nothing over calling OpenBLAS directly.
///
/// Matrices are row-major. Symmetric LAPACK routines are called in column-major mode with the
/// triangle flipped (a row-major lower triangle is a column-major upper one), which avoids the
/// transposed copy LAPACKE's row-major mode would make.
public protocol BLASScalar: BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The routine prefix, "s" or "d", used in error messages.
    static var blasPrefix: String { get }

    static func gemm(_ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32,
                     _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int32,
                     _ b: UnsafePointer<Self>, _ ldb: Int32,
                     _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
    static func gemv(_ trans: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ alpha: Self,
                     _ a: UnsafePointer<Self>, _ lda: Int32, _ x: UnsafePointer<Self>, _ incx: Int32,
                     _ beta: Self, _ y: UnsafeMutablePointer<Self>, _ incy: Int32)
    static func syrk(_ uplo: CBLAS_UPLO, _ trans: CBLAS_TRANSPOSE, _ n: Int32, _ k: Int32, _ alpha: Self,
                     _ a: UnsafePointer<Self>, _ lda: Int32, _ beta: Self,
                     _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
    static func axpy(_ n: Int32, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int32,
                     _ y: UnsafeMutablePointer<Self>, _ incy: Int32)
    static func scal(_ n: Int32, _ alpha: Self, _ x: UnsafeMutablePointer<Self>, _ incx: Int32)
    static func dot(_ n: Int32, _ x: UnsafePointer<Self>, _ incx: Int32,
                    _ y: UnsafePointer<Self>, _ incy: Int32) -> Self
    static func nrm2(_ n: Int32, _ x: UnsafePointer<Self>, _ incx: Int32) -> Self

    // LAPACK (column-major calls; see the type's note). Each returns LAPACK's `info`.
    static func potrf(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32) -> Int32
    static func potrs(_ uplo: CChar, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Self>, _ lda: Int32,
                      _ b: UnsafeMutablePointer<Self>, _ ldb: Int32) -> Int32
    static func potri(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32) -> Int32
    static func syevd(_ jobz: CChar, _ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32,
                      _ w: UnsafeMutablePointer<Self>) -> Int32
    /// Row-major general solve `A X = B` (LU with partial pivoting).
    static func gesvRowMajor(_ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Self>, _ lda: Int32,
                             _ ipiv: UnsafeMutablePointer<Int32>, _ b: UnsafeMutablePointer<Self>,
                             _ ldb: Int32) -> Int32
}

extension Float: BLASScalar {
    public static var blasPrefix: String { "s" }
    @inlinable public static func gemm(_ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32,
                                       _ k: Int32, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int32,
                                       _ b: UnsafePointer<Float>, _ ldb: Int32, _ beta: Float,
                                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int32) {
        cblas_sgemm(CblasRowMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    @inlinable public static func gemv(_ trans: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ alpha: Float,
                                       _ a: UnsafePointer<Float>, _ lda: Int32, _ x: UnsafePointer<Float>,
                                       _ incx: Int32, _ beta: Float, _ y: UnsafeMutablePointer<Float>, _ incy: Int32) {
        cblas_sgemv(CblasRowMajor, trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    @inlinable public static func syrk(_ uplo: CBLAS_UPLO, _ trans: CBLAS_TRANSPOSE, _ n: Int32, _ k: Int32,
                                       _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int32, _ beta: Float,
                                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int32) {
        cblas_ssyrk(CblasRowMajor, uplo, trans, n, k, alpha, a, lda, beta, c, ldc)
    }
    @inlinable public static func axpy(_ n: Int32, _ alpha: Float, _ x: UnsafePointer<Float>, _ incx: Int32,
                                       _ y: UnsafeMutablePointer<Float>, _ incy: Int32) {
        cblas_saxpy(n, alpha, x, incx, y, incy)
    }
    @inlinable public static func scal(_ n: Int32, _ alpha: Float, _ x: UnsafeMutablePointer<Float>, _ incx: Int32) {
        cblas_sscal(n, alpha, x, incx)
    }
    @inlinable public static func dot(_ n: Int32, _ x: UnsafePointer<Float>, _ incx: Int32,
                                      _ y: UnsafePointer<Float>, _ incy: Int32) -> Float {
        cblas_sdot(n, x, incx, y, incy)
    }
    @inlinable public static func nrm2(_ n: Int32, _ x: UnsafePointer<Float>, _ incx: Int32) -> Float {
        cblas_snrm2(n, x, incx)
    }
    @inlinable public static func potrf(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Float>,
                                        _ lda: Int32) -> Int32 {
        LAPACKE_spotrf(LAPACK_COL_MAJOR, uplo, n, a, lda)
    }
    @inlinable public static func potrs(_ uplo: CChar, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Float>,
                                        _ lda: Int32, _ b: UnsafeMutablePointer<Float>, _ ldb: Int32) -> Int32 {
        LAPACKE_spotrs(LAPACK_COL_MAJOR, uplo, n, nrhs, a, lda, b, ldb)
    }
    @inlinable public static func potri(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Float>,
                                        _ lda: Int32) -> Int32 {
        LAPACKE_spotri(LAPACK_COL_MAJOR, uplo, n, a, lda)
    }
    @inlinable public static func syevd(_ jobz: CChar, _ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Float>,
                                        _ lda: Int32, _ w: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_ssyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w)
    }
    @inlinable public static func gesvRowMajor(_ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Float>,
                                               _ lda: Int32, _ ipiv: UnsafeMutablePointer<Int32>,
                                               _ b: UnsafeMutablePointer<Float>, _ ldb: Int32) -> Int32 {
        LAPACKE_sgesv(LAPACK_ROW_MAJOR, n, nrhs, a, lda, ipiv, b, ldb)
    }
}

extension Double: BLASScalar {
    public static var blasPrefix: String { "d" }
    @inlinable public static func gemm(_ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32,
                                       _ k: Int32, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int32,
                                       _ b: UnsafePointer<Double>, _ ldb: Int32, _ beta: Double,
                                       _ c: UnsafeMutablePointer<Double>, _ ldc: Int32) {
        cblas_dgemm(CblasRowMajor, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    @inlinable public static func gemv(_ trans: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ alpha: Double,
                                       _ a: UnsafePointer<Double>, _ lda: Int32, _ x: UnsafePointer<Double>,
                                       _ incx: Int32, _ beta: Double, _ y: UnsafeMutablePointer<Double>,
                                       _ incy: Int32) {
        cblas_dgemv(CblasRowMajor, trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    @inlinable public static func syrk(_ uplo: CBLAS_UPLO, _ trans: CBLAS_TRANSPOSE, _ n: Int32, _ k: Int32,
                                       _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int32, _ beta: Double,
                                       _ c: UnsafeMutablePointer<Double>, _ ldc: Int32) {
        cblas_dsyrk(CblasRowMajor, uplo, trans, n, k, alpha, a, lda, beta, c, ldc)
    }
    @inlinable public static func axpy(_ n: Int32, _ alpha: Double, _ x: UnsafePointer<Double>, _ incx: Int32,
                                       _ y: UnsafeMutablePointer<Double>, _ incy: Int32) {
        cblas_daxpy(n, alpha, x, incx, y, incy)
    }
    @inlinable public static func scal(_ n: Int32, _ alpha: Double, _ x: UnsafeMutablePointer<Double>,
                                       _ incx: Int32) {
        cblas_dscal(n, alpha, x, incx)
    }
    @inlinable public static func dot(_ n: Int32, _ x: UnsafePointer<Double>, _ incx: Int32,
                                      _ y: UnsafePointer<Double>, _ incy: Int32) -> Double {
        cblas_ddot(n, x, incx, y, incy)
    }
    @inlinable public static func nrm2(_ n: Int32, _ x: UnsafePointer<Double>, _ incx: Int32) -> Double {
        cblas_dnrm2(n, x, incx)
    }
    @inlinable public static func potrf(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Double>,
                                        _ lda: Int32) -> Int32 {
        LAPACKE_dpotrf(LAPACK_COL_MAJOR, uplo, n, a, lda)
    }
    @inlinable public static func potrs(_ uplo: CChar, _ n: Int32, _ nrhs: Int32, _ a: UnsafePointer<Double>,
                                        _ lda: Int32, _ b: UnsafeMutablePointer<Double>, _ ldb: Int32) -> Int32 {
        LAPACKE_dpotrs(LAPACK_COL_MAJOR, uplo, n, nrhs, a, lda, b, ldb)
    }
    @inlinable public static func potri(_ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Double>,
                                        _ lda: Int32) -> Int32 {
        LAPACKE_dpotri(LAPACK_COL_MAJOR, uplo, n, a, lda)
    }
    @inlinable public static func syevd(_ jobz: CChar, _ uplo: CChar, _ n: Int32, _ a: UnsafeMutablePointer<Double>,
                                        _ lda: Int32, _ w: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w)
    }
    @inlinable public static func gesvRowMajor(_ n: Int32, _ nrhs: Int32, _ a: UnsafeMutablePointer<Double>,
                                               _ lda: Int32, _ ipiv: UnsafeMutablePointer<Int32>,
                                               _ b: UnsafeMutablePointer<Double>, _ ldb: Int32) -> Int32 {
        LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, a, lda, ipiv, b, ldb)
    }
}
