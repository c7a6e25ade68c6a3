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
    /// `∂L/∂P` of one chunk of examples (`patchGradientChunkElements` to twice that), reused between steps
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
        guard b > 0 else { return Matrix(rows: 0, columns: positions * o) }
        // im2col and the affine GEMM a chunk of examples at a time, so that the GEMM reads the chunk's patches
        // and bias rows while they are still in cache instead of back from memory (the second conv of the small
        // CNN has 58 MB of patches at b = 256). One parallel loop per chunk writes both. Each output row depends
        // on its own patch row only (see `chunks`).
        let imageSize = inputShape.features
        let parts = Self.chunks(b, examplesPerChunk: Self.forwardChunkElements / max(positions * k, 1),
                                gemmWorkPerExample: positions * k * o)
        return Matrix<Scalar>(rows: b, columns: positions * o) { yb in
            x.withUnsafeBufferPointer { xb in
                patches.withUnsafeMutableBufferPointer { pb in
                    for part in 0..<parts.count {
                        let span = parts.range(part)
                        let xc = xb.baseAddress! + span.lowerBound * imageSize
                        let pc = pb.baseAddress! + span.lowerBound * positions * k
                        let yc = yb.baseAddress! + span.lowerBound * positions * o
                        ParallelLoop.forEachChunk(span.count, workPerIndex: positions * (k + o)) { examples in
                            im2col(xc, pc, examples: examples)
                            writeBiasRows(yc + examples.lowerBound * positions * o, rows: examples.count * positions)
                        }
                        affineProduct(pc, rows: span.count * positions, into: yc)
                    }
                }
            }
        }
    }

    /// Patch elements per forward chunk (1 MiB of Float): about what stays in a core's L2 cache.
    private static var forwardChunkElements: Int { 1 << 18 }

    /// `b` examples split into `count` contiguous chunks of `examplesPerChunk` to `2·examplesPerChunk`
    /// examples (one chunk when `b` is smaller), none with less GEMM work (`m·n·k`) than `minimumGEMMWork`.
    /// Why the floor: OpenBLAS rounds a row of a product the same way whatever its place among the rows only
    /// while the products take its blocked path; small products (`m·n·k` below about 10⁵–10⁶, depending on
    /// the shapes) take a different kernel, so a small chunk of a large batch could change the last bits.
    /// With the floor, chunked layers give one GEMM's bits (checked on the CNN's shapes in KernelTests).
    struct Chunks {
        let examples: Int
        let count: Int
        /// The examples of chunk `i`.
        func range(_ i: Int) -> Range<Int> { (examples * i / count)..<(examples * (i + 1) / count) }
        /// The most examples in one chunk.
        var largest: Int { (examples + count - 1) / count }
    }

    static var minimumGEMMWork: Int { 1 << 21 }

    static func chunks(_ b: Int, examplesPerChunk: Int, gemmWorkPerExample: Int) -> Chunks {
        let floor = (minimumGEMMWork + max(gemmWorkPerExample, 1) - 1) / max(gemmWorkPerExample, 1)
        let size = max(1, examplesPerChunk, floor)
        return Chunks(examples: b, count: max(1, b / size))
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
            // Patches narrower than the output (a grey image's 9 columns vs 32 channels): the faster orientation.
            accumulateAffineGradients(outputGradient: g, input: patches, ones: &ones, transposedProduct: k < o)
        }
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        // ∂L/∂P = G W and its col2im, a chunk of examples at a time: the chunk's patch gradient stays in
        // cache between the GEMM that writes it and the scatter that reads it (each row of G W depends on
        // its own row of G only, so chunking changes no result; see `chunks`).
        let parts = Self.chunks(b, examplesPerChunk: Self.patchGradientChunkElements / max(positions * k, 1),
                                gemmWorkPerExample: positions * k * o)
        if patchGradient.rows < parts.largest * positions || patchGradient.columns != k {
            patchGradient = Matrix(rows: parts.largest * positions, columns: k)
        }
        let imageSize = inputShape.features
        guard b > 0 else { return Matrix(rows: 0, columns: imageSize) }
        return Matrix<Scalar>(rows: b, columns: imageSize) { xp in
            let dx = xp.baseAddress!
            g.withUnsafeBufferPointer { gp in
                weight.value.withUnsafeBufferPointer { wp in
                    patchGradient.withUnsafeMutableBufferPointer { dp in
                        for part in 0..<parts.count {
                            let span = parts.range(part), first = span.lowerBound
                            let chunkRows = span.count * positions
                            Scalar.gemm(CblasNoTrans, CblasNoTrans, Int32(chunkRows), Int32(k), Int32(o), 1,
                                        gp.baseAddress! + first * positions * o, Int32(o), wp.baseAddress!, Int32(k),
                                        0, dp.baseAddress!, Int32(k))
                            col2im(dp.baseAddress!, dx + first * imageSize, batch: span.count)
                        }
                    }
                }
            }
        }
    }

    /// Target elements of the reused patch-gradient buffer (about 4 MiB of Float; a chunk holds up to twice
    /// as many, see `chunks`): the examples of one backward chunk.
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

    /// Gathers the patches of the images `examples` of `x` into their rows of `out` (`H'·W'` rows of
    /// `kh·kw·C` per image), zeros outside the image; each element written once, on the calling thread.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func im2col(_ x: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>, examples: Range<Int>) {
        if inputShape.channels == 1 { im2colSingleChannel(x, out, examples: examples); return }
        let c = inputShape.channels, run = kernelWidth * inputShape.channels
        forEachKernelRow(examples: examples) { p, i, inside, vLow, vHigh in
            let dst = out + p
            guard inside else { dst.update(repeating: 0, count: run); return }
            if vLow > 0 { dst.update(repeating: 0, count: vLow * c) }
            let count = (vHigh - vLow) * c
            if count == 1 { dst[vLow * c] = x[i] } else { (dst + vLow * c).update(from: x + i, count: count) }
            if vHigh * c < run { (dst + vHigh * c).update(repeating: 0, count: run - vHigh * c) }
        }
    }

    /// `im2col` for one input channel (a grey image): there the contiguous runs of `forEachKernelRow` are
    /// `kw` scalars (3), one memmove call each. Instead, for each output row and kernel tap `(u, v)`, one
    /// loop over the output columns reads the input row contiguously and writes the tap's column of the
    /// patch rows (stride `kh·kw`), zeros where the tap falls outside the image. Same elements as `im2col`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func im2colSingleChannel(_ x: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>, examples: Range<Int>) {
        let (h, w) = (inputShape.height, inputShape.width)
        let (oh, ow) = (outputShape.height, outputShape.width)
        let (kh, kw, k, s, pad) = (kernelHeight, kernelWidth, patchSize, stride, padding)
        for n in examples {
            let image = x + n * h * w
            for oy in 0..<oh {
                let rows = out + (n * oh + oy) * ow * k
                for u in 0..<kh {
                    let iy = oy * s - pad + u
                    let rowInside = iy >= 0 && iy < h
                    for v in 0..<kw {
                        let tap = rows + u * kw + v
                        // Output columns whose input column ox·s − pad + v is inside the image: low..<high.
                        var low = 0, high = ow
                        if rowInside {
                            while low < ow && low * s - pad + v < 0 { low += 1 }
                            while high > low && (high - 1) * s - pad + v >= w { high -= 1 }
                        } else {
                            high = 0
                        }
                        for ox in 0..<low { tap[ox * k] = 0 }
                        if low < high {
                            let src = image + iy * w - pad + v
                            for ox in low..<high { tap[ox * k] = src[ox * s] }
                        }
                        for ox in Swift.max(low, high)..<ow { tap[ox * k] = 0 }
                    }
                }
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
