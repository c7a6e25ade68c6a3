import Foundation
import Linalg

/// Standard normals for the device's thermal noise, at about one nanosecond each.
///
/// A 128-layer Ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000) in single precision fed by
/// the two 32-bit halves of each xoshiro256** output: 7 bits choose the layer, 1 bit the sign, 24
/// bits the uniform. ~98.8 % of draws return after one comparison; the rest take the exact wedge or
/// tail branch. `Linalg.Ziggurat` (256 layers, 53-bit uniforms, Double) is the general-purpose
/// sampler; this one trades resolution (24-bit uniforms, ample for noise added to Float or Double
/// states) for speed, because the simulator draws `chains × n` normals per step and at n ≈ 256
/// that costs as much as the step's GEMM.
struct NoiseSampler: @unchecked Sendable {
    static let layers = 128
    static let r = 3.442619855899
    static let v = 9.91256303526217e-3
    /// Layer edges `x[0…128]` (x[0] = v/f(r) virtual width of the base strip, x[1] = r, x[128] = 0)
    /// and `f(x) = exp(−x²/2)` at them; allocated once for the process and never freed.
    let x: UnsafeMutablePointer<Float>
    let f: UnsafeMutablePointer<Float>

    static let shared = NoiseSampler()

    private init() {
        let n = Self.layers
        var xd = [Double](repeating: 0, count: n + 1)
        let fr = exp(-0.5 * Self.r * Self.r)
        xd[0] = Self.v / fr
        xd[1] = Self.r
        for i in 1..<(n - 1) { xd[i + 1] = (-2 * log(Self.v / xd[i] + exp(-0.5 * xd[i] * xd[i]))).squareRoot() }
        xd[n] = 0
        x = .allocate(capacity: n + 1)
        f = .allocate(capacity: n + 1)
        for i in 0...n { x[i] = Float(xd[i]); f[i] = Float(exp(-0.5 * xd[i] * xd[i])) }
    }

    /// One normal from 32 random bits (more bits from `rng` only on the rare slow path).
    @inline(__always)
    func normal(_ bits: UInt32, _ rng: inout Xoshiro256StarStar) -> Float {
        let i = Int(bits & 0x7F)
        let z = Float(bits >> 8) * 0x1p-24 * x[i]
        // The sign bit set from the random bit without a branch (a random sign mispredicts half the time);
        // z ≥ 0, so this is exactly `bits & 0x80 != 0 ? -z : z`.
        if z < x[i + 1] { return Float(bitPattern: z.bitPattern | ((bits & 0x80) << 24)) }
        return slow(bits, &rng)
    }

    @inline(never)
    func slow(_ firstBits: UInt32, _ rng: inout Xoshiro256StarStar) -> Float {
        var bits = firstBits
        while true {
            let i = Int(bits & 0x7F)
            let negative = bits & 0x80 != 0
            let z = Float(bits >> 8) * 0x1p-24 * x[i]
            if z < x[i + 1] { return negative ? -z : z }
            if i == 0 {
                // Tail beyond r (Marsaglia's exact method).
                var a: Double, b: Double
                repeat {
                    a = -log(1 - rng.nextUniform()) / Self.r
                    b = -log(1 - rng.nextUniform())
                } while 2 * b <= a * a
                return Float(negative ? -(Self.r + a) : Self.r + a)
            }
            // Wedge between the layer's rectangle and the density.
            let y = Double(f[i]) + rng.nextUniform() * Double(f[i + 1] - f[i])
            if y < exp(-0.5 * Double(z) * Double(z)) { return negative ? -z : z }
            bits = UInt32(truncatingIfNeeded: rng.next())
        }
    }

    /// Fills `count` values at `p` with independent standard normals.
    @inline(__always)
    func fill(_ p: UnsafeMutablePointer<Float>, count: Int, _ rng: inout Xoshiro256StarStar) {
        var j = 0
        while j + 1 < count {
            let bits = rng.next()
            p[j] = normal(UInt32(truncatingIfNeeded: bits), &rng)
            p[j + 1] = normal(UInt32(truncatingIfNeeded: bits >> 32), &rng)
            j += 2
        }
        if j < count { p[j] = normal(UInt32(truncatingIfNeeded: rng.next()), &rng) }
    }
}
