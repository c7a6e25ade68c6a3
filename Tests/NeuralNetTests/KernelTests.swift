import Linalg
import NeuralNet
import Testing
import _TestSupport

/// The pooling and convolution kernels (SIMD 2 × 2 path, tiled and overlapping windows, margins,
/// chunked patch gradients) against their definitions written as plain loops. Pooling is compared
/// exactly (the kernels make the same comparisons in the same order); the convolution's sums run in
/// another order than the loops', so within a few Double roundings (1e-12 absolute on O(1) values).
@Suite struct KernelTests {
    /// Max pooling by its definition: the first maximum in row-major window order wins; backward adds
    /// `g` at that position.
    static func naiveMaxPool<S: NeuralScalar>(_ x: Matrix<S>, _ g: Matrix<S>, _ pool: MaxPool2d<S>) -> (Matrix<S>, Matrix<S>) {
        let (h, w, c) = (pool.inputShape.height, pool.inputShape.width, pool.inputShape.channels)
        let (oh, ow, k, s) = (pool.outputShape.height, pool.outputShape.width, pool.kernelSize, pool.stride)
        var y = Matrix<S>(rows: x.rows, columns: oh * ow * c)
        var dx = Matrix<S>(rows: x.rows, columns: h * w * c)
        for b in 0..<x.rows { for i in 0..<oh { for j in 0..<ow { for ch in 0..<c {
            var best = x[b, ((i * s) * w + j * s) * c + ch], at = ((i * s) * w + j * s) * c + ch
            for u in 0..<k { for v in 0..<k {
                let index = ((i * s + u) * w + j * s + v) * c + ch
                if x[b, index] > best { best = x[b, index]; at = index }
            } }
            y[b, (i * ow + j) * c + ch] = best
            dx[b, at] += g[b, (i * ow + j) * c + ch]
        } } } }
        return (y, dx)
    }

    /// Inputs with many ties (small integers) so that "first maximum wins" is exercised.
    static func tiedInput<S: NeuralScalar>(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix<S> {
        var rng = Xoshiro256StarStar(seed: seed)
        return Matrix(rows: rows, columns: columns, storage: (0..<(rows * columns)).map { _ in S(rng.nextInt(below: 4)) - 1 })
    }

    static func checkMaxPool<S: NeuralScalar>(_: S.Type, height: Int, width: Int, channels: Int, kernel: Int, stride: Int) {
        let pool = MaxPool2d<S>(input: ImageShape(height: height, width: width, channels: channels), kernelSize: kernel, stride: stride)
        let x: Matrix<S> = tiedInput(3, pool.inputShape.features, seed: UInt64(height * 100 + channels))
        let g: Matrix<S> = randomMatrix(3, pool.outputShape.features, seed: 5).converted()
        let y = pool.forward(x, context: ForwardContext(isTraining: true, examples: 3))
        let dx = pool.backward(g, options: .full)
        let (yRef, dxRef) = naiveMaxPool(x, g, pool)
        #expect(y == yRef, "\(pool.summary) stride \(stride), \(S.self): forward")
        #expect(dx == dxRef, "\(pool.summary) stride \(stride), \(S.self): backward")
    }

    @Test(arguments: [
        (4, 6, 16, 2, 2),  // 2 × 2 tiled, SIMD width exactly
        (5, 7, 11, 2, 2),  // odd sizes: uncovered margin row and column, SIMD + scalar tail
        (9, 9, 3, 3, 3),   // general tiled window
        (7, 6, 2, 3, 1),   // overlapping windows
        (6, 6, 9, 2, 1),   // overlapping 2 × 2
    ])
    func maxPoolMatchesDefinition(shape: (Int, Int, Int, Int, Int)) {
        let (h, w, c, k, s) = shape
        Self.checkMaxPool(Float.self, height: h, width: w, channels: c, kernel: k, stride: s)
        Self.checkMaxPool(Double.self, height: h, width: w, channels: c, kernel: k, stride: s)
    }

    /// Conv2d's input gradient, computed in chunks of examples (here 28 × 28 × 32 with a 3 × 3 kernel:
    /// four examples per chunk, so nine examples take three chunks), equals the adjoint written out as
    /// loops: `dx[b, y, x, c] = Σ_{i,j,o,u,v: i·s−p+u = y, j·s−p+v = x} g[b, i, j, o] W[o, (u,v,c)]`.
    @Test func convolutionInputGradientInChunks() {
        var rng = Xoshiro256StarStar(seed: 7)
        let shape = ImageShape(height: 28, width: 28, channels: 32)
        let conv = Conv2d<Double>(input: shape, outChannels: 4, kernelSize: 3, padding: 1, rng: &rng)
        let b = 9
        let x = randomMatrix(b, shape.features, seed: 8)
        let y = conv.forward(x, context: ForwardContext(isTraining: true, examples: b))
        let g = randomMatrix(b, y.columns, seed: 9)
        let dx = conv.backward(g, options: .full)
        let (h, w, c, o) = (28, 28, 32, 4)
        var reference = Matrix<Double>(rows: b, columns: shape.features)
        reference.withUnsafeMutableBufferPointer { r in
            for n in 0..<b { for i in 0..<h { for j in 0..<w { for oc in 0..<o {
                let gv = g[n, (i * w + j) * o + oc]
                for u in 0..<3 { for v in 0..<3 {
                    let (iy, ix) = (i - 1 + u, j - 1 + v)
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    for ch in 0..<c { r[n * h * w * c + (iy * w + ix) * c + ch] += gv * conv.weight.value[oc, (u * 3 + v) * c + ch] }
                } }
            } } } }
        }
        #expect(dx.rows == b && dx.columns == shape.features)
        var worst = 0.0
        for i in 0..<dx.count { worst = max(worst, abs(dx.storage[i] - reference.storage[i])) }
        #expect(worst < 1e-12, "largest difference \(worst)")
        #expect(relativeError(y, naiveConvolution(x, conv)) < 1e-14)
    }

    /// The patch matrix (im2col, read back through the K-FAC capture) is the definition's gather exactly, for
    /// one channel (its own kernel) and several, with strides, paddings and kernel sizes that put taps outside
    /// the image on every side; the forward pass, computed in chunks of examples (80 grey 28 × 27 images with
    /// a padded 3 × 3 kernel take two), equals the definition.
    @Test(arguments: [(1, 3, 1, 1), (1, 3, 1, 0), (1, 5, 2, 2), (1, 1, 1, 0), (1, 3, 2, 1), (2, 3, 1, 1), (3, 5, 2, 2)])
    func convolutionPatchesAndChunkedForward(channels: Int, kernel: Int, stride: Int, padding: Int) {
        var rng = Xoshiro256StarStar(seed: 61)
        let shape = ImageShape(height: 28, width: 27, channels: channels)
        let conv = Conv2d<Double>(input: shape, outChannels: 32, kernelSize: kernel, stride: stride, padding: padding, rng: &rng)
        conv.captureEnabled = true
        let b = channels == 1 ? 80 : 7
        let x = randomMatrix(b, shape.features, seed: 62)
        let y = conv.forward(x, context: ForwardContext(isTraining: true, examples: b))
        _ = conv.backward(randomMatrix(y.rows, y.columns, seed: 63), options: .full)
        let patches = conv.capture!.activations
        let (oh, ow, k) = (conv.outputShape.height, conv.outputShape.width, conv.patchSize)
        #expect(patches.rows == b * oh * ow && patches.columns == k)
        var mismatches = 0
        for n in 0..<b { for i in 0..<oh { for j in 0..<ow { for u in 0..<kernel { for v in 0..<kernel { for ch in 0..<channels {
            let (iy, ix) = (i * stride - padding + u, j * stride - padding + v)
            let inside = iy >= 0 && iy < shape.height && ix >= 0 && ix < shape.width
            let expected = inside ? x[n, (iy * shape.width + ix) * channels + ch] : 0
            if patches[(n * oh + i) * ow + j, (u * kernel + v) * channels + ch].bitPattern != expected.bitPattern { mismatches += 1 }
        } } } } } }
        #expect(mismatches == 0)
        #expect(relativeError(y, naiveConvolution(x, conv)) < 1e-14)
    }

    /// The small CNN's two convolutions in Float, forward in chunks of examples (80 examples: 2 chunks of the
    /// first, 20 of the second; backward in 1 and 4): every example's output row has the bits of that example's
    /// forward pass alone, and its input gradient the bits of that example's backward pass (the chunking changes
    /// no result on these shapes; `Conv2d.chunks`).
    @Test(arguments: [(28, 1, 32), (14, 32, 64)])
    func chunkedFloatConvolutionForwardKeepsBits(side: Int, channels: Int, outChannels: Int) {
        var rng = Xoshiro256StarStar(seed: 64)
        let shape = ImageShape(height: side, width: side, channels: channels)
        let conv = Conv2d<Float>(input: shape, outChannels: outChannels, kernelSize: 3, padding: 1, rng: &rng)
        let b = 80
        let x: Matrix<Float> = rng.normalMatrix(rows: b, columns: shape.features)
        let y = conv.forward(x, context: ForwardContext(isTraining: true, examples: b))
        let g: Matrix<Float> = rng.normalMatrix(rows: b, columns: y.columns)
        let dx = conv.backward(g, options: BackwardOptions(parameterGradients: false, inputGradient: true))
        for n in [0, 1, 39, 40, 79] {
            let single = conv.forward(Matrix(rows: 1, columns: shape.features, storage: x.row(n)),
                                      context: ForwardContext(isTraining: true, examples: 1))
            #expect(single.storage.map(\.bitPattern) == y.row(n).map(\.bitPattern), "forward, example \(n)")
            let singleDx = conv.backward(Matrix(rows: 1, columns: y.columns, storage: g.row(n)),
                                         options: BackwardOptions(parameterGradients: false, inputGradient: true))
            #expect(singleDx.storage.map(\.bitPattern) == dx.row(n).map(\.bitPattern), "input gradient, example \(n)")
        }
    }

    /// A grey image's conv (9 patch columns, 32 channels) forms its weight gradient as `(Pᵀ G)ᵀ` (the faster
    /// orientation for OpenBLAS): onto a zeroed gradient, bit for bit the `Gᵀ P` product of the other layers;
    /// onto a non-zero one, the old gradient plus that product to rounding.
    @Test func narrowPatchWeightGradientKeepsBits() {
        var rng = Xoshiro256StarStar(seed: 65)
        let conv = Conv2d<Float>(input: ImageShape(height: 28, width: 28, channels: 1), outChannels: 32, kernelSize: 3,
                                 padding: 1, rng: &rng)
        conv.captureEnabled = true
        let b = 64
        let x: Matrix<Float> = rng.normalMatrix(rows: b, columns: 784)
        let y = conv.forward(x, context: ForwardContext(isTraining: true, examples: b))
        let g: Matrix<Float> = rng.normalMatrix(rows: b, columns: y.columns)
        conv.weight.zeroGradient()
        _ = conv.backward(g, options: BackwardOptions(parameterGradients: true, inputGradient: false))
        let capture = conv.capture!
        let reference = BLAS.matmul(capture.outputGradients, transposeA: true, capture.activations)
        #expect(conv.weight.gradient.storage.map(\.bitPattern) == reference.storage.map(\.bitPattern))
        let first = conv.weight.gradient
        _ = conv.backward(g, options: BackwardOptions(parameterGradients: true, inputGradient: false))
        var worst: Float = 0
        for i in 0..<first.count { worst = max(worst, abs(conv.weight.gradient.storage[i] - 2 * first.storage[i])) }
        #expect(worst <= 1e-5 * (first.storage.map(abs).max() ?? 1), "largest difference \(worst)")
    }
}
