import RealModule

/// Standard-normal sampling by the Ziggurat method (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000)
/// with 256 layers. Written by hand because the simulated device draws one normal per chain
/// coordinate per step, so normals must cost a few nanoseconds (Box–Muller's log/sqrt/sin/cos costs
/// ~10× more). One 64-bit draw gives the layer (bits 0–7), the sign (bit 8) and a 53-bit uniform
/// (bits 11–63); ~99 % of draws return after one table comparison.
public enum Ziggurat {
    /// Layer count and the constants of the 256-layer ziggurat: `r` is the start of the tail,
    /// `v` the common area of every layer (and of the base strip plus tail).
    static let layers = 256
    @usableFromInline static let r = 3.6541528853610088
    static let v = 0.00492867323399

    /// `x[i]`: right edge of layer `i` (`x[0] = v / f(r)` is the base strip's virtual width,
    /// `x[1] = r`, `x[256] = 0`); `f[i] = exp(-x[i]²/2)`.
    @usableFromInline static let tables: (x: [Double], f: [Double]) = {
        var x = [Double](repeating: 0, count: layers + 1)
        var f = [Double](repeating: 0, count: layers + 1)
        let fr = Double.exp(-0.5 * r * r)
        x[0] = v / fr
        x[1] = r
        for i in 1..<(layers - 1) {
            // Next edge up: f(x[i+1]) = f(x[i]) + v / x[i].
            x[i + 1] = (-2 * Double.log(v / x[i] + Double.exp(-0.5 * x[i] * x[i]))).squareRoot()
        }
        x[layers] = 0
        for i in 0...layers { f[i] = Double.exp(-0.5 * x[i] * x[i]) }
        return (x, f)
    }()

    /// One standard-normal draw from `rng`.
    @inlinable
    public static func sample(_ rng: inout Xoshiro256StarStar) -> Double {
        let (x, f) = tables
        return x.withUnsafeBufferPointer { xs in
            f.withUnsafeBufferPointer { fs in
                while true {
                    let bits = rng.next()
                    let i = Int(bits & 0xFF)
                    let negative = bits & 0x100 != 0
                    let u = Double(bits >> 11) * 0x1p-53
                    let z = u * xs[i]
                    if z < xs[i + 1] { return negative ? -z : z }
                    if i == 0 {
                        // Tail beyond r (Marsaglia's method): exact for the normal tail.
                        var a: Double, b: Double
                        repeat {
                            a = -Double.log(1 - rng.nextUniform()) / r
                            b = -Double.log(1 - rng.nextUniform())
                        } while 2 * b <= a * a
                        return negative ? -(r + a) : r + a
                    }
                    // Wedge between the layer's rectangle and the curve.
                    let y = fs[i] + rng.nextUniform() * (fs[i + 1] - fs[i])
                    if y < Double.exp(-0.5 * z * z) { return negative ? -z : z }
                }
            }
        }
    }
}
