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
            a.withUnsafeBufferPointer { ap in affineRows(ap.baseAddress!, rows: rows, into: yp.baseAddress!) }
        }
    }

    /// `S = A Wᵀ + 1 bᵀ` for the `rows` rows of `A` at `a` (`inFeatures` columns each) into the `rows × outFeatures`
    /// rows at `y`, every element written: the bias rows (split over `ParallelLoop`'s threads) and a GEMM with
    /// β = 1, or the GEMM with β = 0.
    func affineRows(_ a: UnsafePointer<Scalar>, rows: Int, into y: UnsafeMutablePointer<Scalar>) {
        guard rows > 0 else { return }
        if bias != nil {
            ParallelLoop.forEachChunk(rows, workPerIndex: weight.value.rows) { range in
                writeBiasRows(y + range.lowerBound * weight.value.rows, rows: range.count)
            }
        }
        affineProduct(a, rows: rows, into: y)
    }

    /// Writes the bias into the `rows` rows of `outFeatures` at `y` (nothing without a bias), on the calling
    /// thread: the bias row, then copies of ever larger blocks of finished rows (1, 2, 4, … rows), a few large
    /// memcpys instead of one small one per row (200k rows in a CNN's first layer).
    func writeBiasRows(_ y: UnsafeMutablePointer<Scalar>, rows: Int) {
        guard let bias, rows > 0 else { return }
        let o = weight.value.rows
        bias.value.withUnsafeBufferPointer { y.update(from: $0.baseAddress!, count: o) }
        var done = 1
        while done < rows {
            let count = Swift.min(done, rows - done)
            (y + done * o).update(from: y, count: count * o)
            done += count
        }
    }

    /// The GEMM of `affineRows`: `S = A Wᵀ` (β = 0) without a bias, `S += A Wᵀ` (β = 1) onto the bias rows
    /// `writeBiasRows` wrote. Each row of `S` depends on its own row of `A` only.
    func affineProduct(_ a: UnsafePointer<Scalar>, rows: Int, into y: UnsafeMutablePointer<Scalar>) {
        guard rows > 0 else { return }
        let k = weight.value.columns, o = weight.value.rows
        weight.value.withUnsafeBufferPointer { wp in
            Scalar.gemm(CblasNoTrans, CblasTrans, Int32(rows), Int32(o), Int32(k), 1,
                        a, Int32(k), wp.baseAddress!, Int32(k), bias == nil ? 0 : 1, y, Int32(o))
        }
    }

    /// `∇W += Gᵀ A` (when the weight is trainable) and `∇b += Gᵀ 1` (when the bias is) for `G` of shape
    /// `rows × outFeatures` and `A` of shape `rows × inFeatures`. Gradients accumulate (β = 1): a weight applied at
    /// several places gets the sum of all its uses. `ones` is the caller's reusable vector of ones.
    ///
    /// `transposedProduct` (for very tall, narrow `A`, such as the 9-column patches of a grey image's conv):
    /// `T = Aᵀ G` by a β = 0 GEMM, then `∇W += Tᵀ`. OpenBLAS forms `Gᵀ A` with `inFeatures` as its output's short
    /// dimension (9 columns: about 35 % slower than `Aᵀ G` at 200k rows); both orientations sum each element in
    /// the same order, so onto a zeroed gradient (every training step) the result has the same bits as the
    /// β = 1 GEMM (KernelTests); onto a non-zero gradient `∇W + T` rounds once where the GEMM adds block by block.
    func accumulateAffineGradients(outputGradient g: Matrix<Scalar>, input a: Matrix<Scalar>, ones: inout [Scalar],
                                   transposedProduct: Bool = false) {
        let rows = a.rows, k = a.columns, o = g.columns
        precondition(g.rows == rows, "\(summary): gradient rows \(g.rows) ≠ input rows \(rows)")
        g.withUnsafeBufferPointer { gp in
            if weight.isTrainable {
                a.withUnsafeBufferPointer { ap in
                    weight.gradient.withUnsafeMutableBufferPointer { dw in
                        guard transposedProduct else {
                            Scalar.gemm(CblasTrans, CblasNoTrans, Int32(o), Int32(k), Int32(rows), 1,
                                        gp.baseAddress!, Int32(o), ap.baseAddress!, Int32(k), 1, dw.baseAddress!, Int32(k))
                            return
                        }
                        let t = [Scalar](unsafeUninitializedCapacity: k * o) { tb, initialized in
                            Scalar.gemm(CblasTrans, CblasNoTrans, Int32(k), Int32(o), Int32(rows), 1,
                                        ap.baseAddress!, Int32(k), gp.baseAddress!, Int32(o), 0, tb.baseAddress!, Int32(o))
                            initialized = k * o
                        }
                        for i in 0..<o { for j in 0..<k { dw[i * k + j] += t[j * o + i] } }
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
