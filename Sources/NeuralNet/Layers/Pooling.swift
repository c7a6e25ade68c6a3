import Linalg

/// Max pooling over non-overlapping (or strided) `k × k` windows of an NHWC image batch:
/// `y[b, i, j, c] = max_{u,v<k} x[b, i·s + u, j·s + v, c]`, output `⌊(H − k)/s⌋ + 1` on a side.
/// Backward routes `g` to the arg-max of each window (first one on ties).
public final class MaxPool2d<Scalar: NeuralScalar>: Module {
    public let inputShape: ImageShape
    public let outputShape: ImageShape
    public let kernelSize: Int
    public let stride: Int
    /// Input offset (within the batch) of each output's maximum, from the last forward pass.
    private var argmax: [Int32] = []
    private var batch = 0

    public init(input: ImageShape, kernelSize: Int, stride: Int? = nil) {
        let s = stride ?? kernelSize
        precondition(kernelSize >= 1 && s >= 1 && kernelSize <= input.height && kernelSize <= input.width,
                     "MaxPool2d: kernel \(kernelSize) does not fit input \(input)")
        inputShape = input
        self.kernelSize = kernelSize
        self.stride = s
        outputShape = ImageShape(height: (input.height - kernelSize) / s + 1,
                                 width: (input.width - kernelSize) / s + 1, channels: input.channels)
    }

    public var summary: String { "MaxPool2d(\(kernelSize)×\(kernelSize), \(inputShape) → \(outputShape))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == inputShape.features, "\(summary) got \(inputFeatures) input features")
        return outputShape.features
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        precondition(x.columns == inputShape.features, "\(summary) got input \(x.rows)×\(x.columns)")
        batch = x.rows
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        var y = Matrix<Scalar>(rows: batch, columns: outputShape.features)
        if argmax.count != y.count { argmax = [Int32](repeating: 0, count: y.count) }
        let (k, s) = (kernelSize, stride)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                argmax.withUnsafeMutableBufferPointer { ab in
                    let (xp, yp, ap) = (xb.baseAddress!, yb.baseAddress!, ab.baseAddress!)
                    for n in 0..<batch {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                let out = ((n * oh + oy) * ow + ox) * c
                                let first = ((n * h + oy * s) * w + ox * s) * c
                                for ch in 0..<c { yp[out + ch] = xp[first + ch]; ap[out + ch] = Int32(first + ch) }
                                for u in 0..<k {
                                    for v in 0..<k where u + v > 0 {
                                        let base = ((n * h + oy * s + u) * w + ox * s + v) * c
                                        // Branch-free select over the channel run (vectorises).
                                        for ch in 0..<c {
                                            let value = xp[base + ch]
                                            let better = value > yp[out + ch]
                                            yp[out + ch] = better ? value : yp[out + ch]
                                            ap[out + ch] = better ? Int32(base + ch) : ap[out + ch]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.rows == batch && g.columns == outputShape.features, "\(summary) backward got \(g.rows)×\(g.columns)")
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        var dx = Matrix<Scalar>(rows: batch, columns: inputShape.features)
        g.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in
                argmax.withUnsafeBufferPointer { ap in
                    for i in 0..<gp.count { dp[Int(ap[i])] += gp[i] }
                }
            }
        }
        return dx
    }
}

/// Average pooling over `k × k` windows with stride `s` of an NHWC image batch:
/// `y[b, i, j, c] = (1/k²) Σ_{u,v<k} x[b, i·s + u, j·s + v, c]`; backward spreads `g/k²` over each window.
public final class AvgPool2d<Scalar: NeuralScalar>: Module {
    public let inputShape: ImageShape
    public let outputShape: ImageShape
    public let kernelSize: Int
    public let stride: Int
    private var batch = 0

    public init(input: ImageShape, kernelSize: Int, stride: Int? = nil) {
        let s = stride ?? kernelSize
        precondition(kernelSize >= 1 && s >= 1 && kernelSize <= input.height && kernelSize <= input.width,
                     "AvgPool2d: kernel \(kernelSize) does not fit input \(input)")
        inputShape = input
        self.kernelSize = kernelSize
        self.stride = s
        outputShape = ImageShape(height: (input.height - kernelSize) / s + 1,
                                 width: (input.width - kernelSize) / s + 1, channels: input.channels)
    }

    public var summary: String { "AvgPool2d(\(kernelSize)×\(kernelSize), \(inputShape) → \(outputShape))" }
    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == inputShape.features, "\(summary) got \(inputFeatures) input features")
        return outputShape.features
    }

    /// Calls `body(outputOffset, inputOffset)` for every (output pixel, window pixel) pair, per channel run.
    @inline(__always)
    private func forEachWindowPixel(_ body: (Int, Int) -> Void) {
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        for n in 0..<batch { for oy in 0..<oh { for ox in 0..<ow {
            let out = ((n * oh + oy) * ow + ox) * c
            for u in 0..<kernelSize { for v in 0..<kernelSize {
                body(out, ((n * h + oy * stride + u) * w + ox * stride + v) * c)
            } }
        } } }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        precondition(x.columns == inputShape.features, "\(summary) got input \(x.rows)×\(x.columns)")
        batch = x.rows
        let c = inputShape.channels
        let scale = 1 / Scalar(kernelSize * kernelSize)
        var y = Matrix<Scalar>(rows: batch, columns: outputShape.features)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                forEachWindowPixel { o, i in for ch in 0..<c { yp[o + ch] += scale * xp[i + ch] } }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.rows == batch && g.columns == outputShape.features, "\(summary) backward got \(g.rows)×\(g.columns)")
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        let c = inputShape.channels
        let scale = 1 / Scalar(kernelSize * kernelSize)
        var dx = Matrix<Scalar>(rows: batch, columns: inputShape.features)
        g.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in
                forEachWindowPixel { o, i in for ch in 0..<c { dp[i + ch] += scale * gp[o + ch] } }
            }
        }
        return dx
    }
}
