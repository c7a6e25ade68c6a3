import Linalg

/// How the DAC turns a real coupling matrix into programmable levels (REFERENCE.md §3).
public enum QuantizationScheme: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Each entry rounded to the grid independently. Can make a positive-definite matrix indefinite.
    case plainRounding
    /// Our PSD-preserving scheme: `Q(M) = round(M) + diag(r)`, `r_i = Σ_j |round(M)_ij − M_ij|`, with
    /// the corrected diagonal rounded *up* to the grid so that it is programmable. The error
    /// `Q(M) − M` is then symmetric, diagonally dominant with a non-negative diagonal, hence PSD
    /// (Gershgorin), so `Q(M) ⪰ M ≻ 0`.
    case conservative
    public var description: String { rawValue }
}

/// Uniform quantisation on a symmetric range: step `Δ = range / 2^(bits−1)`, levels `kΔ` clipped to
/// `[-range, range]`. Rounding is to nearest or stochastic (round up with probability equal to the
/// fractional part, so `E[q(x)] = x` inside the range).
public struct UniformQuantizer: Sendable, Equatable {
    public let bits: Int
    public let range: Double
    public let rounding: DeviceConfiguration.Converter.Rounding

    public init(bits: Int, range: Double, rounding: DeviceConfiguration.Converter.Rounding = .nearest) {
        precondition(bits >= 1 && range > 0, "UniformQuantizer needs bits ≥ 1 and range > 0")
        self.bits = bits
        self.range = range
        self.rounding = rounding
    }

    /// The grid step Δ.
    @inlinable public var step: Double { range / Double(1 << (bits - 1)) }

    /// Quantises one value; `uniform` in `[0, 1)` is used by stochastic rounding only.
    @inlinable
    public func quantize(_ x: Double, uniform: Double = 0.5) -> Double {
        let d = step
        let clipped = Swift.min(Swift.max(x, -range), range)
        let scaled = clipped / d
        let level: Double
        switch rounding {
        case .nearest: level = scaled.rounded(.toNearestOrEven)
        case .stochastic:
            let f = scaled.rounded(.down)
            level = f + ((scaled - f) > uniform ? 1 : 0)
        }
        return level * d
    }

    /// Quantises a symmetric matrix with `scheme`. Only the lower triangle is read (and rounded
    /// once per coupling, mirrored to keep the result exactly symmetric). `rng` drives stochastic rounding.
    public func quantize<S: BLASScalar>(symmetric m: Matrix<S>, scheme: QuantizationScheme,
                                        rng: inout Xoshiro256StarStar) -> Matrix<S> {
        let n = m.rows
        var q = Matrix<Double>(rows: n, columns: n)
        var err = Matrix<Double>(rows: n, columns: n)
        for i in 0..<n {
            for j in 0...i {
                let x = Double(m[i, j])
                let v = quantize(x, uniform: rounding == .stochastic ? rng.nextUniform() : 0.5)
                q[i, j] = v; q[j, i] = v
                err[i, j] = abs(v - x); err[j, i] = err[i, j]
            }
        }
        if scheme == .conservative {
            let d = step
            for i in 0..<n {
                var r = 0.0
                for j in 0..<n { r += err[i, j] }
                // Round the corrected diagonal up to the grid: still ≥ round(M)_ii + r_i, so still PSD-preserving.
                // (The diagonal may exceed the range: it is the one entry allowed to, as a bias to ground.)
                q[i, i] = ((q[i, i] + r) / d).rounded(.up) * d
            }
        }
        return q.converted(to: S.self)
    }

    /// Quantises every element of a buffer in place (ADC readouts; round to nearest).
    @inlinable
    public func quantizeInPlace<S: BLASScalar>(_ buffer: UnsafeMutableBufferPointer<S>) {
        let d = S(step), inv = S(1 / step), r = S(range)
        for i in buffer.indices {
            let c = Swift.min(Swift.max(buffer[i], -r), r)
            buffer[i] = (c * inv).rounded(.toNearestOrEven) * d
        }
    }
}
