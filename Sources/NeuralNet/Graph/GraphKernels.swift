import Linalg

/// Row gather/scatter and segment reductions of message passing (docs/gnn.md#kernels), on row-major
/// matrices through unsafe buffer pointers. `indices` are row numbers; `offsets` are CSR segment bounds
/// (`offsets[s] ..< offsets[s + 1]` are the rows of segment `s`, non-decreasing, `offsets.last == rows`).
/// Out-of-range indices are programming errors and trap with the kernel's name.
public enum GraphKernels {
    /// `out[r] = x[indices[r]]`: shape `indices.count × x.columns`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func gatherRows<Scalar: BLASScalar>(_ x: Matrix<Scalar>, _ indices: [Int32]) -> Matrix<Scalar> {
        let c = x.columns, n = x.rows
        var out = Matrix<Scalar>(rows: indices.count, columns: c)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                forEachIndex(indices, below: n, kernel: "gatherRows") { r, i in
                    (op.baseAddress! + r * c).update(from: xp.baseAddress! + i * c, count: c)
                }
            }
        }
        return out
    }

    /// `out[indices[r]] += x[r]` for every row `r` of `x` (rows of `out` named by several indices add up).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func scatterAddRows<Scalar: BLASScalar>(_ x: Matrix<Scalar>, _ indices: [Int32], into out: inout Matrix<Scalar>) {
        let c = x.columns, n = out.rows
        precondition(indices.count == x.rows && out.columns == c,
                     "scatterAddRows: \(x.rows)×\(c) rows with \(indices.count) indices into \(out.rows)×\(out.columns)")
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                forEachIndex(indices, below: n, kernel: "scatterAddRows") { r, i in
                    let src = xp.baseAddress! + r * c, dst = op.baseAddress! + i * c
                    for j in 0..<c { dst[j] += src[j] }
                }
            }
        }
    }

    /// `body(r, indices[r])` for every `r`, each index checked against `0..<bound` (`kernel` names the caller
    /// in the trap): the row pairing of a gather and of its adjoint, the scatter-add.
    @inline(__always)
    private static func forEachIndex(_ indices: [Int32], below bound: Int, kernel: StaticString, _ body: (Int, Int) -> Void) {
        indices.withUnsafeBufferPointer { ip in
            for r in 0..<ip.count {
                let i = Int(ip[r])
                precondition(i >= 0 && i < bound, "\(kernel): index \(i) outside 0..<\(bound)")
                body(r, i)
            }
        }
    }

    /// `out[s] = scale[s] · Σ_{r ∈ segment s} x[r]` (`scale` nil: 1): shape `(offsets.count − 1) × x.columns`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func segmentSum<Scalar: BLASScalar>(_ x: Matrix<Scalar>, offsets: [Int], scale: [Scalar]? = nil) -> Matrix<Scalar> {
        let c = x.columns, segments = offsets.count - 1
        precondition(segments >= 0 && offsets.first == 0 && offsets.last == x.rows, "segmentSum: offsets must run from 0 to \(x.rows)")
        precondition(scale.map { $0.count == segments } ?? true, "segmentSum: \(scale?.count ?? 0) scales for \(segments) segments")
        var out = Matrix<Scalar>(rows: segments, columns: c)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                for s in 0..<segments {
                    let dst = op.baseAddress! + s * c
                    precondition(offsets[s] <= offsets[s + 1], "segmentSum: offsets decrease at segment \(s)")
                    for r in offsets[s]..<offsets[s + 1] {
                        let src = xp.baseAddress! + r * c
                        for j in 0..<c { dst[j] += src[j] }
                    }
                    if let scale { let a = scale[s]; for j in 0..<c { dst[j] *= a } }
                }
            }
        }
        return out
    }

    /// The adjoint of `segmentSum`: `out[r] = scale[s] · g[s]` for every row `r` of segment `s`; shape
    /// `offsets.last × g.columns`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func segmentBroadcast<Scalar: BLASScalar>(_ g: Matrix<Scalar>, offsets: [Int], scale: [Scalar]? = nil) -> Matrix<Scalar> {
        let c = g.columns, segments = offsets.count - 1
        precondition(segments == g.rows && offsets.first == 0, "segmentBroadcast: \(g.rows) rows for \(segments) segments")
        var out = Matrix<Scalar>(rows: offsets.last!, columns: c)
        g.withUnsafeBufferPointer { gp in
            out.withUnsafeMutableBufferPointer { op in
                for s in 0..<segments {
                    let a = scale?[s] ?? 1
                    let src = gp.baseAddress! + s * c
                    for r in offsets[s]..<offsets[s + 1] {
                        let dst = op.baseAddress! + r * c
                        for j in 0..<c { dst[j] = a * src[j] }
                    }
                }
            }
        }
        return out
    }
}
