import Linalg

/// Shared machinery of element-wise activations `y = f(x)`: the forward map and `∂L/∂x = f'(x) ⊙ g`,
/// each one loop over raw buffers written without a zeroing pass, split over `ParallelLoop`'s threads
/// (each element is computed alone, so the split never changes a result). The `kernel:` forms take a loop over
/// a contiguous range (ReLU's concrete `NeuralScalar` kernels): a per-element closure handed through the
/// parallel loop was not inlined and cost a call per element (a fifth of a CNN step for ReLU); the closure
/// forms wrap theirs in such a loop.
@usableFromInline @inline(__always)
@_specialize(where S == Float)
@_specialize(where S == Double)
func elementwise<S: BLASScalar>(_ x: Matrix<S>, kernel: (UnsafePointer<S>, UnsafeMutablePointer<S>, Int) -> Void) -> Matrix<S> {
    guard x.count > 0 else { return x }
    return x.withUnsafeBufferPointer { xb in
        Matrix<S>(rows: x.rows, columns: x.columns) { yb in
            let (xp, yp) = (xb.baseAddress!, yb.baseAddress!)
            ParallelLoop.forEachChunk(xb.count) { r in kernel(xp + r.lowerBound, yp + r.lowerBound, r.count) }
        }
    }
}

/// `elementwise(_:kernel:)` with a per-element map.
@usableFromInline @inline(__always)
func elementwise<S: BLASScalar>(_ x: Matrix<S>, _ f: (S) -> S) -> Matrix<S> {
    elementwise(x) { xp, yp, n in for i in 0..<n { yp[i] = f(xp[i]) } }
}

/// `∂L/∂x` from the cached tensor and `g` by `kernel(cached, g, out, count)` over contiguous ranges.
@usableFromInline @inline(__always)
@_specialize(where S == Float)
@_specialize(where S == Double)
func elementwiseBackward<S: BLASScalar>(_ cached: Matrix<S>, _ g: Matrix<S>, layer: String,
                                         kernel: (UnsafePointer<S>, UnsafePointer<S>, UnsafeMutablePointer<S>, Int) -> Void)
    -> Matrix<S> {
    precondition(g.rows == cached.rows && g.columns == cached.columns,
                 "\(layer) backward got \(g.rows)×\(g.columns), expected \(cached.rows)×\(cached.columns)")
    guard g.count > 0 else { return g }
    return cached.withUnsafeBufferPointer { cb in
        g.withUnsafeBufferPointer { gb in
            Matrix<S>(rows: g.rows, columns: g.columns) { db in
                let (cp, gp, dp) = (cb.baseAddress!, gb.baseAddress!, db.baseAddress!)
                ParallelLoop.forEachChunk(gb.count) { r in kernel(cp + r.lowerBound, gp + r.lowerBound, dp + r.lowerBound, r.count) }
            }
        }
    }
}

/// `elementwiseBackward(_:_:layer:kernel:)` with a per-element `f'(·) ⊙ g`.
@usableFromInline @inline(__always)
func elementwiseBackward<S: BLASScalar>(_ cached: Matrix<S>, _ g: Matrix<S>, layer: String,
                                         _ derivativeTimes: (S, S) -> S) -> Matrix<S> {
    elementwiseBackward(cached, g, layer: layer) { cp, gp, dp, n in for i in 0..<n { dp[i] = derivativeTimes(cp[i], gp[i]) } }
}

/// Rectified linear unit `y = max(x, 0)`; `∂y/∂x = 1[x > 0]` (0 at the kink). Caches the output. Both passes
/// are `NeuralScalar`'s concrete loops (`rectify`, `maskWherePositive`; hand-vectorised for `Float`) split over
/// `ParallelLoop`'s threads.
public final class ReLU<Scalar: NeuralScalar>: Module {
    private var output = Matrix<Scalar>(rows: 0, columns: 0)
    public init() {}
    public var summary: String { "ReLU" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        output = elementwise(x, kernel: Scalar.rectify)
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return elementwiseBackward(output, g, layer: "ReLU", kernel: Scalar.maskWherePositive)
    }
}

/// Gaussian error linear unit, exact form: `y = x Φ(x) = ½ x (1 + erf(x/√2))`;
/// `∂y/∂x = Φ(x) + x φ(x)` with `φ(x) = e^{-x²/2}/√(2π)`. The forward pass computes both in one loop
/// (`NeuralScalar.gaussianErrorLinearUnits`, vectorised for `Float`) and caches the derivative, so the
/// backward pass is one product `g ⊙ ∂y/∂x`.
public final class GELU<Scalar: NeuralScalar>: Module {
    private var derivative = Matrix<Scalar>(rows: 0, columns: 0)
    public init() {}
    public var summary: String { "GELU" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        var y = Matrix<Scalar>(rows: 0, columns: 0)
        derivative = x.withUnsafeBufferPointer { xb in
            Matrix<Scalar>(rows: x.rows, columns: x.columns) { db in
                y = Matrix<Scalar>(rows: x.rows, columns: x.columns) { yb in
                    guard xb.count > 0 else { return }
                    let (xp, yp, dp) = (xb.baseAddress!, yb.baseAddress!, db.baseAddress!)
                    ParallelLoop.forEachChunk(xb.count, workPerIndex: 32) { range in
                        Scalar.gaussianErrorLinearUnits(xp + range.lowerBound, values: yp + range.lowerBound,
                                                        derivatives: dp + range.lowerBound, count: range.count)
                    }
                }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return elementwiseBackward(derivative, g, layer: "GELU") { d, g in d * g }
    }
}

/// Hyperbolic tangent `y = tanh x`; `∂y/∂x = 1 − y²`. Caches the output.
public final class Tanh<Scalar: NeuralScalar>: Module {
    private var output = Matrix<Scalar>(rows: 0, columns: 0)
    public init() {}
    public var summary: String { "Tanh" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int { inputFeatures }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        output = elementwise(x) { Scalar.hyperbolicTangent($0) }
        return output
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        return elementwiseBackward(output, g, layer: "Tanh") { y, g in g * (1 - y * y) }
    }
}
