import Curvature
import Linalg
import NeuralNet
import Optimizers
import Testing
import _TestSupport

/// K-FAC for `Conv2d` (KFC, Grosse & Martens 2016; docs/kfac.md#convolutions): the factors against a naive
/// computation written from the definitions, and the block against the exact GGN where KFC is exact.
@Suite("K-FAC for Conv2d")
struct KFACConvTests {
    /// conv(k × k, `outChannels`, padding) → Flatten → Linear(→ `outputs`), no nonlinearity, Double.
    static func convNet(input: ImageShape, outChannels: Int, kernel: Int, padding: Int, outputs: Int,
                        seed: UInt64) -> (Sequential<Double>, Conv2d<Double>, Linear<Double>) {
        var rng = Xoshiro256StarStar(seed: seed)
        let conv = Conv2d<Double>(input: input, outChannels: outChannels, kernelSize: kernel, padding: padding, rng: &rng)
        let head = Linear<Double>(conv.outputShape.features, outputs, rng: &rng)
        return (Sequential(inputFeatures: input.features, [conv, Flatten<Double>(), head]), conv, head)
    }

    @Test("A and G equal loops over patches (bias 1 appended) and positions, expand and reduce")
    func factorsMatchNaivePatches() throws {
        let shape = ImageShape(height: 5, width: 4, channels: 2)
        let (model, conv, head) = Self.convNet(input: shape, outChannels: 3, kernel: 3, padding: 1, outputs: 4, seed: 31)
        let b = 3
        var inputRNG = Xoshiro256StarStar(seed: 32, stream: 3)
        let x: Matrix<Double> = inputRNG.normalMatrix(rows: b, columns: shape.features)
        // Outputs first: a forward pass clears the capture, so the capturing batch comes after.
        let y = model.forward(x, training: false)
        let data = TestBatch(model: model, loss: .mse, input: x, seed: 32)
        let capture = try #require(conv.capture)
        let (oh, ow, o) = (conv.outputShape.height, conv.outputShape.width, 3)
        let r = oh * ow
        #expect(capture.positions == r)

        // Patches from the definition: kernel offset (u, v) major, channel minor, zero outside the image, then 1.
        func patch(_ n: Int, _ oy: Int, _ ox: Int) -> [Double] {
            var p: [Double] = []
            for u in 0..<3 { for v in 0..<3 { for c in 0..<2 {
                let (iy, ix) = (oy - 1 + u, ox - 1 + v)
                let inside = iy >= 0 && iy < 5 && ix >= 0 && ix < 4
                p.append(inside ? data.input[n, (iy * 4 + ix) * 2 + c] : 0)
            } } }
            return p + [1]
        }
        // Output gradients from the chain rule through the head: ∂L/∂y = (y − t)/b for MSE, then
        // ∂L/∂z[n, (oy·W' + ox)·O + c] = Σ_k ∂L/∂y[n, k] W₂[k, ·] (Flatten keeps NHWC order).
        let targets: Matrix<Double> = {
            var rng = Xoshiro256StarStar(seed: 32, stream: 4)
            return rng.normalMatrix(rows: b, columns: 4)
        }()
        func outputGradient(_ n: Int, _ position: Int) -> [Double] {
            (0..<o).map { c in
                (0..<4).reduce(0.0) { $0 + (y[n, $1] - targets[n, $1]) / Double(b) * head.weight.value[$1, position * o + c] }
            }
        }
        let k = 3 * 3 * 2 + 1
        var aExpand = Matrix<Double>(rows: k, columns: k), gExpand = Matrix<Double>(rows: o, columns: o)
        var aReduce = Matrix<Double>(rows: k, columns: k), gReduce = Matrix<Double>(rows: o, columns: o)
        for n in 0..<b {
            var aSum = [Double](repeating: 0, count: k), gSum = [Double](repeating: 0, count: o)
            for oy in 0..<oh { for ox in 0..<ow {
                let a = patch(n, oy, ox), g = outputGradient(n, oy * ow + ox)
                for i in 0..<k { aSum[i] += a[i] / Double(r); for j in 0..<k { aExpand[i, j] += a[i] * a[j] / Double(b * r) } }
                for i in 0..<o { gSum[i] += g[i]; for j in 0..<o { gExpand[i, j] += Double(b) * g[i] * g[j] } }
            } }
            for i in 0..<k { for j in 0..<k { aReduce[i, j] += aSum[i] * aSum[j] / Double(b) } }
            for i in 0..<o { for j in 0..<o { gReduce[i, j] += Double(b) * gSum[i] * gSum[j] } }
        }
        var rng = Xoshiro256StarStar(seed: 1)
        for (approximation, a, g) in [(WeightSharingApproximation.expand, aExpand, gExpand), (.reduce, aReduce, gReduce)] {
            let f = try #require(KroneckerFactorComputation.batchFactors(
                blocks: [KroneckerBlock(name: "conv", uses: [conv])], model: model, curvature: data.curvature, fisher: .empirical,
                approximation: { _ in approximation }, rng: &rng)["conv"])
            #expect(relativeError(f.activation, a) < 1e-12, "\(approximation) A")
            #expect(relativeError(f.gradient, g) < 1e-12, "\(approximation) G")
        }
        // The two approximations must differ here (several positions, padding): the comparison can fail.
        #expect(relativeError(aExpand, aReduce) > 1e-2 && relativeError(gExpand, gReduce) > 1e-2)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let input: ImageShape
        let kernel: Int
        let padding: Int
        let exact: Bool
        var testDescription: String { name }
    }

    @Test("G ⊗ A of the exact-GGN conv factors equals the dense GGN block where KFC is exact", arguments: [
        // Kernel = image, no padding: one position, so the conv is a Linear layer on the flattened image.
        Case(name: "3×3×2 image, 3×3 kernel: 1 position (exact)", input: ImageShape(height: 3, width: 3, channels: 2),
             kernel: 3, padding: 0, exact: true),
        // Negative control: 9 positions share the weights; the block has cross-position terms KFC drops.
        Case(name: "3×3×2 image, 3×3 kernel, padding 1: 9 positions (inexact)", input: ImageShape(height: 3, width: 3, channels: 2),
             kernel: 3, padding: 1, exact: false),
    ])
    func convBlockAgainstExactGGN(_ c: Case) throws {
        let (model, conv, head) = Self.convNet(input: c.input, outChannels: 4, kernel: c.kernel, padding: c.padding, outputs: 2, seed: 41)
        let data = TestBatch(model: model, loss: .mse, examples: 1, seed: 42)
        var rng = Xoshiro256StarStar(seed: 1)
        let layers = model.kroneckerFactoredLayers
        #expect(layers.count == 2)
        let factors = KroneckerFactorComputation.batchFactors(blocks: model.kroneckerBlocks, model: model, curvature: data.curvature,
                                                              fisher: .exactGGN, rng: &rng)
        let f = GeneralizedGaussNewton.dense(model, input: data.input, curvature: data.curvature)
        let offsets = parameterOffsets(model)
        let convName = try #require(layers.first { $0.layer === conv }).name
        let headName = try #require(layers.first { $0.layer === head }).name
        let convError = relativeError(try #require(factors[convName]).denseBlock(), block(f, combinedIndices(conv, offsets: offsets)))
        if c.exact { #expect(convError < 1e-8, "conv block: relative error \(convError)") }
        else { #expect(convError > 1e-3, "conv block should not be exact, error \(convError)") }
        // The head is a Linear layer at the output with MSE: exact in both cases.
        let headError = relativeError(try #require(factors[headName]).denseBlock(), block(f, combinedIndices(head, offsets: offsets)))
        #expect(headError < 1e-8, "head block: relative error \(headError)")
    }
}
