/// The xoshiro256** pseudo-random generator (Blackman & Vigna, 2018): 256 bits of state, period
/// 2²⁵⁶ − 1, a few cycles per 64-bit output. Seeded through SplitMix64 so that nearby seeds give
/// unrelated streams. Identical seeds give identical streams on every run and every machine: all the
/// derived draws (uniform, bounded integers, shuffles, normals) are implemented here rather than
/// through the standard library, whose algorithms may change between Swift versions.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Equatable, Codable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// The four state words; save them in a checkpoint and restore with `init(state:)`.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// A generator from a seed. `stream` selects an independent stream for the same seed (one per
    /// device, per layer, per worker), mixed into the seed through SplitMix64.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ (stream == 0 ? 0 : 0xD1B5_4A32_D192_ED03)
        var s = [UInt64](repeating: 0, count: 4)
        for i in 0..<4 { s[i] = Self.splitMix64(&sm) }
        if s.allSatisfy({ $0 == 0 }) { s[0] = 1 } // the all-zero state is the one fixed point
        (s0, s1, s2, s3) = (s[0], s[1], s[2], s[3])
    }

    /// A generator resumed from saved state words (four, not all zero).
    public init(state: [UInt64]) throws(RandomStateError) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { throw RandomStateError(words: state.count) }
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    @inline(__always)
    static func splitMix64(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A uniform draw in `[0, 1)` with 53 random bits.
    @inlinable
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform draw in `[0, 1)` converted to `S`.
    @inlinable
    public mutating func nextUniform<S: BLASScalar>(as _: S.Type) -> S { S(nextUniform()) }

    /// A uniform integer in `0..<bound` (Lemire's multiply-and-reject, unbiased).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A uniform integer in `range`.
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// Shuffles `array` in place (Fisher–Yates with this generator's bounded integers).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// A random permutation of `0..<n`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }

    /// One standard-normal draw (Ziggurat, see `Ziggurat`).
    @inlinable
    public mutating func nextNormal() -> Double { Ziggurat.sample(&self) }

    /// Fills `buffer` with independent `N(mean, std²)` draws.
    @inlinable
    public mutating func fillNormal<S: BLASScalar>(_ buffer: UnsafeMutableBufferPointer<S>, mean: S = 0, std: S = 1) {
        let m = Double(mean), s = Double(std)
        for i in buffer.indices { buffer[i] = S(m + s * Ziggurat.sample(&self)) }
    }

    /// Fills `array` with independent `N(mean, std²)` draws.
    @inlinable
    public mutating func fillNormal<S: BLASScalar>(_ array: inout [S], mean: S = 0, std: S = 1) {
        array.withUnsafeMutableBufferPointer { fillNormal($0, mean: mean, std: std) }
    }

    /// Fills `buffer` with independent uniform draws in `[low, high)`.
    @inlinable
    public mutating func fillUniform<S: BLASScalar>(_ buffer: UnsafeMutableBufferPointer<S>, low: S = 0, high: S = 1) {
        let l = Double(low), w = Double(high - low)
        for i in buffer.indices { buffer[i] = S(l + w * nextUniform()) }
    }

    /// A matrix of independent `N(mean, std²)` draws.
    public mutating func normalMatrix<S: BLASScalar>(rows: Int, columns: Int, mean: S = 0, std: S = 1) -> Matrix<S> {
        var m = Matrix<S>(rows: rows, columns: columns)
        m.withUnsafeMutableBufferPointer { fillNormal($0, mean: mean, std: std) }
        return m
    }
}

/// Saved generator state that cannot be a xoshiro256** state.
public struct RandomStateError: Error, CustomStringConvertible {
    public let words: Int
    public var description: String {
        "random generator state must be 4 words, not all zero (got \(words) words); the checkpoint is damaged"
    }
}
