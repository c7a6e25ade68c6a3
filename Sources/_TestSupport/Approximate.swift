import Linalg

/// Relative Frobenius error `‖a − b‖_F / max(‖b‖_F, tiny)` of `a` against the reference `b`.
public func relativeError<S: BLASScalar>(_ a: Matrix<S>, _ b: Matrix<S>) -> S {
    precondition(a.rows == b.rows && a.columns == b.columns, "relativeError: shapes differ")
    return (a - b).frobeniusNorm / Swift.max(b.frobeniusNorm, S.leastNormalMagnitude)
}

/// Relative Euclidean error of `a` against the reference `b`.
public func relativeError<S: BLASScalar>(_ a: [S], _ b: [S]) -> S {
    relativeError(Matrix(column: a), Matrix(column: b))
}

/// A naive triple-loop product `op(A) op(B)` in Double: the oracle BLAS wrappers are tested against.
public func naiveProduct<S: BLASScalar>(_ a: Matrix<S>, transposeA: Bool = false,
                                        _ b: Matrix<S>, transposeB: Bool = false) -> Matrix<S> {
    let m = transposeA ? a.columns : a.rows
    let k = transposeA ? a.rows : a.columns
    let n = transposeB ? b.rows : b.columns
    var c = Matrix<S>(rows: m, columns: n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for l in 0..<k {
                let x = transposeA ? a[l, i] : a[i, l]
                let y = transposeB ? b[j, l] : b[l, j]
                s += Double(x) * Double(y)
            }
            c[i, j] = S(s)
        }
    }
    return c
}
