import Foundation
import Linalg

/// A `BLASScalar` with the elementary functions that activations and losses need, each forwarding to
/// one C routine of the platform's libm (`expf`/`exp`, …), in the style of swift-numerics' per-type
/// conformances. The names are spelled out so that they never collide with `RealModule`'s.
public protocol NeuralScalar: BLASScalar {
    /// `eˣ`.
    static func exponential(_ x: Self) -> Self
    /// Natural logarithm `ln x`.
    static func logarithm(_ x: Self) -> Self
    /// `tanh x`.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The error function `erf x = (2/√π) ∫₀ˣ e^{-t²} dt`.
    static func errorFunction(_ x: Self) -> Self

    /// `p[i] ← e^{p[i]}` for `i < count`, in place: the softmax's bulk exponential. `Float` uses the
    /// vectorised kernel of `FloatKernels` (a few ulp, docs/vit.md#kernels), `Double` libm's `exp`.
    static func exponentiate(_ p: UnsafeMutablePointer<Self>, count: Int)

    /// The exact (erf) GELU and its derivative for `count` inputs: `y[i] = x Φ(x)`, `d[i] = Φ(x) + x φ(x)`
    /// with `x = x[i]`, `Φ` the standard normal CDF and `φ` its density. `Float` uses the vectorised kernel
    /// of `FloatKernels` (`|Δy| ≤ 3·10⁻⁷|x|`, docs/vit.md#kernels), `Double` libm's `erf`/`exp`.
    static func gaussianErrorLinearUnits(_ x: UnsafePointer<Self>, values y: UnsafeMutablePointer<Self>,
                                         derivatives d: UnsafeMutablePointer<Self>, count: Int)

    /// ReLU forward, `y[i] = x[i] > 0 ? x[i] : 0` (NaN and −0 give +0), and backward through its cached output,
    /// `d[i] = y[i] > 0 ? g[i] : 0`, for `i < count`. Concrete loops (the generic element-wise helper calls
    /// its closure once per element): `Float`'s are vectorised by hand, sixteen lanes at a time.
    static func rectify(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int)
    static func maskWherePositive(_ y: UnsafePointer<Self>, _ g: UnsafePointer<Self>, _ d: UnsafeMutablePointer<Self>, count: Int)
}

extension Float: NeuralScalar {
    @inlinable public static func exponential(_ x: Float) -> Float { expf(x) }
    @inlinable public static func logarithm(_ x: Float) -> Float { logf(x) }
    @inlinable public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    @inlinable public static func errorFunction(_ x: Float) -> Float { erff(x) }
    public static func exponentiate(_ p: UnsafeMutablePointer<Float>, count: Int) {
        FloatKernels.exponentiate(p, count: count)
    }
    public static func gaussianErrorLinearUnits(_ x: UnsafePointer<Float>, values y: UnsafeMutablePointer<Float>,
                                                derivatives d: UnsafeMutablePointer<Float>, count: Int) {
        FloatKernels.gaussianErrorLinearUnits(x, values: y, derivatives: d, count: count)
    }
    public static func rectify(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        FloatKernels.rectify(x, y, count: count)
    }
    public static func maskWherePositive(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                                         count: Int) {
        FloatKernels.maskWherePositive(y, g, d, count: count)
    }
}

extension Double: NeuralScalar {
    @inlinable public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
    @inlinable public static func errorFunction(_ x: Double) -> Double { Foundation.erf(x) }
    public static func exponentiate(_ p: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { p[i] = Foundation.exp(p[i]) }
    }
    public static func gaussianErrorLinearUnits(_ x: UnsafePointer<Double>, values y: UnsafeMutablePointer<Double>,
                                                derivatives d: UnsafeMutablePointer<Double>, count: Int) {
        let invSqrt2 = 1 / 2.0.squareRoot(), invSqrt2Pi = 1 / (2 * Double.pi).squareRoot()
        for i in 0..<count {
            let v = x[i]
            let cdf = 0.5 * (1 + Foundation.erf(v * invSqrt2))
            y[i] = v * cdf
            d[i] = cdf + v * invSqrt2Pi * Foundation.exp(-0.5 * v * v)
        }
    }
    public static func rectify(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { let v = x[i]; y[i] = v > 0 ? v : 0 }
    }
    public static func maskWherePositive(_ y: UnsafePointer<Double>, _ g: UnsafePointer<Double>, _ d: UnsafeMutablePointer<Double>,
                                         count: Int) {
        for i in 0..<count { d[i] = y[i] > 0 ? g[i] : 0 }
    }
}
