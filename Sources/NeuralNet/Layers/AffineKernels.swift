import CBLAS
import Linalg

/// The two products every `s = W a + b` layer makes, written once for `Linear` (one row of `A` per example or
/// token) and `Conv2d` (one row per im2col patch): the forward map `S = A Wᵀ + 1 bᵀ` and the accumulation of its
/// parameter gradients `∇W += Gᵀ A`, `∇b += Gᵀ 1`. Both are single BLAS calls (GEMM, GEMV) over all rows.
extension KroneckerFactored {
    /// `S = A Wᵀ + 1 bᵀ` for `A` of shape `rows × inFeatures` (row-major), returned as a `resultRows ×
    /// resultColumns` matrix whose storage is the `rows × outFeatures` product (a convolution returns one row per
    /// example holding all its positions). Every element is written: by the bias rows and then a GEMM with β = 1,
    /// or by the GEMM with β = 0, so there is no zeroing pass.
    func affineForward(_ a: Matrix<Scalar>, resultRows: Int, resultColumns: Int) -> Matrix<Scalar> {
        let rows = a.rows, k = a.columns, o = weight.value.rows
        precondition(rows * o == resultRows * resultColumns && weight.value.columns == k,
                     "\(summary): affine map of \(rows)×\(k) by \(o)×\(weight.value.columns)")
        return Matrix<Scalar>(rows: resultRows, columns: resultColumns) { yp in
            guard rows > 0 else { return }
            let yb = yp.baseAddress!
            var beta: Scalar = 0
            if let bias {
                bias.value.withUnsafeBufferPointer { bp in
                    let bb = bp.baseAddress!
                    ParallelLoop.forEachChunk(rows, workPerIndex: o) { range in
                        for r in range { (yb + r * o).update(from: bb, count: o) }
                    }
                }
                beta = 1
            }
            a.withUnsafeBufferPointer { ap in
                weight.value.withUnsafeBufferPointer { wp in
                    Scalar.gemm(CblasNoTrans, CblasTrans, Int32(rows), Int32(o), Int32(k), 1,
                                ap.baseAddress!, Int32(k), wp.baseAddress!, Int32(k), beta, yb, Int32(o))
                }
            }
        }
    }

    /// `∇W += Gᵀ A` (when the weight is trainable) and `∇b += Gᵀ 1` (when the bias is) for `G` of shape
    /// `rows × outFeatures` and `A` of shape `rows × inFeatures`. Gradients accumulate (β = 1): a weight applied at
    /// several places gets the sum of all its uses. `ones` is the caller's reusable vector of ones.
    func accumulateAffineGradients(outputGradient g: Matrix<Scalar>, input a: Matrix<Scalar>, ones: inout [Scalar]) {
        let rows = a.rows, k = a.columns, o = g.columns
        precondition(g.rows == rows, "\(summary): gradient rows \(g.rows) ≠ input rows \(rows)")
        g.withUnsafeBufferPointer { gp in
            if weight.isTrainable {
                a.withUnsafeBufferPointer { ap in
                    weight.gradient.withUnsafeMutableBufferPointer { dw in
                        Scalar.gemm(CblasTrans, CblasNoTrans, Int32(o), Int32(k), Int32(rows), 1,
                                    gp.baseAddress!, Int32(o), ap.baseAddress!, Int32(k), 1, dw.baseAddress!, Int32(k))
                    }
                }
            }
            if let bias = trainableBias {
                if ones.count < rows { ones = [Scalar](repeating: 1, count: rows) }
                ones.withUnsafeBufferPointer { op in
                    bias.gradient.withUnsafeMutableBufferPointer { db in
                        Scalar.gemv(CblasTrans, Int32(rows), Int32(o), 1, gp.baseAddress!, Int32(o),
                                    op.baseAddress!, 1, 1, db.baseAddress!, 1)
                    }
                }
            }
        }
    }
}
