import Linalg

/// Element-wise precision conversion of a matrix, specialised for the Float/Double pairs the simulator uses.
/// (`Matrix.converted(to:)` is generic across modules, so each element goes through the generic
/// `BinaryFloatingPoint` initialiser; at n ≈ 785 that cost more than the device's eigendecomposition.)
/// The values are the same: each element is rounded once, as by `converted(to:)`.
@_specialize(where From == Float, To == Double)
@_specialize(where From == Double, To == Float)
@_specialize(where From == Float, To == Float)
@_specialize(where From == Double, To == Double)
func convert<From: BLASScalar, To: BLASScalar>(_ m: Matrix<From>, to _: To.Type = To.self) -> Matrix<To> {
    if From.self == To.self, let same = m as? Matrix<To> { return same }   // no copy for the same precision
    return Matrix<To>(rows: m.rows, columns: m.columns, unsafeUninitializedWith: { dst in
        m.withUnsafeBufferPointer { src in
            for i in 0..<src.count { dst[i] = To(src[i]) }
        }
    })
}
