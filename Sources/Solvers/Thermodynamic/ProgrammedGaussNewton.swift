import CBLAS
import Curvature
import Linalg
import NeuralNet
import ThermoDevice

/// The three resistor arrays of the TNGD device as they are realised (docs/tngd.md#non-ideal-arrays): `J_f`
/// (`m × N`, `m = b d_z`), `H_L` (`m × m`, block diagonal per example) and a second, physically separate
/// copy of `J_f` wired as `J_fᵀ`, each
///
///     DAC:       a ↦ q(γ a) / γ,     γ = range / max|A|   (per array; `UniformQuantizer`, nearest or stochastic)
///     mismatch:  a ↦ a (1 + ε η),    η ~ N(0, 1) per resistor, fixed for the device
///
/// so the device relaxes with `F̃ x = J̃ᵀ_b H̃ J̃_a x · s / b + λ x` instead of `F`. The damping `λ`
/// (a separate diagonal, not counted in `b d_z (b d_z + 2N)`) is taken as exact. Mismatch draws are
/// keyed by the device seed and the cell's row-major index, so the same physical cell has the same
/// error at every optimiser step; stochastic rounding draws a new pattern at every programming.
///
/// Forming `J_f` costs `m` VJPs (`m` backward passes of the batch), `O(b² d_z N)`; the products then cost
/// two `m × N` GEMVs. Used only when the configuration asks for finite-resolution converters or mismatch.
public final class ProgrammedGaussNewton<Scalar: NeuralScalar>: DeviceCurvature {
    public let dimension: Int
    public let damping: Scalar
    public let resistorCount: Int
    /// Rows `m = b d_z`.
    public let rows: Int
    /// `J̃_a` (`m × N`): the array that computes `J_f x`.
    public let forwardJacobian: Matrix<Scalar>
    /// `J̃_b` (`m × N`): the array that computes `J_fᵀ u` (used transposed).
    public let transposeJacobian: Matrix<Scalar>
    /// `H̃ s / b` (`m × m`).
    public let outputHessian: Matrix<Scalar>
    /// Relative Frobenius errors `‖Ã − A‖/‖A‖` of `J̃_a`, `J̃_b` and `H̃` (quantisation + mismatch).
    public let programmingErrors: (forward: Double, transpose: Double, hessian: Double)
    private var u: [Scalar]
    private var w: [Scalar]

    /// Programs the arrays of the ideal operator `f` through `converter` (the DAC) with mismatch `ε`.
    /// `seed` is the device's; `programming` numbers this programming (stochastic rounding draws).
    public init(_ f: GaussNewtonOperator<Scalar>, converter: DeviceConfiguration.Converter, mismatch: Double,
                seed: UInt64, programming: UInt64) {
        let lin = f.linearization
        let (b, d, n) = (lin.examples, lin.outputDimension, f.dimension)
        let m = b * d
        dimension = n
        damping = f.damping
        resistorCount = f.resistorCount
        rows = m

        // Dense J_f, one VJP per output coordinate: row (i, c) = J_fᵀ e_(i,c).
        var j = Matrix<Scalar>(rows: m, columns: n)
        var unit = Matrix<Scalar>(rows: b, columns: d)
        j.withUnsafeMutableBufferPointer { jp in
            for r in 0..<m {
                unit[r / d, r % d] = 1
                lin.vjp(unit, into: jp.baseAddress! + r * n)
                unit[r / d, r % d] = 0
            }
        }
        // Dense H_L s / b, column by column (block diagonal: column (i, c) is non-zero in rows of example i only).
        var h = Matrix<Scalar>(rows: m, columns: m)
        for r in 0..<m {
            unit[r / d, r % d] = 1
            let col = f.curvature.hessianProduct(unit)
            unit[r / d, r % d] = 0
            let i = r / d
            for c in 0..<d { h[i * d + c, r] = col[i, c] * f.dataScale / Scalar(b) }
        }

        let stride: UInt64 = 0x9E37_79B9_7F4A_7C15
        func realise(_ a: Matrix<Scalar>, array: UInt64) -> (Matrix<Scalar>, Double) {
            var out = a
            var rounding = Xoshiro256StarStar(seed: seed ^ (programming &* stride), stream: 20 + array)
            var cells = Xoshiro256StarStar(seed: seed, stream: 10 + array)
            let largest = Double(a.maxAbs)
            let quantizer = converter.bits.map { UniformQuantizer(bits: $0, range: converter.range ?? 1, rounding: converter.rounding) }
            let gain = largest > 0 ? (converter.range ?? 1) / largest : 1
            var diff = 0.0, norm = 0.0
            out.withUnsafeMutableBufferPointer { o in
                for k in o.indices {
                    let x = Double(o[k])
                    var y = x
                    if let q = quantizer {
                        y = q.quantize(x * gain, uniform: converter.rounding == .stochastic ? rounding.nextUniform() : 0.5) / gain
                    }
                    if mismatch > 0 { y *= 1 + mismatch * cells.nextNormal() }
                    o[k] = Scalar(y)
                    diff += (y - x) * (y - x)
                    norm += x * x
                }
            }
            return (out, norm > 0 ? (diff / norm).squareRoot() : 0)
        }
        let (ja, ea) = realise(j, array: 0)
        let (jb, eb) = realise(j, array: 1)
        let (hq, eh) = realise(h, array: 2)
        forwardJacobian = ja
        transposeJacobian = jb
        outputHessian = hq
        programmingErrors = (ea, eb, eh)
        u = [Scalar](repeating: 0, count: m)
        w = u
    }

    /// `result ← α F̃ x + β result`: `J̃_a x`, `H̃`, `J̃_bᵀ`, plus `λ x` (three GEMVs).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: UnsafePointer<Scalar>, alpha: Scalar, beta: Scalar, into result: UnsafeMutablePointer<Scalar>,
                      scratch: UnsafeMutablePointer<Scalar>) {
        let (m, n) = (Int32(rows), Int32(dimension))
        u.withUnsafeMutableBufferPointer { up in
            w.withUnsafeMutableBufferPointer { wp in
                forwardJacobian.withUnsafeBufferPointer { a in
                    Scalar.gemv(CblasNoTrans, m, n, 1, a.baseAddress!, n, x, 1, 0, up.baseAddress!, 1)
                }
                outputHessian.withUnsafeBufferPointer { hp in
                    Scalar.gemv(CblasNoTrans, m, m, 1, hp.baseAddress!, m, up.baseAddress!, 1, 0, wp.baseAddress!, 1)
                }
                transposeJacobian.withUnsafeBufferPointer { bt in
                    Scalar.gemv(CblasTrans, m, n, 1, bt.baseAddress!, n, wp.baseAddress!, 1, 0, scratch, 1)
                }
            }
        }
        Scalar.axpy(n, damping, x, 1, scratch, 1)
        combine(dimension, alpha: alpha, scratch, beta: beta, into: result)
    }
}
