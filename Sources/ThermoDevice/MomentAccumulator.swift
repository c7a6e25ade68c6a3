import CBLAS
import Linalg

/// Accumulates second moments of readouts per group of chains for batch-means error bars:
/// `S_g = Σ u vᵀ` over the readout pairs `(u, v)` of group `g` (`v = u` for a covariance, `v` the
/// readout `s` later for a lag covariance), and the sums `Σ u`, `Σ v`.
///
/// The caller hands over blocks of readouts where they already lie (no copy): one syrk over a block of
/// rows (covariance) or one gemm per pair of row segments (lag covariance), accumulated by BLAS itself
/// (`β = 1`) into the group's `n × n` sum in the readouts' precision. Each block's product is formed in
/// registers over at most a few thousand rows and then added once, so the rounding of a sum is at most
/// `(rows per block + blocks) · ε` relative to the sum of the magnitudes (≈ 10⁻⁴ in Float for 10⁶
/// readouts), far below the statistical error `1/sqrt(readouts per group)` of any entry
/// (docs/device.md#statistical-error). The row sums (the means) are kept in Double.
/// Only the symmetric part `(S_g + S_gᵀ)/2` enters the result: the estimators are symmetrised anyway.
struct MomentAccumulator<Scalar: BLASScalar> {
    let n: Int
    let groups: Int
    let paired: Bool
    /// Per group, `S_g` as an `n × n` row-major block: a covariance fills the lower triangle (syrk), a lag
    /// covariance the whole matrix `Σ v uᵀ`.
    var second: [Scalar]
    var sumU: [Double]     // groups × n
    var sumV: [Double]
    var counts: [Int]

    init(n: Int, groups: Int, paired: Bool) {
        self.n = n
        self.groups = groups
        self.paired = paired
        // A covariance group's first syrk writes its sum with β = 0, so its block needs no zero-fill first (about
        // 20 MB for eight groups of a 785-wide factor); a lag sum (several gemms per block) starts from zeros.
        second = paired ? [Scalar](repeating: 0, count: groups * n * n)
                        : [Scalar](unsafeUninitializedCapacity: groups * n * n) { _, count in count = groups * n * n }
        sumU = [Double](repeating: 0, count: groups * n)
        sumV = paired ? sumU : []
        counts = [Int](repeating: 0, count: groups)
    }

    static func packedCount(_ n: Int) -> Int { n * (n + 1) / 2 }

    /// Covariance: adds the `k` contiguous rows at `u` (row stride `n`) to group `g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func add(group g: Int, rows u: UnsafePointer<Scalar>, count k: Int) {
        precondition(!paired, "MomentAccumulator: a lag accumulator takes pairs")
        guard k > 0 else { return }
        let n = self.n
        // β = 0 on the group's first block (0 + x = x: the same sums as adding to zeros); only the lower triangle is
        // written and read.
        let beta: Scalar = counts[g] == 0 ? 0 : 1
        second.withUnsafeMutableBufferPointer { sb in
            Scalar.syrk(CblasLower, CblasTrans, Int32(n), Int32(k), 1, u, Int32(n), beta, sb.baseAddress! + g * n * n, Int32(n))
        }
        Self.addRowSums(u, rows: k, n: n, into: &sumU, at: g * n)
        counts[g] += k
    }

    /// Lag covariance: for each segment pair `(u, v)` of `k` contiguous rows each, adds `Σ_r v_r u_rᵀ` to group `g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func add(group g: Int, pairs: [(u: UnsafePointer<Scalar>, v: UnsafePointer<Scalar>)], count k: Int) {
        precondition(paired, "MomentAccumulator: a covariance accumulator takes rows")
        guard k > 0, !pairs.isEmpty else { return }
        let n = self.n
        second.withUnsafeMutableBufferPointer { sb in
            for p in pairs {
                // S_g += Vᵀ U: Σ v uᵀ (Cov(x_{t+s}, x_t)).
                Scalar.gemm(CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(k), 1, p.v, Int32(n), p.u, Int32(n),
                            1, sb.baseAddress! + g * n * n, Int32(n))
            }
        }
        for p in pairs {
            Self.addRowSums(p.u, rows: k, n: n, into: &sumU, at: g * n)
            Self.addRowSums(p.v, rows: k, n: n, into: &sumV, at: g * n)
        }
        counts[g] += k * pairs.count
    }

    private static func addRowSums(_ u: UnsafePointer<Scalar>, rows k: Int, n: Int, into sums: inout [Double], at offset: Int) {
        sums.withUnsafeMutableBufferPointer { sb in
            let s = sb.baseAddress! + offset
            for r in 0..<k { let row = u + r * n; for j in 0..<n { s[j] += Double(row[j]) } }
        }
    }

    /// The pooled centred moment `sym(S/N − mean_v mean_uᵀ)` and the standard error of its entries from the
    /// group-to-group spread: `‖SE‖_F = sqrt(Σ_g ‖M_g − M̄‖²_F / (G(G−1)))`, computed as
    /// `Σ_g ‖M_g‖² − G‖M̄‖²` over one contiguous pass per group (the spread is of the order of the entries
    /// themselves, so the difference loses no accuracy in Double).
    mutating func finish() -> (moment: Matrix<Double>, standardErrorFrobenius: Double) {
        let n = self.n, groups = self.groups, packed = Self.packedCount(n)
        // A covariance group that received no readouts was never written: its sum is zero.
        for g in 0..<groups where !paired && counts[g] == 0 {
            second.withUnsafeMutableBufferPointer { sb in (sb.baseAddress! + g * n * n).update(repeating: 0, count: n * n) }
        }
        let total = Double(counts.reduce(0, +))
        let sv = paired ? sumV : sumU
        var pooledU = [Double](repeating: 0, count: n), pooledV = pooledU
        for g in 0..<groups {
            for j in 0..<n { pooledU[j] += sumU[g * n + j] / total; pooledV[j] += sv[g * n + j] / total }
        }
        var rawSum = [Double](repeating: 0, count: packed), groupSum = rawSum
        var squares = 0.0
        rawSum.withUnsafeMutableBufferPointer { rb in
            groupSum.withUnsafeMutableBufferPointer { mb in
                second.withUnsafeBufferPointer { sb in
                    let raw = rb.baseAddress!, sumM = mb.baseAddress!
                    let paired = self.paired
                    // Group means (and one row of centred entries) as pointers: no bounds checks in the inner loops; the order
                    // of every sum is unchanged.
                    var means = [Double](repeating: 0, count: 3 * n)
                    means.withUnsafeMutableBufferPointer { mp in
                        let u = mp.baseAddress!, v = u + n, centred = v + n
                        for g in 0..<groups {
                            let w = 1 / Double(Swift.max(counts[g], 1))
                            // Group g's mean readouts and its centred, symmetrised entries.
                            for j in 0..<n { u[j] = sumU[g * n + j] * w; v[j] = sv[g * n + j] * w }
                            let s = sb.baseAddress! + g * n * n
                            var diagonal = 0.0, offDiagonal = 0.0
                            for i in 0..<n {
                                let row = i * (i + 1) / 2, ui = u[i], vi = v[i], si = s + i * n
                                let rawRow = raw + row, sumRow = sumM + row
                                if paired {
                                    for j in 0..<i {
                                        // (S_g + S_gᵀ)/2 for a lag sum.
                                        let sij = 0.5 * (Double(si[j]) + Double(s[j * n + i]))
                                        let x = sij * w - 0.5 * (vi * u[j] + v[j] * ui)
                                        rawRow[j] += sij
                                        sumRow[j] += x
                                        offDiagonal += x * x
                                    }
                                } else {
                                    // A covariance sum is symmetric (lower triangle). The centred entries first, in a
                                    // loop that vectorises, then their squares summed in the same order j = 0, 1, …
                                    // (a serial sum: the same bits as one fused loop).
                                    for j in 0..<i {
                                        let sij = Double(si[j])
                                        let x = sij * w - 0.5 * (vi * u[j] + v[j] * ui)
                                        rawRow[j] += sij
                                        sumRow[j] += x
                                        centred[j] = x
                                    }
                                    for j in 0..<i { offDiagonal += centred[j] * centred[j] }
                                }
                                let sii = Double(si[i]), x = sii * w - vi * ui
                                rawRow[i] += sii
                                sumRow[i] += x
                                diagonal += x * x
                            }
                            squares += diagonal + 2 * offDiagonal
                        }
                    }
                }
            }
        }
        var moment = Matrix<Double>(rows: n, columns: n)
        var meanSquares = 0.0
        moment.withUnsafeMutableBufferPointer { mb in
            let m = mb.baseAddress!, g = Double(groups)
            for i in 0..<n {
                let row = i * (i + 1) / 2
                for j in 0..<(i + 1) {
                    let mean = groupSum[row + j] / g
                    meanSquares += i == j ? mean * mean : 2 * mean * mean
                    let pooled = rawSum[row + j] / total - 0.5 * (pooledV[i] * pooledU[j] + pooledV[j] * pooledU[i])
                    m[i * n + j] = pooled
                    m[j * n + i] = pooled
                }
            }
        }
        let spread = Swift.max(0, squares - Double(groups) * meanSquares)
        return (moment, (spread / Double(groups * (groups - 1))).squareRoot())
    }
}
