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
}

extension Float: NeuralScalar {
    @inlinable public static func exponential(_ x: Float) -> Float { expf(x) }
    @inlinable public static func logarithm(_ x: Float) -> Float { logf(x) }
    @inlinable public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    @inlinable public static func errorFunction(_ x: Float) -> Float { erff(x) }
}

extension Double: NeuralScalar {
    @inlinable public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
    @inlinable public static func errorFunction(_ x: Double) -> Double { Foundation.erf(x) }
}
