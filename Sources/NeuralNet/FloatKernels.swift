/// Branch-free single-precision kernels for the element-wise work of transformer layers (softmax, GELU;
/// docs/vit.md#kernels). Each loop body is straight-line arithmetic with selects instead of branches and no
/// library calls, so the compiler vectorises it (libm's scalar `expf`/`erff` made up about a third of a
/// ViT training step before).
public enum FloatKernels {
    /// `e^z`, about 2 ulp on `[−87.3, 88.3]` (clamped there; NaN stays NaN). Cody–Waite reduction
    /// `z = n ln 2 + r`, `|r| ≤ ln 2 / 2`, with `n` rounded by the `1.5·2²³` shift (whose bit pattern then
    /// holds `n`), `e^r` by its degree-7 Taylor polynomial (remainder `≤ 0.347⁸/8! ≈ 5·10⁻⁹`), and `2ⁿ`
    /// written straight into the exponent bits.
    @inlinable @inline(__always)
    public static func exponential(_ z: Float) -> Float {
        let shift: Float = 12_582_912 // 1.5·2²³
        let x = z < -87.3 ? -87.3 : (z > 88.3 ? 88.3 : z)
        let t = x * 1.442_695_04 + shift // log₂e
        let n = t - shift
        let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6 // ln 2 = hi + lo, hi exact in 17 bits
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return z.isNaN ? z : p * scale
    }

    /// `p[i] ← e^{p[i]}` (see `exponential`).
    public static func exponentiate(_ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { p[i] = exponential(p[i]) }
    }

    /// `y = x Φ(x)` and `d = Φ(x) + x φ(x)` (the exact GELU and its derivative). With `z = |x|/√2`,
    /// `Φ(−|x|) = erfc(z)/2` and `erfc z ≈ t·exp(−z² + P(t))`, `t = 1/(1 + z/2)`, `P` the degree-9
    /// Chebyshev-fitted polynomial of Press et al., *Numerical Recipes* (3rd ed., §6.2.2; fractional error
    /// below 1.2·10⁻⁷ for every `z ≥ 0`, so the tail keeps its relative accuracy); `Φ(|x|) = 1 − Φ(−|x|)`.
    /// `φ(x) = e^{−z²}/√(2π)`. Inputs beyond `|x| = 13` use `|x| = 13` for `Φ`'s tail (`Φ(−13) ≈ 6·10⁻³⁹`).
    public static func gaussianErrorLinearUnits(_ x: UnsafePointer<Float>, values y: UnsafeMutablePointer<Float>,
                                                derivatives d: UnsafeMutablePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.707_106_77, invSqrt2Pi: Float = 0.398_942_28
        for i in 0..<count {
            let v = x[i]
            let a = Swift.min(v.magnitude, 13)
            let z = a * invSqrt2
            let t = 1 / (1 + 0.5 * z)
            var p: Float = 0.170_872_77
            p = p * t - 0.822_152_23
            p = p * t + 1.488_515_87
            p = p * t - 1.135_203_98
            p = p * t + 0.278_868_07
            p = p * t - 0.186_288_06
            p = p * t + 0.096_784_18
            p = p * t + 0.374_091_96
            p = p * t + 1.000_023_68
            p = p * t - 1.265_512_23
            let tail = 0.5 * t * exponential(p - z * z) // Φ(−|v|)
            let cdf = v < 0 ? tail : 1 - tail
            y[i] = v * cdf
            d[i] = cdf + v * invSqrt2Pi * exponential(-0.5 * v * v)
        }
    }

    /// ReLU, `y[i] = x[i] > 0 ? x[i] : 0`, sixteen lanes at a time with the same compare-and-select as the
    /// scalar tail, so every element is the scalar loop's bit for bit (NaN and −0 give +0). ReLU's
    /// element-wise loop through a per-element closure made up about a fifth of a CNN training step.
    public static func rectify(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        typealias V = SIMD16<Float>
        let zero = V(repeating: 0)
        var i = 0
        while i + V.scalarCount <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: zero.replacing(with: v, where: v .> zero), as: V.self)
            i += V.scalarCount
        }
        while i < count { let v = x[i]; y[i] = v > 0 ? v : 0; i += 1 }
    }

    /// ReLU's backward through its cached output: `d[i] = y[i] > 0 ? g[i] : 0`, sixteen lanes at a time.
    public static func maskWherePositive(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                                         count: Int) {
        typealias V = SIMD16<Float>
        let zero = V(repeating: 0)
        var i = 0
        while i + V.scalarCount <= count {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(d + i).storeBytes(of: zero.replacing(with: gv, where: v .> zero), as: V.self)
            i += V.scalarCount
        }
        while i < count { d[i] = y[i] > 0 ? g[i] : 0; i += 1 }
    }
}
