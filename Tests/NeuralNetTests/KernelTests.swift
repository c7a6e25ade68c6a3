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
}
