import Linalg

/// The fused message kernels of `GINConvolution` (docs/gnn.md#kernels), on row-major matrices through unsafe
/// buffer pointers. Node rows (grouped by `MessageRouting.byTarget` / `bySource`) and edges are split over
/// `threads` (default `ParallelLoop.threads`); each output row is written by one chunk, and every sum adds its
/// terms in message order, as a serial scatter-add would, so the result has the same bits for any thread count.
/// Shapes: `h`, `z`, `∂z`, `∂h` are `nodes × w`; `e`, `∂e` are `edges × w`; `∂pre` is `2·edges × w`.
public enum GINKernels {
    /// `z_v = a h_v + Σ_{messages r → v} ReLU(h_{src r} + e_{edge r})`: the gather, message and scatter-add of a
    /// GIN layer in one pass, with no message matrix.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func aggregate<Scalar: BLASScalar>(_ h: Matrix<Scalar>, edges e: Matrix<Scalar>, routing: MessageRouting,
                                                     scale a: Scalar, threads: Int = ParallelLoop.threads) -> Matrix<Scalar> {
        check(h, e, routing, kernel: "aggregate")
        let (n, w, edges) = (h.rows, h.columns, routing.edges)
        guard n > 0 && w > 0 else { return Matrix(rows: n, columns: w) }
        return Matrix<Scalar>(rows: n, columns: w) { zb in
            withPointers(h, e, routing) { hp, ep, sources, _ in
                let (zp, offsets, rows) = (zb.baseAddress!, routing.byTarget.offsets, routing.byTarget.rows)
                ParallelLoop.forEachChunk(n, workPerIndex: w * (1 + 2 * edges / n), threads: threads) { range in
                    for v in range {
                        let zr = zp + v * w, hr = hp + v * w
                        for c in 0..<w { zr[c] = a * hr[c] }
                        for q in offsets[v]..<offsets[v + 1] {
                            let r = Int(rows[q])
                            let hs = hp + Int(sources![r]) * w, er = ep! + routing.edge(ofMessage: r) * w
                            for c in 0..<w { zr[c] += max(hs[c] + er[c], 0) }
                        }
                    }
                }
            }
        }
    }

    /// The message gradients of `aggregate` for `∂z`: `∂pre_r = ∂z_{dst r} ⊙ [h_{src r} + e_{edge r} > 0]` for every
    /// message and `∂e_k = ∂pre_k + ∂pre_{edges + k}` for every edge.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func messageGradients<Scalar: BLASScalar>(_ dz: Matrix<Scalar>, input h: Matrix<Scalar>, edges e: Matrix<Scalar>,
                                                            routing: MessageRouting, threads: Int = ParallelLoop.threads)
        -> (messages: Matrix<Scalar>, edges: Matrix<Scalar>) {
        check(h, e, routing, kernel: "messageGradients")
        precondition(dz.rows == h.rows && dz.columns == h.columns, "GINKernels.messageGradients: ∂z \(dz.rows)×\(dz.columns), h \(h.rows)×\(h.columns)")
        let (w, edges) = (h.columns, routing.edges)
        guard edges > 0 && w > 0 else { return (Matrix(rows: 2 * edges, columns: w), Matrix(rows: edges, columns: w)) }
        var de = Matrix<Scalar>(rows: 0, columns: w)
        let dpre = Matrix<Scalar>(rows: 2 * edges, columns: w) { db in
            de = Matrix<Scalar>(rows: edges, columns: w) { deb in
                dz.withUnsafeBufferPointer { dzb in
                    withPointers(h, e, routing) { hp, ep, sources, targets in
                        let (dp, dep, dzp, ep, sources, targets) = (db.baseAddress!, deb.baseAddress!, dzb.baseAddress!, ep!, sources!, targets!)
                        ParallelLoop.forEachChunk(edges, workPerIndex: 6 * w, threads: threads) { range in
                            for k in range {
                                let er = ep + k * w
                                for r in stride(from: k, to: 2 * edges, by: edges) {
                                    let hs = hp + Int(sources[r]) * w, gt = dzp + Int(targets[r]) * w, dr = dp + r * w
                                    // Both operands loaded before the select: a conditional load would keep the loop scalar.
                                    for c in 0..<w { let (p, g) = (hs[c] + er[c], gt[c]); dr[c] = p <= 0 ? 0 : g }
                                }
                                let (d1, d2, der) = (dp + k * w, dp + (edges + k) * w, dep + k * w)
                                for c in 0..<w { der[c] = d1[c] + d2[c] }
                            }
                        }
                    }
                }
            }
        }
        return (dpre, de)
    }

    /// `out_u = a x_u + Σ_{rows r of group u} y_r` (groups in CSR form, rows in increasing order): the adjoint of a
    /// gather as a per-node sum, e.g. `∂h_u = (1 + ε) ∂z_u + Σ_{messages r from u} ∂pre_r` with `groups = bySource`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func addGroupedRows<Scalar: BLASScalar>(_ y: Matrix<Scalar>, groups: RowGroups, to x: Matrix<Scalar>, scale a: Scalar,
                                                          threads: Int = ParallelLoop.threads) -> Matrix<Scalar> {
        let (n, w) = (x.rows, x.columns)
        precondition(groups.groups == n && groups.rows.count == y.rows && (y.rows == 0 || y.columns == w),
                     "GINKernels.addGroupedRows: \(groups.groups) groups of \(groups.rows.count) rows for \(n)×\(w) and \(y.rows)×\(y.columns)")
        guard n > 0 && w > 0 else { return x }
        return Matrix<Scalar>(rows: n, columns: w) { ob in
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeBufferPointer { yb in
                    let (out, xp, yp, offsets, rows) = (ob.baseAddress!, xb.baseAddress!, yb.baseAddress, groups.offsets, groups.rows)
                    ParallelLoop.forEachChunk(n, workPerIndex: w * (1 + y.rows / n), threads: threads) { range in
                        for u in range {
                            let o = out + u * w, xr = xp + u * w
                            for c in 0..<w { o[c] = a * xr[c] }
                            for q in offsets[u]..<offsets[u + 1] {
                                let yr = yp! + Int(rows[q]) * w   // a group has rows only if y has
                                for c in 0..<w { o[c] += yr[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func check<Scalar>(_ h: Matrix<Scalar>, _ e: Matrix<Scalar>, _ routing: MessageRouting, kernel: String) {
        precondition(h.rows == routing.nodes && e.rows == routing.edges && (routing.edges == 0 || e.columns == h.columns),
                     "GINKernels.\(kernel): h \(h.rows)×\(h.columns), e \(e.rows)×\(e.columns) for \(routing.nodes) nodes and \(routing.edges) edges")
    }

    /// Base addresses of `h`, `e` and the message sources and targets; all but `h`'s may be nil for a batch without
    /// edges, where no node has a message and they are never read.
    @inline(__always)
    private static func withPointers<Scalar, R>(_ h: Matrix<Scalar>, _ e: Matrix<Scalar>, _ routing: MessageRouting,
                                                _ body: (UnsafePointer<Scalar>, UnsafePointer<Scalar>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R) -> R {
        h.withUnsafeBufferPointer { hb in
            e.withUnsafeBufferPointer { eb in
                routing.sources.withUnsafeBufferPointer { sb in
                    routing.targets.withUnsafeBufferPointer { tb in body(hb.baseAddress!, eb.baseAddress, sb.baseAddress, tb.baseAddress) }
                }
            }
        }
    }
}
