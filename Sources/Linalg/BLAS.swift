import CBLAS

/// Matrix–matrix and matrix–vector products on OpenBLAS, for `Matrix` values.
///
/// Shapes are checked up front (a mismatch is a programming error and traps with a message); the
/// routines themselves cannot fail. For hot loops over preallocated buffers call the `BLASScalar`
/// requirements (`Scalar.gemm(…)`) directly with pointers.
public enum BLAS {
    /// `C ← α op(A) op(B) + β C` (gemm), where `op(X)` is `X` or `Xᵀ`.
    /// Shapes: `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`.
    @inlinable
    public static func gemm<S: BLASScalar>(_ a: Matrix<S>, transposeA: Bool = false,
                                           _ b: Matrix<S>, transposeB: Bool = false,
                                           alpha: S = 1, beta: S = 0, into c: inout Matrix<S>) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        precondition(k == kb && c.rows == m && c.columns == n,
                     "gemm: op(A) \(m)×\(k), op(B) \(kb)×\(n), C \(c.rows)×\(c.columns) do not fit")
        guard m > 0, n > 0 else { return }
        if k == 0 { c.scale(by: beta); return }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    S.gemm(transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                           Int32(m), Int32(n), Int32(k), alpha,
                           ap.baseAddress!, Int32(a.columns), bp.baseAddress!, Int32(b.columns),
                           beta, cp.baseAddress!, Int32(n))
                }
            }
        }
    }

    /// `op(A) op(B)` as a new matrix.
    @inlinable
    public static func matmul<S: BLASScalar>(_ a: Matrix<S>, transposeA: Bool = false,
                                             _ b: Matrix<S>, transposeB: Bool = false) -> Matrix<S> {
        let (m, k, n) = (transposeA ? a.columns : a.rows, transposeA ? a.rows : a.columns, transposeB ? b.rows : b.columns)
        precondition(k == (transposeB ? b.columns : b.rows), "matmul: op(A) \(m)×\(k), op(B) do not fit: B is \(b.rows)×\(b.columns)")
        guard m > 0, n > 0, k > 0 else { return Matrix(rows: m, columns: n) }
        // gemm with β = 0 writes every entry of C without reading it: no zeroing pass first.
        return Matrix(rows: m, columns: n) { cp in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    S.gemm(transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                           Int32(m), Int32(n), Int32(k), 1, ap.baseAddress!, Int32(a.columns), bp.baseAddress!,
                           Int32(b.columns), 0, cp.baseAddress!, Int32(n))
                }
            }
        }
    }

    /// `y ← α op(A) x + β y` (gemv). `op(A)` is `m × n`, `x` has `n` elements, `y` has `m`.
    @inlinable
    public static func gemv<S: BLASScalar>(_ a: Matrix<S>, transpose: Bool = false, _ x: [S],
                                           alpha: S = 1, beta: S = 0, into y: inout [S]) {
        let m = transpose ? a.columns : a.rows
        let n = transpose ? a.rows : a.columns
        precondition(x.count == n && y.count == m, "gemv: op(A) \(m)×\(n), x \(x.count), y \(y.count) do not fit")
        guard m > 0 else { return }
        if n == 0 { for i in y.indices { y[i] *= beta }; return }
        a.withUnsafeBufferPointer { ap in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    S.gemv(transpose ? CblasTrans : CblasNoTrans, Int32(a.rows), Int32(a.columns), alpha,
                           ap.baseAddress!, Int32(a.columns), xp.baseAddress!, 1, beta, yp.baseAddress!, 1)
                }
            }
        }
    }

    /// `op(A) x` as a new array.
    @inlinable
    public static func matvec<S: BLASScalar>(_ a: Matrix<S>, transpose: Bool = false, _ x: [S]) -> [S] {
        var y = [S](repeating: 0, count: transpose ? a.columns : a.rows)
        gemv(a, transpose: transpose, x, into: &y)
        return y
    }

    /// Symmetric rank-k update `C ← α op(A) op(A)ᵀ + β C` (syrk), with `op(A) = A` (`n × k`) or
    /// `Aᵀ` when `transpose` (then `A` is `k × n`; `AᵀA` is the Gram matrix of the columns — the
    /// K-FAC factor `E[āāᵀ]` of a batch stored one example per row).
    /// BLAS writes one triangle only; the other is mirrored afterwards so `C` is fully symmetric.
    @inlinable
    public static func syrk<S: BLASScalar>(_ a: Matrix<S>, transpose: Bool = false,
                                           alpha: S = 1, beta: S = 0, into c: inout Matrix<S>) {
        let n = transpose ? a.columns : a.rows
        let k = transpose ? a.rows : a.columns
        precondition(c.rows == n && c.columns == n, "syrk: op(A) is \(n)×\(k) but C is \(c.rows)×\(c.columns)")
        guard n > 0 else { return }
        if k == 0 { c.scale(by: beta); return }
        a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                S.syrk(CblasLower, transpose ? CblasTrans : CblasNoTrans, Int32(n), Int32(k), alpha,
                       ap.baseAddress!, Int32(a.columns), beta, cp.baseAddress!, Int32(n))
            }
        }
        c.symmetrizeFromLower()
    }

    /// `y ← α x + y` on arrays (axpy).
    @inlinable
    public static func axpy<S: BLASScalar>(_ alpha: S, _ x: [S], _ y: inout [S]) {
        precondition(x.count == y.count, "axpy: x has \(x.count) elements, y has \(y.count)")
        guard !x.isEmpty else { return }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in S.axpy(Int32(x.count), alpha, xp.baseAddress!, 1, yp.baseAddress!, 1) }
        }
    }

    /// `x ← α x` on an array (scal).
    @inlinable
    public static func scal<S: BLASScalar>(_ alpha: S, _ x: inout [S]) {
        guard !x.isEmpty else { return }
        let n = Int32(x.count)
        x.withUnsafeMutableBufferPointer { S.scal(n, alpha, $0.baseAddress!, 1) }
    }

    /// `xᵀy` (dot).
    @inlinable
    public static func dot<S: BLASScalar>(_ x: [S], _ y: [S]) -> S {
        precondition(x.count == y.count, "dot: x has \(x.count) elements, y has \(y.count)")
        guard !x.isEmpty else { return 0 }
        return x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in S.dot(Int32(x.count), xp.baseAddress!, 1, yp.baseAddress!, 1) }
        }
    }

    /// Euclidean norm (nrm2).
    @inlinable
    public static func norm<S: BLASScalar>(_ x: [S]) -> S {
        guard !x.isEmpty else { return 0 }
        return x.withUnsafeBufferPointer { S.nrm2(Int32(x.count), $0.baseAddress!, 1) }
    }
}

/// Control of OpenBLAS's worker threads.
///
/// OpenBLAS starts one thread per core. Swift Testing runs tests in parallel, so `make test` sets
/// `OPENBLAS_NUM_THREADS=1` in the environment (read by OpenBLAS at load time); benchmarks pass
/// `--threads` which calls `BLASThreads.set`. Training uses the default (all cores).
public enum BLASThreads {
    /// Number of threads OpenBLAS uses now.
    public static var current: Int { Int(openblas_get_num_threads()) }
    /// Sets the number of OpenBLAS threads (≥ 1) for all subsequent calls in this process.
    public static func set(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1")
        openblas_set_num_threads(Int32(count))
    }
    /// OpenBLAS's build configuration string (version, target, threading), for benchmark reports.
    public static var configuration: String { String(cString: openblas_get_config()) }
    /// The CPU kernel family OpenBLAS selected at load time (e.g. "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
