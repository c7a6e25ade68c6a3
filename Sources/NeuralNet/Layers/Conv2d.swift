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
public final class Conv2d<Scalar: NeuralScalar>: KroneckerFactored, FixedWidthModule {
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
    /// `∂L/∂P` of one chunk of examples (about `patchGradientChunkElements` scalars), reused between steps
    /// and chunks: the full `b·H'·W' × kh·kw·C` matrix would be the largest buffer of a CNN step.
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

    public var inputWidth: Int { inputShape.features }
    public var outputWidth: Int { outputShape.features }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        requireInputWidth(x)
        let b = x.rows
        examples = context.examples
        capture = nil
        let positions = outputShape.height * outputShape.width
        let rows = b * positions, k = patchSize, o = outputShape.channels
        if patches.rows != rows || patches.columns != k { patches = Matrix(rows: rows, columns: k) }
        x.withUnsafeBufferPointer { xp in
            patches.withUnsafeMutableBufferPointer { pp in im2col(xp.baseAddress!, pp.baseAddress!, batch: b) }
        }
        return affineForward(patches, resultRows: b, resultColumns: positions * o)
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
        if options.parameterGradients { accumulateAffineGradients(outputGradient: g, input: patches, ones: &ones) }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        // ∂L/∂P = G W and its col2im, a chunk of examples at a time: the chunk's patch gradient stays in
        // cache between the GEMM that writes it and the scatter that reads it (each row of G W depends on
        // its own row of G only, so chunking changes no result).
        let chunk = max(1, min(b, Self.patchGradientChunkElements / max(positions * k, 1)))
        if patchGradient.rows != chunk * positions || patchGradient.columns != k {
            patchGradient = Matrix(rows: chunk * positions, columns: k)
        }
        let imageSize = inputShape.features
        guard b > 0 else { return Matrix(rows: 0, columns: imageSize) }
        return Matrix<Scalar>(rows: b, columns: imageSize) { xp in
            let dx = xp.baseAddress!
            g.withUnsafeBufferPointer { gp in
                weight.value.withUnsafeBufferPointer { wp in
                    patchGradient.withUnsafeMutableBufferPointer { dp in
                        var first = 0
                        while first < b {
                            let count = min(chunk, b - first)
                            let chunkRows = count * positions
                            Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(chunkRows), Int32(k), Int32(o), 1,
                                        gp.baseAddress! + first * positions * o, Int32(o), wp.baseAddress!, Int32(k),
                                        0, dp.baseAddress!, Int32(k))
                            col2im(dp.baseAddress!, dx + first * imageSize, batch: count)
                            first += count
                        }
                    }
                }
            }
        }
    }

    /// Elements of the reused patch-gradient buffer (about 4 MiB of Float): the examples of one backward
    /// chunk.
    private static var patchGradientChunkElements: Int { 1 << 20 }

    /// Visits the patch rows of the examples in `examples` (all kernel rows `u`, also those outside the
    /// image): `body(patchOffset, inputOffset, inside, vLow, vHigh)` for each (row, u), where the kernel
    /// columns `vLow..<vHigh` read the `(vHigh − vLow)·C` contiguous inputs from `inputOffset` to patch
    /// offset `patchOffset + vLow·C`; the rest of the `kw·C` run is outside the image (`inside` is false
    /// when the whole kernel row is).
    @inline(__always)
    private func forEachKernelRow(examples: Range<Int>, _ body: (Int, Int, Bool, Int, Int) -> Void) {
        let (h, w, c) = (inputShape.height, inputShape.width, inputShape.channels)
        let (oh, ow) = (outputShape.height, outputShape.width)
        let (k, kw) = (patchSize, kernelWidth)
        for n in examples {
            let imageBase = n * h * w * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let rowBase = ((n * oh + oy) * ow + ox) * k
                    let x0 = ox * stride - padding
                    let vLow = max(0, -x0), vHigh = min(kw, w - x0)
                    for u in 0..<kernelHeight {
                        let iy = oy * stride - padding + u
                        let inside = iy >= 0 && iy < h && vLow < vHigh
                        body(rowBase + u * kw * c, imageBase + (iy * w + x0 + vLow) * c, inside, vLow, vHigh)
                    }
                }
            }
        }
    }

    /// Gathers the patches of `batch` images into `out` (`b·H'·W' × kh·kw·C`), zeros outside the image;
    /// each element written once, examples split over `ParallelLoop`'s threads.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func im2col(_ x: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>, batch: Int) {
        let c = inputShape.channels, run = kernelWidth * inputShape.channels
        ParallelLoop.forEachChunk(batch, workPerIndex: outputShape.height * outputShape.width * patchSize) { examples in
            forEachKernelRow(examples: examples) { p, i, inside, vLow, vHigh in
                let dst = out + p
                guard inside else { dst.update(repeating: 0, count: run); return }
                if vLow > 0 { dst.update(repeating: 0, count: vLow * c) }
                let count = (vHigh - vLow) * c
                if count == 1 { dst[vLow * c] = x[i] } else { (dst + vLow * c).update(from: x + i, count: count) }
                if vHigh * c < run { (dst + vHigh * c).update(repeating: 0, count: run - vHigh * c) }
            }
        }
    }

    /// Adds every patch gradient back onto the input pixel it came from (the adjoint of `im2col`) into
    /// `dx`, which it zeroes first: `batch` images, split over `ParallelLoop`'s threads (images are
    /// disjoint; within one, contributions are added in patch-row order whatever the split).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func col2im(_ dp: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>, batch: Int) {
        let c = inputShape.channels, imageSize = inputShape.features
        ParallelLoop.forEachChunk(batch, workPerIndex: outputShape.height * outputShape.width * patchSize) { examples in
            (dx + examples.lowerBound * imageSize).update(repeating: 0, count: examples.count * imageSize)
            forEachKernelRow(examples: examples) { p, i, inside, vLow, vHigh in
                guard inside else { return }
                let src = dp + p + vLow * c, dst = dx + i
                for j in 0..<((vHigh - vLow) * c) { dst[j] += src[j] }
            }
        }
    }
}
