import CBLAS
import Linalg

/// Accumulates second moments of readouts per group of chains for batch-means error bars:
/// `S_g = Σ u vᵀ` over the readout pairs `(u, v)` of group `g` (`v = u` for a covariance, `v` the
/// readout `s` later for a lag covariance), and the sums `Σ u`, `Σ v`.
///
/// Rows are buffered and flushed with one syrk (or gemm) of depth `capacity`, so the products run
/// at BLAS speed; each flush is added to Double accumulators to keep long sums accurate.
struct MomentAccumulator<Scalar: BLASScalar> {
    let n: Int
    let groups: Int
    let capacity: Int
    let paired: Bool
    var bufferU: [Scalar]
    var bufferV: [Scalar]
    var filled: [Int]
    var second: [Double]   // groups × n × n
    var sumU: [Double]     // groups × n
    var sumV: [Double]
    var counts: [Int]
    var product: [Scalar]

    init(n: Int, groups: Int, paired: Bool, capacity: Int = 256) {
        self.n = n
        self.groups = groups
        self.capacity = capacity
        self.paired = paired
        bufferU = [Scalar](repeating: 0, count: groups * capacity * n)
        bufferV = paired ? bufferU : []
        filled = [Int](repeating: 0, count: groups)
        second = [Double](repeating: 0, count: groups * n * n)
        sumU = [Double](repeating: 0, count: groups * n)
        sumV = sumU
        counts = [Int](repeating: 0, count: groups)
        product = [Scalar](repeating: 0, count: n * n)
    }

    /// Adds one readout pair (`v` ignored unless paired) to group `g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func append(group g: Int, u: UnsafePointer<Scalar>, v: UnsafePointer<Scalar>?) {
        let n = self.n
        let offset = (g * capacity + filled[g]) * n
        bufferU.withUnsafeMutableBufferPointer { b in for j in 0..<n { b[offset + j] = u[j] } }
        if paired, let v { bufferV.withUnsafeMutableBufferPointer { b in for j in 0..<n { b[offset + j] = v[j] } } }
        filled[g] += 1
        if filled[g] == capacity { flush(g) }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func flush(_ g: Int) {
        let k = filled[g]
        guard k > 0 else { return }
        let n = self.n, base = g * capacity * n
        bufferU.withUnsafeBufferPointer { ub in
            bufferV.withUnsafeBufferPointer { vb in
                product.withUnsafeMutableBufferPointer { pb in
                    let u = ub.baseAddress! + base
                    if paired {
                        // P = Vᵀ U: Σ v uᵀ (lag covariance Cov(x_{t+s}, x_t)).
                        Scalar.gemm(CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(k), 1,
                                    vb.baseAddress! + base, Int32(n), u, Int32(n), 0, pb.baseAddress!, Int32(n))
                    } else {
                        Scalar.syrk(CblasLower, CblasTrans, Int32(n), Int32(k), 1, u, Int32(n), 0, pb.baseAddress!, Int32(n))
                    }
                    second.withUnsafeMutableBufferPointer { sb in
                        let s = sb.baseAddress! + g * n * n
                        if paired {
                            for i in 0..<(n * n) { s[i] += Double(pb[i]) }
                        } else {
                            for i in 0..<n { for j in 0...i { s[i * n + j] += Double(pb[i * n + j]) } }
                        }
                    }
                    sumU.withUnsafeMutableBufferPointer { su in
                        for r in 0..<k { for j in 0..<n { su[g * n + j] += Double(u[r * n + j]) } }
                    }
                    if paired {
                        let v = vb.baseAddress! + base
                        sumV.withUnsafeMutableBufferPointer { sv in
                            for r in 0..<k { for j in 0..<n { sv[g * n + j] += Double(v[r * n + j]) } }
                        }
                    }
                }
            }
        }
        counts[g] += k
        filled[g] = 0
    }

    /// Flushes everything and returns the pooled centred moment `S/N − mean_v mean_uᵀ`
    /// (symmetrised) and the standard error of its entries from the group-to-group spread:
    /// `‖SE‖_F = sqrt(Σ_g ‖M_g − M̄‖²_F / (G(G−1)))`.
    mutating func finish() -> (moment: Matrix<Double>, standardErrorFrobenius: Double) {
        for g in 0..<groups { flush(g) }
        let n = self.n
        func centred(_ s: ArraySlice<Double>, _ su: ArraySlice<Double>, _ sv: ArraySlice<Double>, _ count: Int) -> Matrix<Double> {
            let c = Double(count)
            var m = Matrix<Double>(rows: n, columns: n)
            let s0 = s.startIndex, u0 = su.startIndex, v0 = sv.startIndex
            for i in 0..<n {
                for j in 0..<n {
                    let raw: Double
                    if paired { raw = s[s0 + i * n + j] } else { raw = i >= j ? s[s0 + i * n + j] : s[s0 + j * n + i] }
                    m[i, j] = raw / c - (sv[v0 + i] / c) * (su[u0 + j] / c)
                }
            }
            // Symmetrise: Cov(x_{t+s}, x_t) is symmetric in equilibrium; averaging with the transpose
            // keeps the estimator unbiased and lowers its variance.
            for i in 0..<n { for j in 0..<i { let a = 0.5 * (m[i, j] + m[j, i]); m[i, j] = a; m[j, i] = a } }
            return m
        }
        let total = counts.reduce(0, +)
        var pooledS = [Double](repeating: 0, count: n * n)
        var pooledU = [Double](repeating: 0, count: n), pooledV = pooledU
        for g in 0..<groups {
            for i in 0..<(n * n) { pooledS[i] += second[g * n * n + i] }
            for j in 0..<n { pooledU[j] += sumU[g * n + j]; pooledV[j] += (paired ? sumV : sumU)[g * n + j] }
        }
        let pooled = centred(pooledS[...], pooledU[...], pooledV[...], total)
        let perGroup = (0..<groups).map { g in
            centred(second[(g * n * n)..<((g + 1) * n * n)], sumU[(g * n)..<((g + 1) * n)],
                    (paired ? sumV : sumU)[(g * n)..<((g + 1) * n)], counts[g])
        }
        var mean = Matrix<Double>(rows: n, columns: n)
        for m in perGroup { mean.axpy(1 / Double(groups), m) }
        var ss = 0.0
        for m in perGroup { let d = (m - mean).frobeniusNorm; ss += d * d }
        return (pooled, (ss / Double(groups * (groups - 1))).squareRoot())
    }
}
