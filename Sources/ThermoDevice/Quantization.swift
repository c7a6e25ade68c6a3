import Foundation
import Linalg

/// How the DAC turns a real coupling matrix into programmable levels (docs/device.md#conservative-quantisation).
public enum QuantizationScheme: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Each entry rounded to the grid independently. Can make a positive-definite matrix indefinite.
    case plainRounding
    /// Our PSD-preserving scheme: `Q(M) = round(M) + diag(r)`, `r_i = Σ_j |round(M)_ij − M_ij|`, with
    /// the corrected diagonal rounded *up* to the grid so that it is programmable. The error
    /// `Q(M) − M` is then symmetric, diagonally dominant with a non-negative diagonal, hence PSD
    /// (Gershgorin), so `Q(M) ⪰ M ≻ 0`.
    case conservative
    /// A tighter PSD-preserving scheme (docs/device.md#spectral-shift): the couplings are rounded
    /// *stochastically* (so the errors `e_ij` are independent, zero-mean and `|e_ij| < Δ`) and the diagonal
    /// is shifted by one number `t`, a matrix-Bernstein bound on `λ_max(−E)` that holds with probability
    /// `≥ 1 − spectralShiftFailureProbability`: `Q(M) = round(M) + t I ⪰ M`. `t ∝ Δ √(n log n)` instead of the
    /// Gershgorin row sums `∝ nΔ`; where the row sums happen to shift less in total (narrow factors) they are
    /// used instead (still `⪰ M`, deterministically).
    case spectralShift
    public var description: String { rawValue }

    /// `δ` of `.spectralShift`: the probability, over the rounding draws of one programming, that
    /// `λ_max(−E)` exceeds the shift (then `Q(M) ⪰ M` can fail; the device refuses an indefinite matrix).
    public static let spectralShiftFailureProbability = 1e-9
}

/// Uniform quantisation on a symmetric range: step `Δ = range / 2^(bits−1)`, levels `kΔ` clipped to
/// `[-range, range]`. Rounding is to nearest or stochastic (round up with probability equal to the
/// fractional part, so `E[q(x)] = x` inside the range).
public struct UniformQuantizer: Sendable, Equatable {
    public let bits: Int
    public let range: Double
    public let rounding: DeviceConfiguration.Converter.Rounding

    public init(bits: Int, range: Double, rounding: DeviceConfiguration.Converter.Rounding = .nearest) {
        // Converters are validated to at most 24 bits; 50 keeps `quantizeNearest`'s rounding exact.
        precondition(bits >= 1 && bits <= 50 && range > 0, "UniformQuantizer needs 1 ≤ bits ≤ 50 and range > 0")
        self.bits = bits
        self.range = range
        self.rounding = rounding
    }

    /// The grid step Δ.
    @inlinable public var step: Double { range / Double(1 << (bits - 1)) }

    /// `x` clipped to the range and rounded to the nearest level (ties to even): `quantize` for `.nearest`
    /// rounding, without the switch over roundings, so that a loop over it vectorises.
    @inlinable
    public func quantizeNearest(_ x: Double) -> Double {
        let d = step
        let v = Swift.min(Swift.max(x, -range), range) / d
        // |v| ≤ 2^(bits−1) ≤ 2⁴⁹ (bits ≤ 50, checked at init): adding and subtracting 1.5·2⁵² rounds to the nearest integer, ties to even, exactly
        // as `rounded(.toNearestOrEven)` does (a libm `rint` call per element on baseline x86-64, which also keeps
        // the loop scalar); a zero takes the sign of `v`, as `rint`'s does. The same bits, vectorisable.
        let r = (v + 0x1.8p52) - 0x1.8p52
        return (r == 0 ? 0 * v : r) * d
    }

    /// Quantises one value; `uniform` in `[0, 1)` is used by stochastic rounding only.
    @inlinable
    public func quantize(_ x: Double, uniform: Double = 0.5) -> Double {
        let d = step
        let clipped = Swift.min(Swift.max(x, -range), range)
        let scaled = clipped / d
        let level: Double
        switch rounding {
        case .nearest: return quantizeNearest(x)
        case .stochastic:
            let f = scaled.rounded(.down)
            level = f + ((scaled - f) > uniform ? 1 : 0)
        case .subtractiveDither:
            // y = Q(x + u') − u', u' = (uniform − ½)Δ: the error is uniform on [−Δ/2, Δ/2) and independent of x.
            let dither = (uniform - 0.5) * d
            return (Swift.min(Swift.max(x + dither, -range), range) / d).rounded(.toNearestOrEven) * d - dither
        }
        return level * d
    }

    /// Quantises a symmetric matrix with `scheme`. Only the lower triangle is read (and rounded
    /// once per coupling, mirrored to keep the result exactly symmetric). `rng` drives stochastic rounding
    /// (always used by `.spectralShift`).
    public func quantize<S: BLASScalar>(symmetric m: Matrix<S>, scheme: QuantizationScheme,
                                        rng: inout Xoshiro256StarStar) -> Matrix<S> {
        let n = m.rows, d = step
        let stochastic = rounding == .stochastic || scheme == .spectralShift
        let rounder = UniformQuantizer(bits: bits, range: range, rounding: stochastic ? .stochastic : .nearest)
        var q = Matrix<Double>(rows: n, columns: n)
        // r_i = Σ_j |err_ij| in the order j = 0, 1, …, n−1: row i's pass adds j ≤ i, the later rows k > i add
        // err_ki = err_ik in increasing k. `.spectralShift` also needs, per row, the rounding variances
        // v_ij = f(1−f)Δ² (f: fractional part in steps) and the deterministic clipping errors c_i = Σ_j |clip_ij|.
        var r = [Double](repeating: 0, count: n)
        var variance = [Double](repeating: 0, count: scheme == .spectralShift ? n : 0), clip = variance
        m.withUnsafeBufferPointer { mp in
            q.withUnsafeMutableBufferPointer { qp in
                r.withUnsafeMutableBufferPointer { rp in
                    for i in 0..<n {
                        for j in 0..<(i + 1) {
                            let x = Double(mp[i * n + j])
                            let v = rounder.quantize(x, uniform: stochastic ? rng.nextUniform() : 0.5)
                            qp[i * n + j] = v
                            let e = abs(v - x)
                            rp[i] += e
                            if j < i { rp[j] += e }
                            if scheme == .spectralShift {
                                let clipped = Swift.min(Swift.max(x, -range), range)
                                let f = clipped / d - (clipped / d).rounded(.down)
                                let c = abs(clipped - x), vij = f * (1 - f) * d * d
                                variance[i] += vij; clip[i] += c
                                if j < i { variance[j] += vij; clip[j] += c }
                            }
                        }
                    }
                    for i in 0..<n { for j in 0..<i { qp[j * n + i] = qp[i * n + j] } }
                }
            }
        }
        var shift = scheme == .conservative ? r : [Double](repeating: 0, count: n)
        if scheme == .spectralShift {
            let t = Self.spectralShift(order: n, maximumRowVariance: variance.max() ?? 0, largestError: d)
            // Both corrections are ⪰ M; keep the one that adds less damping in total (its trace).
            if Double(n) * t + clip.reduce(0, +) < r.reduce(0, +) { shift = clip.map { $0 + t } } else { shift = r }
        }
        if scheme != .plainRounding {
            for i in 0..<n {
                // Round the corrected diagonal up to the grid: still ≥ round(M)_ii + shift_i, so still PSD-preserving.
                // (The diagonal may exceed the range: it is the one entry allowed to, as a bias to ground.)
                q[i, i] = ((q[i, i] + shift[i]) / d).rounded(.up) * d
            }
        }
        return convert(q, to: S.self)
    }

    /// The `.spectralShift` bound (docs/device.md#spectral-shift): for `E = Σ_k X_k`, a sum of independent,
    /// zero-mean symmetric `n × n` matrices with `λ_max(−X_k) ≤ R` and `‖Σ_k E[X_k²]‖ = σ²`, matrix Bernstein gives
    /// `P(λ_max(−E) ≥ t) ≤ n exp(−(t²/2)/(σ² + Rt/3))`. Setting the right side to `δ` and solving for `t`:
    ///
    ///     t = R L/3 + sqrt((R L/3)² + 2 σ² L),   L = ln(n/δ).
    ///
    /// For stochastically rounded couplings `X_ij = e_ij (e_i e_jᵀ + e_j e_iᵀ)` (`i ≠ j`, one per coupling) or
    /// `e_ii e_i e_iᵀ`, so `R = Δ` and `Σ E[X²] = diag(Σ_j v_ij)`: `σ²` is the largest row sum of the rounding
    /// variances `v_ij = f(1−f)Δ²` (at most `nΔ²/4`).
    public static func spectralShift(order n: Int, maximumRowVariance sigma2: Double, largestError r: Double,
                                     failureProbability delta: Double = QuantizationScheme.spectralShiftFailureProbability) -> Double {
        let l = Foundation.log(Double(Swift.max(n, 1)) / delta), a = r * l / 3
        return a + (a * a + 2 * sigma2 * l).squareRoot()
    }

    /// Quantises every element of a buffer in place (ADC readouts): with `.subtractiveDither` each value gets
    /// its own dither from `dither` (docs/device.md#dithered-adc), otherwise it is rounded to nearest.
    public func quantizeInPlace<S: BLASScalar>(_ buffer: UnsafeMutableBufferPointer<S>, dither: inout Xoshiro256StarStar) {
        guard rounding == .subtractiveDither else { return quantizeInPlace(buffer) }
        for i in 0..<buffer.count { buffer[i] = S(quantize(Double(buffer[i]), uniform: dither.nextUniform())) }
    }

    /// Quantises every element of a buffer in place (ADC readouts; round to nearest).
    @inlinable
    public func quantizeInPlace<S: BLASScalar>(_ buffer: UnsafeMutableBufferPointer<S>) {
        let d = S(step), inv = S(1 / step), r = S(range)
        guard let p = buffer.baseAddress else { return }
        // |c · inv| ≤ 2^(bits−1): below 2^(p−2) (p the significand bits) adding and subtracting 1.5·2^(p−1)
        // rounds to nearest-even exactly as `rounded(.toNearestOrEven)`, in two vectorisable additions.
        if bits <= S.significandBitCount - 1 {
            let magic = S(sign: .plus, exponent: S.Exponent(S.significandBitCount), significand: 1.5)
            for i in 0..<buffer.count {
                let c = Swift.min(Swift.max(p[i], -r), r)
                p[i] = ((c * inv + magic) - magic) * d
            }
            return
        }
        for i in 0..<buffer.count {
            let c = Swift.min(Swift.max(p[i], -r), r)
            p[i] = (c * inv).rounded(.toNearestOrEven) * d
        }
    }

    /// `sums[i] += Double(q(x[i]))` for `count` readout values, rounded to nearest exactly as `quantizeInPlace`
    /// (the same arithmetic in `S`), without a copy of the readout (a mean's sums of ADC codes).
    @inlinable
    public func accumulateQuantized<S: BLASScalar>(_ x: UnsafePointer<S>, count: Int, into sums: UnsafeMutablePointer<Double>) {
        precondition(rounding != .subtractiveDither, "accumulateQuantized: a dithered ADC draws its dither in quantizeInPlace")
        let d = S(step), inv = S(1 / step), r = S(range)
        if bits <= S.significandBitCount - 1 {
            let magic = S(sign: .plus, exponent: S.Exponent(S.significandBitCount), significand: 1.5)
            for i in 0..<count {
                let c = Swift.min(Swift.max(x[i], -r), r)
                sums[i] += Double(((c * inv + magic) - magic) * d)
            }
            return
        }
        for i in 0..<count {
            let c = Swift.min(Swift.max(x[i], -r), r)
            sums[i] += Double((c * inv).rounded(.toNearestOrEven) * d)
        }
    }
}

extension DeviceConfiguration {
    /// Full-scale range of the coupling DAC for the scaled matrix `nominal` (`α A`, `λ_max ≤ couplingRange`).
    ///
    /// Fixed (`inputConverter.range` set): the grid `Δ = range / 2^(bits−1)` is the same for every matrix.
    /// Auto (`range == nil`): the digital side normalises each matrix to the DAC's full scale before sending,
    /// as quantised ML does per tensor — range = `max_ij |α a_ij|`, which for a PSD matrix is the largest
    /// diagonal entry. Why this matters: scaling to `λ_max ≤ 1` leaves the entries of an `n × n` factor
    /// dominated by one eigenvalue at `≈ 1/n` (≈ 0.001 for a 785-wide K-FAC factor), below half of a fixed
    /// 8-bit step `1/128`: the off-diagonals round to zero and the conservative correction
    /// `r_i = Σ_j |err_ij|` (≈ the row's absolute sum) turns the programmed matrix into ≈ `diag(r)`.
    /// Relative to absmax, the rounding error is then `Δ/√12` per entry whatever the matrix's scale.
    public func couplingDACRange(for nominal: Matrix<Double>) -> Double {
        if let r = inputConverter.range { return r }
        return Swift.max(nominal.maxAbs, .leastNormalMagnitude)
    }
}

/// What the coupling DAC did to one matrix (diagnostics of `ThermodynamicDevice.program`; all in the
/// device's scaled units).
public struct DACStatistics: Sendable, Equatable {
    /// Full-scale range used (fixed, or the matrix's absmax when auto-ranged).
    public let range: Double
    /// Grid step Δ = range / 2^(bits−1).
    public let step: Double
    /// Largest |entry| of the scaled matrix before quantisation.
    public let absoluteMaximum: Double
    /// Fraction of the non-zero off-diagonal couplings that the DAC rounded to zero.
    public let zeroedOffDiagonalFraction: Double
    /// Root-mean-square rounding error of the off-diagonal couplings divided by Δ (uniform rounding
    /// error predicts `1/√12 ≈ 0.289` once the entries spread over several steps).
    public let offDiagonalRMSErrorOverStep: Double
    /// Mean diagonal shift `Q(M)_ii − M_ii` over the mean diagonal `M_ii`: the conservative correction
    /// acts as this much extra relative damping (≈ 0 for plain rounding).
    public let diagonalShiftOverMeanDiagonal: Double

    /// Compares the scaled matrix `nominal` with its quantised version.
    public init(nominal: Matrix<Double>, quantized: Matrix<Double>, quantizer: UniformQuantizer) {
        let n = nominal.rows
        var nonZero = 0, zeroed = 0, pairs = 0
        var squared = 0.0, shift = 0.0, diagonal = 0.0
        nominal.withUnsafeBufferPointer { np in
            quantized.withUnsafeBufferPointer { qp in
                for i in 0..<n {
                    shift += qp[i * n + i] - np[i * n + i]
                    diagonal += np[i * n + i]
                    for j in 0..<i {
                        let x = np[i * n + j], q = qp[i * n + j]
                        pairs += 1
                        squared += (q - x) * (q - x)
                        if x != 0 { nonZero += 1; if q == 0 { zeroed += 1 } }
                    }
                }
            }
        }
        range = quantizer.range
        step = quantizer.step
        absoluteMaximum = nominal.maxAbs
        zeroedOffDiagonalFraction = nonZero > 0 ? Double(zeroed) / Double(nonZero) : 0
        offDiagonalRMSErrorOverStep = pairs > 0 ? (squared / Double(pairs)).squareRoot() / step : 0
        diagonalShiftOverMeanDiagonal = diagonal > 0 ? shift / diagonal : 0
    }
}
