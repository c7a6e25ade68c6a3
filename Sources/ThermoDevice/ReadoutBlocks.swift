import Linalg

/// Readouts of many chains collected in blocks of readout times and turned into (lag) covariance sums
/// (`MomentAccumulator`) a block at a time, so that every product is one BLAS call over many readouts.
///
/// Layout: chain `r`'s readouts of one block are consecutive rows (`block[r][t]`), so the chains of an
/// error-bar group (a contiguous range of chains) are one contiguous run of rows: one syrk per group and
/// block. With a lag, slot 0 of every chain holds the readout before the block (the first `u` of the pairs).
/// Eigenbasis chains with a quantising ADC are read in modal coordinates and rotated to the device basis by
/// one gemm per block (`X = Y Qᵀ`) before the ADC; with an ideal ADC the moments stay modal and the caller
/// rotates the result once (docs/device.md#integrators).
struct ReadoutBlocks<Scalar: BLASScalar> {
    let n: Int
    let chains: Int
    let lagged: Bool
    /// Readout times per block.
    let capacity: Int
    /// Rows per chain in `block` (`capacity`, plus the carried slot with a lag).
    let stride: Int
    let adc: UniformQuantizer?
    /// Dither of a `.subtractiveDither` ADC (drawn per readout value, docs/device.md#dithered-adc).
    var dither: Xoshiro256StarStar
    /// Rotates modal readouts to the device basis before the ADC (eigenbasis chains with a quantising ADC).
    let rotation: EigenbasisTransition<Scalar>?
    /// Reads the chains' stored state (modal for eigenbasis chains with an ideal ADC) instead of the device basis.
    let readsStoredState: Bool
    /// The chains of each error-bar group: chain `r` is in group `r · G / chains`.
    let groupRanges: [Range<Int>]
    var block: [Scalar]
    var modalBlock: [Scalar]
    var filled = 0
    var accumulator: MomentAccumulator<Scalar>

    /// - Parameter rows: target rows per block (`chains × capacity`); at least one readout time per block.
    init(chains source: LangevinChains<Scalar>, readoutsPerChain: Int, groups: Int, lagged: Bool,
         adc: UniformQuantizer?, ditherSeed: UInt64 = 0, rows: Int = 2048) {
        n = source.dimension
        chains = source.chains
        self.lagged = lagged
        self.adc = adc
        dither = Xoshiro256StarStar(seed: ditherSeed, stream: 0xD1)
        capacity = Swift.max(1, Swift.min(readoutsPerChain, rows / chains))
        stride = capacity + (lagged ? 1 : 0)
        let eigen = source.eigenbasisTransition
        rotation = adc == nil ? nil : eigen
        readsStoredState = eigen != nil && adc == nil
        let c = chains
        groupRanges = (0..<groups).map { g in ((g * c + groups - 1) / groups)..<(((g + 1) * c + groups - 1) / groups) }
        block = [Scalar](repeating: 0, count: c * stride * n)
        modalBlock = [Scalar](repeating: 0, count: rotation == nil ? 0 : c * capacity * n)
        accumulator = MomentAccumulator(n: n, groups: groups, paired: lagged)
    }

    /// Lag only: the chains' current state becomes the readout before the first block (slot 0).
    mutating func captureStart(_ source: LangevinChains<Scalar>) {
        precondition(lagged, "captureStart: only the lag protocol carries a previous readout")
        let (n, s) = (n, stride)
        var rng = dither
        defer { dither = rng }
        let body = { (p: UnsafePointer<Scalar>, ld: Int) in
            block.withUnsafeMutableBufferPointer { b in
                for r in 0..<chains {
                    let row = b.baseAddress! + r * s * n
                    for j in 0..<n { row[j] = p[r * ld + j] }
                    adc?.quantizeInPlace(UnsafeMutableBufferPointer(start: row, count: n), dither: &rng)
                }
            }
        }
        if readsStoredState { source.withStoredState(body) } else { source.withState(body) }
    }

    /// Copies the chains' current readout into the block; a full block is accumulated.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func capture(_ source: LangevinChains<Scalar>) {
        let (n, t) = (n, filled)
        if rotation != nil {
            let cap = capacity
            source.withStoredState { p, ld in
                modalBlock.withUnsafeMutableBufferPointer { m in
                    for r in 0..<chains { (m.baseAddress! + (r * cap + t) * n).update(from: p + r * ld, count: n) }
                }
            }
        } else {
            let (s, lag) = (stride, lagged ? 1 : 0)
            let body = { (p: UnsafePointer<Scalar>, ld: Int) in
                block.withUnsafeMutableBufferPointer { b in
                    for r in 0..<chains { (b.baseAddress! + (r * s + lag + t) * n).update(from: p + r * ld, count: n) }
                }
            }
            if readsStoredState { source.withStoredState(body) } else { source.withState(body) }
        }
        filled += 1
        if filled == capacity { flush() }
    }

    /// Rotates, quantises and accumulates the readouts collected so far.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func flush() {
        let k = filled, n = n, c = chains, cap = capacity, s = stride
        guard k > 0 else { return }
        filled = 0
        var rng = dither
        defer { dither = rng }
        modalBlock.withUnsafeMutableBufferPointer { mb in
            block.withUnsafeMutableBufferPointer { bb in
                let b = bb.baseAddress!
                if lagged {
                    // Per chain: rows 1...k from the modal rows (rotated) or already in place; then pairs (t−1, t).
                    for r in 0..<c {
                        let rows = b + (r * s + 1) * n
                        if let q = rotation { q.toDevice(mb.baseAddress! + r * cap * n, rows: k, ldy: n, into: rows, ldx: n) }
                        adc?.quantizeInPlace(UnsafeMutableBufferPointer(start: rows, count: k * n), dither: &rng)
                    }
                    for (g, range) in groupRanges.enumerated() {
                        let pairs = range.map { r in (u: UnsafePointer(b + r * s * n), v: UnsafePointer(b + (r * s + 1) * n)) }
                        accumulator.add(group: g, pairs: pairs, count: k)
                    }
                    for r in 0..<c { (b + r * s * n).update(from: b + (r * s + k) * n, count: n) }
                } else {
                    // A short last block: close the gaps so that chain r's k readouts start at row r·k.
                    let source = rotation == nil ? b : mb.baseAddress!
                    if k < cap { for r in 1..<Swift.max(c, 1) { (source + r * k * n).update(from: source + r * cap * n, count: k * n) } }
                    if let q = rotation { q.toDevice(source, rows: c * k, ldy: n, into: b, ldx: n) }
                    adc?.quantizeInPlace(UnsafeMutableBufferPointer(start: b, count: c * k * n), dither: &rng)
                    for (g, range) in groupRanges.enumerated() {
                        accumulator.add(group: g, rows: b + range.lowerBound * k * n, count: range.count * k)
                    }
                }
            }
        }
    }

    /// Accumulates what is left and returns the pooled moment and its batch-means standard error.
    mutating func finish() -> (moment: Matrix<Double>, standardErrorFrobenius: Double) {
        flush()
        return accumulator.finish()
    }
}
