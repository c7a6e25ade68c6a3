import CBLAS
import Linalg

/// Spatial size, channels and layout of an image batch stored one example per row, channels last:
/// element `(y, x, c)` of an example is column `(y · width + x) · channels + c` (NHWC).
public struct ImageShape: Sendable, Equatable, CustomStringConvertible {
    public let height: Int
    public let width: Int
    public let channels: Int

    public init(height: Int, width: Int, channels: Int) {
        precondition(height >= 1 && width >= 1 && channels >= 1, "image shape must be positive, got \(height)×\(width)×\(channels)")
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Features per example, `height · width · channels`.
    public var features: Int { height * width * channels }
    public var description: String { "\(height)×\(width)×\(channels)" }
}

/// A 2-D convolution (cross-correlation, as in every deep-learning library) computed as im2col + GEMM.
///
/// For an input of shape `H × W × C` (NHWC, see `ImageShape`), kernel `kh × kw`, stride `s`, zero padding
/// `p`: output `H' × W' × O` with `H' = ⌊(H + 2p − kh)/s⌋ + 1` (likewise `W'`), and
/// `y[b, i, j, o] = bias[o] + Σ_{u,v,c} W[o, (u·kw + v)·C + c] · x[b, i·s − p + u, j·s − p + v, c]`.
///
/// Implementation: the patches of all examples form one matrix `P` with `b·H'·W'` rows and `kh·kw·C`
/// columns (row = one output position, columns ordered `(u, v, c)`), so that `Y = P Wᵀ + 1 biasᵀ` is a
/// single GEMM whose `b·H'·W' × O` result is already the NHWC output. Backward: `∂L/∂W = Gᵀ P`,
/// `∂L/∂bias = Gᵀ1`, `∂L/∂P = G W` scattered back by col2im.
///
/// K-FAC (KFC, docs/kfac.md#convolutions): the capture's activations are the patches `P` and its output gradients `G`
/// (`b·H'·W' × O`), `positions = H'·W'`. Weight shape `O × (kh·kw·C)`, bias `1 × O`.
/// Initialisation (PyTorch's default): `W, b ~ U(-1/√(C·kh·kw), 1/√(C·kh·kw))`.
public final class Conv2d<Scalar: NeuralScalar>: KroneckerFactored {
    public let inputShape: ImageShape
    public let outputShape: ImageShape
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int
    public let weight: Parameter<Scalar>
    public let bias: Parameter<Scalar>?
    public var captureEnabled = false
    public private(set) var capture: KroneckerCapture<Scalar>?

    /// im2col patches of the last forward pass, `b·H'·W' × kh·kw·C`.
    private var patches = Matrix<Scalar>(rows: 0, columns: 0)
    private var examples = 0
    private var ones: [Scalar] = []
    /// `∂L/∂P`, reused between steps: the largest buffer of a CNN step (b·H'·W' × kh·kw·C); allocating
    /// it afresh each time costs page faults and zeroing comparable to the GEMMs themselves.
    private var patchGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init(input: ImageShape, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, rng: inout Xoshiro256StarStar) {
        precondition(outChannels >= 1 && kernelSize >= 1 && stride >= 1 && padding >= 0,
                     "Conv2d: out channels, kernel and stride must be positive and padding non-negative")
        let oh = (input.height + 2 * padding - kernelSize) / stride + 1
        let ow = (input.width + 2 * padding - kernelSize) / stride + 1
        precondition(input.height + 2 * padding >= kernelSize && input.width + 2 * padding >= kernelSize,
                     "Conv2d: kernel \(kernelSize) larger than padded input \(input)")
        inputShape = input
        outputShape = ImageShape(height: oh, width: ow, channels: outChannels)
        kernelHeight = kernelSize
        kernelWidth = kernelSize
        self.stride = stride
        self.padding = padding
        let fanIn = input.channels * kernelSize * kernelSize
        let bound = 1 / Scalar(fanIn).squareRoot()
        var w = Matrix<Scalar>(rows: outChannels, columns: fanIn)
        w.withUnsafeMutableBufferPointer { rng.fillUniform($0, low: -bound, high: bound) }
        weight = Parameter(name: "weight", value: w)
        if bias {
            var b = Matrix<Scalar>(rows: 1, columns: outChannels)
            b.withUnsafeMutableBufferPointer { rng.fillUniform($0, low: -bound, high: bound) }
            self.bias = Parameter(name: "bias", value: b)
        } else {
            self.bias = nil
        }
    }

    public var localParameters: [(name: String, parameter: Parameter<Scalar>)] {
        bias.map { [("weight", weight), ("bias", $0)] } ?? [("weight", weight)]
    }
    public var summary: String {
        "Conv2d(\(inputShape) → \(outputShape), \(kernelHeight)×\(kernelWidth), stride \(stride), padding \(padding))"
    }
    /// Columns of a patch, `kh·kw·C`.
    public var patchSize: Int { kernelHeight * kernelWidth * inputShape.channels }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == inputShape.features, "\(summary) got \(inputFeatures) input features")
        return outputShape.features
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        precondition(x.columns == inputShape.features, "\(summary) got input \(x.rows)×\(x.columns)")
        let b = x.rows
        examples = context.examples
        capture = nil
        let positions = outputShape.height * outputShape.width
        let rows = b * positions, k = patchSize, o = outputShape.channels
        if patches.rows != rows || patches.columns != k { patches = Matrix(rows: rows, columns: k) }
        x.withUnsafeBufferPointer { xp in
            patches.withUnsafeMutableBufferPointer { pp in im2col(xp.baseAddress!, pp.baseAddress!, batch: b) }
        }
        var y = Matrix<Scalar>(rows: b, columns: positions * o)
        guard rows > 0 else { return y }
        y.withUnsafeMutableBufferPointer { yp in
            let yb = yp.baseAddress!
            var beta: Scalar = 0
            if let bias {
                bias.value.withUnsafeBufferPointer { bp in
                    for r in 0..<rows { (yb + r * o).update(from: bp.baseAddress!, count: o) }
                }
                beta = 1
            }
            patches.withUnsafeBufferPointer { pp in
                weight.value.withUnsafeBufferPointer { wp in
                    Scalar.gemm(CblasNoTrans, CblasTrans, Int32(rows), Int32(o), Int32(k), 1,
                                pp.baseAddress!, Int32(k), wp.baseAddress!, Int32(k), beta, yb, Int32(o))
                }
            }
        }
        return y
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ outputGradient: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let positions = outputShape.height * outputShape.width
        let rows = patches.rows, k = patchSize, o = outputShape.channels
        let b = rows / positions
        precondition(outputGradient.rows == b && outputGradient.columns == positions * o,
                     "\(summary) backward got \(outputGradient.rows)×\(outputGradient.columns)")
        let g = outputGradient.reshaped(rows: rows, columns: o)
        if captureEnabled {
            capture = KroneckerCapture(activations: patches, outputGradients: g, examples: examples, hasBias: trainableBias != nil)
        }
        if options.parameterGradients {
            g.withUnsafeBufferPointer { gp in
                patches.withUnsafeBufferPointer { pp in
                    guard weight.isTrainable else { return }
                    weight.gradient.withUnsafeMutableBufferPointer { dw in
                        Scalar.gemm(CblasTrans, CblasNoTrans, Int32(o), Int32(k), Int32(rows), 1,
                                    gp.baseAddress!, Int32(o), pp.baseAddress!, Int32(k), 1, dw.baseAddress!, Int32(k))
                    }
                }
                if let bias = trainableBias {
                    if ones.count < rows { ones = [Scalar](repeating: 1, count: rows) }
                    ones.withUnsafeBufferPointer { op in
                        bias.gradient.withUnsafeMutableBufferPointer { db in
                            Scalar.gemv(CblasTrans, Int32(rows), Int32(o), 1, gp.baseAddress!, Int32(o),
                                        op.baseAddress!, 1, 1, db.baseAddress!, 1)
                        }
                    }
                }
            }
        }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        if patchGradient.rows != rows || patchGradient.columns != k { patchGradient = Matrix(rows: rows, columns: k) }
        g.withUnsafeBufferPointer { gp in
            weight.value.withUnsafeBufferPointer { wp in
                patchGradient.withUnsafeMutableBufferPointer { dp in
                    Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(rows), Int32(k), Int32(o), 1,
                                gp.baseAddress!, Int32(o), wp.baseAddress!, Int32(k), 0, dp.baseAddress!, Int32(k))
                }
            }
        }
        var dx = Matrix<Scalar>(rows: b, columns: inputShape.features)
        patchGradient.withUnsafeBufferPointer { dp in
            dx.withUnsafeMutableBufferPointer { xp in col2im(dp.baseAddress!, xp.baseAddress!, batch: b) }
        }
        return dx
    }

    /// Visits every (patch row, kernel offset) pair whose input pixel lies inside the image:
    /// `body(patchOffset, inputOffset)` for runs of `C` contiguous channels; out-of-image offsets are skipped.
    @inline(__always)
    private func forEachPatchRun(batch: Int, _ body: (Int, Int) -> Void) {
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        let k = patchSize
        for n in 0..<batch {
            let imageBase = n * h * w * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let rowBase = ((n * oh + oy) * ow + ox) * k
                    for u in 0..<kernelHeight {
                        let iy = oy * stride - padding + u
                        guard iy >= 0 && iy < h else { continue }
                        for v in 0..<kernelWidth {
                            let ix = ox * stride - padding + v
                            guard ix >= 0 && ix < w else { continue }
                            body(rowBase + (u * kernelWidth + v) * c, imageBase + (iy * w + ix) * c)
                        }
                    }
                }
            }
        }
    }

    /// Gathers the patches of `batch` images into `out` (`b·H'·W' × kh·kw·C`), zeros outside the image.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func im2col(_ x: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>, batch: Int) {
        let c = inputShape.channels
        if padding > 0 { out.update(repeating: 0, count: batch * outputShape.height * outputShape.width * patchSize) }
        if c == 1 {
            forEachPatchRun(batch: batch) { p, i in out[p] = x[i] }
        } else {
            forEachPatchRun(batch: batch) { p, i in (out + p).update(from: x + i, count: c) }
        }
    }

    /// Adds every patch gradient back onto the input pixel it came from (the adjoint of `im2col`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func col2im(_ dp: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>, batch: Int) {
        let c = inputShape.channels
        forEachPatchRun(batch: batch) { p, i in
            for j in 0..<c { dx[i + j] += dp[p + j] }
        }
    }
}
