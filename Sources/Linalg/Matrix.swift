/// A dense, row-major, contiguous matrix of `Float` or `Double`.
///
/// Element `(i, j)` lives at `storage[i * columns + j]`. A vector is a matrix with one column (or
/// one row); plain `[Scalar]` arrays are accepted where BLAS takes vectors. `Matrix` is a value type
/// (copy-on-write through `Array`); hot paths use `withUnsafeBufferPointer` /
/// `withUnsafeMutableBufferPointer` or the row views, never per-element subscripts in inner loops.
public struct Matrix<Scalar: BLASScalar>: Sendable, Equatable, Codable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// Row-major elements, `rows * columns` of them (mutable only through the unsafe accessors,
    /// so that the count always matches the shape).
    @usableFromInline var _storage: [Scalar]
    /// Row-major elements, `rows * columns` of them.
    @inlinable public var storage: [Scalar] { _storage }

    /// A `rows × columns` matrix filled with `value`.
    @inlinable
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        // Called from code that is not specialised for a concrete scalar, `Array(repeating:)` copies every
        // element through a value witness (≈ 3 % of a TK-FAC step); the concrete fills run at memset speed.
        if Scalar.self == Float.self {
            self._storage = unsafeBitCast(Array(repeating: Float(value), count: rows * columns), to: [Scalar].self)
        } else if Scalar.self == Double.self {
            self._storage = unsafeBitCast(Array(repeating: Double(value), count: rows * columns), to: [Scalar].self)
        } else {
            self._storage = Array(repeating: value, count: rows * columns)
        }
    }

    /// A matrix over existing row-major elements; `storage.count` must equal `rows * columns`.
    @inlinable
    public init(rows: Int, columns: Int, storage: [Scalar]) {
        precondition(rows >= 0 && columns >= 0 && storage.count == rows * columns,
                     "Matrix \(rows)×\(columns) needs \(rows * columns) elements, got \(storage.count)")
        self.rows = rows
        self.columns = columns
        self._storage = storage
    }

    /// A `rows × columns` matrix whose elements `body` writes, skipping the zeroing pass of
    /// `init(rows:columns:repeating:)`: for kernel outputs that are overwritten entirely (a GEMM with β = 0,
    /// an element-wise map). `body` must write every element; reading one before writing it is undefined
    /// (the contract of `Array(unsafeUninitializedCapacity:initializingWith:)`).
    @inlinable
    public init(rows: Int, columns: Int, unsafeUninitializedWith body: (UnsafeMutableBufferPointer<Scalar>) throws -> Void) rethrows {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        let n = rows * columns
        self._storage = try Array(unsafeUninitializedCapacity: n) { buffer, initialized in
            try body(UnsafeMutableBufferPointer(rebasing: buffer[0..<n]))
            initialized = n
        }
    }

    /// A matrix from nested rows, `[[1, 2], [3, 4]]`; all rows must have the same length.
    public init(_ nestedRows: [[Scalar]]) {
        let r = nestedRows.count
        let c = nestedRows.first?.count ?? 0
        precondition(nestedRows.allSatisfy { $0.count == c }, "All rows must have the same length")
        self.init(rows: r, columns: c, storage: nestedRows.flatMap { $0 })
    }

    /// A column vector (`count × 1`).
    public init(column values: [Scalar]) { self.init(rows: values.count, columns: 1, storage: values) }

    /// The `n × n` identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m._storage[i * n + i] = 1 }
        return m
    }

    /// A square matrix with `values` on the diagonal.
    public static func diagonal(_ values: [Scalar]) -> Matrix {
        let n = values.count
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m._storage[i * n + i] = values[i] }
        return m
    }

    /// Number of elements.
    @inlinable public var count: Int { rows * columns }
    @inlinable public var isSquare: Bool { rows == columns }
    /// `(rows, columns)`.
    @inlinable public var shape: (rows: Int, columns: Int) { (rows, columns) }

    @inlinable
    public subscript(row: Int, column: Int) -> Scalar {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "Index out of range")
            return storage[row * columns + column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "Index out of range")
            _storage[row * columns + column] = newValue
        }
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try _storage.withUnsafeMutableBufferPointer(body)
    }

    /// Row `i` as a read-only buffer (no copy), valid inside `body` only.
    @inlinable
    public func withRow<R>(_ i: Int, _ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        precondition(i >= 0 && i < rows, "Row \(i) out of range 0..<\(rows)")
        return try storage.withUnsafeBufferPointer { buffer in
            try body(UnsafeBufferPointer(rebasing: buffer[(i * columns)..<((i + 1) * columns)]))
        }
    }

    /// Row `i` as a mutable buffer (no copy), valid inside `body` only.
    @inlinable
    public mutating func withMutableRow<R>(_ i: Int,
                                           _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        precondition(i >= 0 && i < rows, "Row \(i) out of range 0..<\(rows)")
        let c = columns
        return try _storage.withUnsafeMutableBufferPointer { buffer in
            try body(UnsafeMutableBufferPointer(rebasing: buffer[(i * c)..<((i + 1) * c)]))
        }
    }

    /// Column `j` as a strided view (no copy), valid inside `body` only.
    @inlinable
    public func withColumn<R>(_ j: Int, _ body: (StridedVectorView<Scalar>) throws -> R) rethrows -> R {
        precondition(j >= 0 && j < columns, "Column \(j) out of range 0..<\(columns)")
        return try storage.withUnsafeBufferPointer { buffer in
            try body(StridedVectorView(base: buffer.baseAddress.map { $0 + j }, count: rows, stride: columns))
        }
    }

    /// A copy of row `i`.
    public func row(_ i: Int) -> [Scalar] { withRow(i) { Array($0) } }
    /// A copy of column `j`.
    public func column(_ j: Int) -> [Scalar] { withColumn(j) { $0.toArray() } }

    /// The transpose (a copy): 32 × 32 tiles, so that both the reads and the writes of a tile stay in cache,
    /// through concrete Float/Double pointers (from unspecialised callers a generic element copy goes through a
    /// value witness per element). Copies only: bit-identical to the element-by-element transpose.
    @inlinable
    public func transposed() -> Matrix {
        var t = Matrix(rows: columns, columns: rows)
        let (r, c) = (rows, columns)
        _storage.withUnsafeBufferPointer { src in
            t._storage.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                if Scalar.self == Float.self {
                    Self.transposeTiles(UnsafeRawPointer(s).assumingMemoryBound(to: Float.self),
                                        UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self), rows: r, columns: c)
                } else if Scalar.self == Double.self {
                    Self.transposeTiles(UnsafeRawPointer(s).assumingMemoryBound(to: Double.self),
                                        UnsafeMutableRawPointer(d).assumingMemoryBound(to: Double.self), rows: r, columns: c)
                } else {
                    Self.transposeTiles(s, d, rows: r, columns: c)
                }
            }
        }
        return t
    }

    /// `dst[j·rows + i] = src[i·columns + j]` by 32 × 32 tiles. Specialised for Float and Double: `transposed()`
    /// called from unspecialised generic code (a `FactorSolver` is reached through its protocol) still copies
    /// through concrete pointers instead of a value witness per element.
    @inlinable
    @_specialize(where T == Float, Scalar == Float)
    @_specialize(where T == Double, Scalar == Double)
    static func transposeTiles<T>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, rows r: Int, columns c: Int) {
        let tile = 32
        for i0 in stride(from: 0, to: r, by: tile) {
            let i1 = Swift.min(i0 + tile, r)
            for j0 in stride(from: 0, to: c, by: tile) {
                let j1 = Swift.min(j0 + tile, c)
                for i in i0..<i1 { for j in j0..<j1 { dst[j * r + i] = src[i * c + j] } }
            }
        }
    }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(rows newRows: Int, columns newColumns: Int) -> Matrix {
        Matrix(rows: newRows, columns: newColumns, storage: storage)
    }

    /// Elements converted to another precision.
    public func converted<Other: BLASScalar>(to _: Other.Type = Other.self) -> Matrix<Other> {
        Matrix<Other>(rows: rows, columns: columns, storage: storage.map { Other($0) })
    }

    /// Sum of the diagonal.
    @inlinable
    public var trace: Scalar {
        let c = columns
        return _storage.withUnsafeBufferPointer { a in
            var t: Scalar = 0
            for i in 0..<Swift.min(rows, c) { t += a[i * c + i] }
            return t
        }
    }

    /// The diagonal as an array.
    public var diagonalElements: [Scalar] { (0..<Swift.min(rows, columns)).map { storage[$0 * columns + $0] } }

    /// True when every element is finite (no NaN, no ±∞). Generic code in other modules must be
    /// specialised to be fast, hence `@inlinable` and one unsafe loop (this guards every LAPACK call).
    @inlinable
    public var isFinite: Bool {
        _storage.withUnsafeBufferPointer { a in
            // A flag and-ed without a branch (`ok && …` short-circuits and keeps the loop scalar): it vectorises.
            var finite: UInt8 = 1
            for x in a { finite &= x.isFinite ? 1 : 0 }
            return finite == 1
        }
    }

    /// Largest `|a_ij - a_ji|` relative to the largest `|a_ij|` is at most `relativeTolerance`.
    @inlinable
    public func isSymmetric(relativeTolerance: Scalar = 0) -> Bool {
        guard isSquare else { return false }
        let limit = relativeTolerance * Swift.max(maxAbs, Scalar.leastNormalMagnitude)
        let n = columns
        return _storage.withUnsafeBufferPointer { a in
            for i in 0..<n { for j in (i + 1)..<Swift.max(i + 1, n) where abs(a[i * n + j] - a[j * n + i]) > limit {
                return false
            } }
            return true
        }
    }

    /// Largest absolute element (0 for an empty matrix).
    @inlinable
    public var maxAbs: Scalar {
        _storage.withUnsafeBufferPointer { a in
            var m: Scalar = 0
            for x in a { m = Swift.max(m, abs(x)) }
            return m
        }
    }

    /// Frobenius norm `sqrt(Σ a_ij²)`, computed by BLAS nrm2 (overflow-safe).
    public var frobeniusNorm: Scalar {
        guard count > 0 else { return 0 }
        return storage.withUnsafeBufferPointer { Scalar.nrm2(Int32(count), $0.baseAddress!, 1) }
    }

    /// Adds `value` to every diagonal element (Tikhonov damping `A + λI`).
    @inlinable
    public mutating func addDiagonal(_ value: Scalar) {
        for i in 0..<Swift.min(rows, columns) { _storage[i * columns + i] += value }
    }

    /// Copies the lower triangle onto the upper one (after LAPACK/BLAS routines that fill one triangle).
    @inlinable
    public mutating func symmetrizeFromLower() {
        precondition(isSquare, "symmetrizeFromLower needs a square matrix")
        let n = rows
        _storage.withUnsafeMutableBufferPointer { a in
            for i in 0..<n { for j in (i + 1)..<Swift.max(i + 1, n) { a[i * n + j] = a[j * n + i] } }
        }
    }

    /// Applies `transform` to every element in place.
    @inlinable
    public mutating func mapInPlace(_ transform: (Scalar) -> Scalar) {
        _storage.withUnsafeMutableBufferPointer { a in for i in a.indices { a[i] = transform(a[i]) } }
    }
}

/// A strided, read-only vector inside a matrix (a column), valid only inside the closure that made it.
public struct StridedVectorView<Scalar: BLASScalar> {
    public let base: UnsafePointer<Scalar>?
    public let count: Int
    public let stride: Int

    @inlinable public init(base: UnsafePointer<Scalar>?, count: Int, stride: Int) {
        self.base = base; self.count = count; self.stride = stride
    }

    @inlinable public subscript(i: Int) -> Scalar {
        precondition(i >= 0 && i < count, "Index out of range")
        return base![i * stride]
    }

    public func toArray() -> [Scalar] { (0..<count).map { self[$0] } }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        let shown = (0..<Swift.min(rows, 8)).map { i in
            (0..<Swift.min(columns, 8)).map { j in "\(self[i, j])" }.joined(separator: ", ")
                + (columns > 8 ? ", …" : "")
        }
        return "Matrix<\(Scalar.self)> \(rows)×\(columns) [" + shown.joined(separator: "; ") + (rows > 8 ? "; …" : "") + "]"
    }
}

// Element-wise arithmetic for tests and set-up code; hot paths use BLAS (axpy, scal, gemm).
extension Matrix {
    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns, "Shape mismatch in +")
        var out = lhs
        out.axpy(1, rhs)
        return out
    }

    public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns, "Shape mismatch in -")
        var out = lhs
        out.axpy(-1, rhs)
        return out
    }

    public static func * (scalar: Scalar, matrix: Matrix) -> Matrix {
        var out = matrix
        out.scale(by: scalar)
        return out
    }

    /// Matrix product through gemm.
    public static func * (lhs: Matrix, rhs: Matrix) -> Matrix { BLAS.matmul(lhs, rhs) }

    /// `self ← self + alpha · x` (BLAS axpy).
    public mutating func axpy(_ alpha: Scalar, _ x: Matrix) {
        precondition(rows == x.rows && columns == x.columns, "Shape mismatch in axpy")
        guard count > 0 else { return }
        let n = Int32(count)
        x.storage.withUnsafeBufferPointer { xs in
            _storage.withUnsafeMutableBufferPointer { ys in Scalar.axpy(n, alpha, xs.baseAddress!, 1, ys.baseAddress!, 1) }
        }
    }

    /// `self ← alpha · self` (BLAS scal).
    public mutating func scale(by alpha: Scalar) {
        guard count > 0 else { return }
        let n = Int32(count)
        _storage.withUnsafeMutableBufferPointer { Scalar.scal(n, alpha, $0.baseAddress!, 1) }
    }
}
