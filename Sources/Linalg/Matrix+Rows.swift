/// Row selection, shared by every data source (images, token sequences, graphs' per-graph tables): a subset for
/// quick runs and the gather of a mini-batch's rows. One `memcpy` per row, no per-element work.
extension Matrix {
    /// The first `n` rows (all of them when `n ≥ rows`, none when `n ≤ 0`), as a new matrix.
    public func firstRows(_ n: Int) -> Matrix {
        let m = Swift.min(Swift.max(n, 0), rows)
        guard m < rows else { return self }
        return Matrix(rows: m, columns: columns, storage: Array(storage[0..<(m * columns)]))
    }

    /// Copies the rows at `indices` into the first `indices.count` rows of `target` (same column count,
    /// at least that many rows; preallocated by the caller, so a training step allocates nothing).
    public func copyRows(_ indices: some Collection<Int>, into target: inout Matrix) {
        let c = columns
        precondition(target.columns == c && target.rows >= indices.count,
                     "copyRows: target \(target.rows)×\(target.columns) cannot take \(indices.count) rows of \(c) columns")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < rows }, "copyRows: an index lies outside 0..<\(rows)")
        withUnsafeBufferPointer { source in
            target.withUnsafeMutableBufferPointer { destination in
                for (r, i) in indices.enumerated() {
                    (destination.baseAddress! + r * c).update(from: source.baseAddress! + i * c, count: c)
                }
            }
        }
    }
}
