import Curvature
import Linalg
import NeuralNet
import Optimizers
import Testing
import _TestSupport

/// Every tangent rule of `LinearizedModel` (the one forward-mode implementation, used by NGD-CG and TNGD)
/// against the dense Jacobian of backward mode (`ModelJacobian.dense`) and against central differences of
/// the outputs, one small Double model per rule; `vjp` against `Jᵀu`.
@Suite("Linearised model: every JVP rule")
struct LinearizedModelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        var testDescription: String { name }
    }

    static let image = ImageShape(height: 4, width: 4, channels: 2)

    /// The model named by `name` (all Double, seeded); LayerNorm gets random γ, β so they are not 1 and 0.
    static func model(_ name: String, seed: UInt64) -> Sequential<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        func conv() -> Conv2d<Double> { Conv2d<Double>(input: image, outChannels: 3, kernelSize: 3, padding: 1, rng: &rng) }
        func norm(_ f: Int) -> LayerNorm<Double> {
            let n = LayerNorm<Double>(f)
            n.weight.value = rng.normalMatrix(rows: 1, columns: f)
            n.bias.value = rng.normalMatrix(rows: 1, columns: f)
            return n
        }
        let layers: [any Module<Double>]
        switch name {
        case "linear": layers = [Linear<Double>(32, 3, rng: &rng)]
        case "relu": layers = [Linear<Double>(32, 5, rng: &rng), ReLU<Double>(), Linear<Double>(5, 3, rng: &rng)]
        case "tanh": layers = [Linear<Double>(32, 5, rng: &rng), Tanh<Double>(), Linear<Double>(5, 3, rng: &rng)]
        case "gelu": layers = [Linear<Double>(32, 5, rng: &rng), GELU<Double>(), Linear<Double>(5, 3, rng: &rng)]
        case "layernorm": layers = [Linear<Double>(32, 5, rng: &rng), norm(5), Linear<Double>(5, 3, rng: &rng)]
        case "layernorm-first": layers = [norm(32), Linear<Double>(32, 3, rng: &rng)]
        case "dropout": layers = [Linear<Double>(32, 5, rng: &rng), Dropout<Double>(probability: 0.5, seed: 3), Linear<Double>(5, 3, rng: &rng)]
        case "conv": layers = [conv(), Flatten<Double>(), Linear<Double>(48, 3, rng: &rng)]
        case "conv-maxpool":
            let c = conv()
            layers = [c, MaxPool2d<Double>(input: c.outputShape, kernelSize: 2), Flatten<Double>(), Linear<Double>(12, 3, rng: &rng)]
        case "conv-relu-maxpool-tanh":
            let c = conv()
            layers = [c, ReLU<Double>(), MaxPool2d<Double>(input: c.outputShape, kernelSize: 2), Flatten<Double>(),
                      Linear<Double>(12, 5, rng: &rng), Tanh<Double>(), Linear<Double>(5, 3, rng: &rng)]
        case "conv-avgpool":
            let c = conv()
            layers = [c, AvgPool2d<Double>(input: c.outputShape, kernelSize: 2), Flatten<Double>(), Linear<Double>(12, 3, rng: &rng)]
        case "residual":
            layers = [Linear<Double>(32, 5, rng: &rng), Residual(Sequential(inputFeatures: 5, [norm(5), Linear<Double>(5, 5, rng: &rng), GELU<Double>()])),
                      Linear<Double>(5, 3, rng: &rng)]
        case "vit-mean", "vit-first":
            // 4×4×2 images, 2×2 patches → 4 tokens of 8 values; every parameter moved off its initial value.
            let shape = VisionTransformerShape(image: image, classes: 3, patchSize: 2, width: 4, depth: 2, heads: 2, mlpWidth: 6,
                                               pooling: name == "vit-mean" ? .mean : .first, dropout: 0.2)
            let vit: Sequential<Double> = Models.visionTransformer(shape, seed: 1, rng: &rng)
            for p in vit.namedParameters { p.value.withUnsafeMutableBufferPointer { rng.fillNormal($0, std: 0.5) } }
            return vit
        default: fatalError("unknown test model \(name)")
        }
        return Sequential(inputFeatures: 32, layers)
    }

    static let cases = ["linear", "relu", "tanh", "gelu", "layernorm", "layernorm-first", "dropout", "conv", "conv-maxpool",
                        "conv-relu-maxpool-tanh", "conv-avgpool", "residual", "vit-mean", "vit-first"].map(Case.init)

    @Test("J v equals the dense Jacobian times v and central differences; Jᵀu equals the dense Jᵀu", arguments: cases)
    func ruleMatchesJacobian(_ c: Case) throws {
        let model = Self.model(c.name, seed: 7)
        var rng = Xoshiro256StarStar(seed: 8)
        let x: Matrix<Double> = rng.normalMatrix(rows: 3, columns: 32)
        let j = ModelJacobian.dense(model, input: x)    // before linearising: it re-runs the model
        let lin = try LinearizedModel(model, input: x)
        let v: [Double] = (0..<lin.parameterCount).map { _ in rng.nextNormal() }
        let jv = v.withUnsafeBufferPointer { lin.jvp($0.baseAddress!) }
        // Rounding of short sums of O(1) products in Double: 1e-12 is far above it.
        #expect(relativeError(jv.storage, BLAS.matvec(j, v)) < 1e-12, "\(c.name): J v vs dense J")

        // Central differences of the outputs along v (O(h²) ≈ 1e-10 truncation; kinks of ReLU/max-pool
        // are measure-zero for Gaussian data and h = 1e-5).
        let fd = centralDifferenceTangent(model, input: x, along: v, step: 1e-5)
        #expect(relativeError(jv, fd) < 1e-7, "\(c.name): J v vs central differences")

        _ = try LinearizedModel(model, input: x)         // the difference quotients re-ran the model
        let u: Matrix<Double> = rng.normalMatrix(rows: 3, columns: 3)
        var jtu = [Double](repeating: 0, count: lin.parameterCount)
        jtu.withUnsafeMutableBufferPointer { lin.vjp(u, into: $0.baseAddress!) }
        #expect(relativeError(jtu, BLAS.matvec(j, transpose: true, u.storage)) < 1e-12, "\(c.name): Jᵀu")
    }

    @Test("NGD-CG on a conv + LayerNorm model takes the natural-gradient step (no fallback to the gradient)")
    func conjugateGradientOnConvModel() throws {
        var rng = Xoshiro256StarStar(seed: 9)
        let c = Conv2d<Double>(input: Self.image, outChannels: 2, kernelSize: 3, padding: 1, rng: &rng)
        let model = Sequential<Double>(inputFeatures: 32, [c, ReLU<Double>(), Flatten<Double>(), LayerNorm<Double>(32),
                                                           Linear<Double>(32, 3, rng: &rng)])
        let data = TestBatch(model: model, loss: .crossEntropy, examples: 4, seed: 10)
        let reference = try NaturalGradientTests.denseNaturalGradient(model, data, damping: 1e-1)
        _ = TestBatch(model: model, loss: .crossEntropy, examples: 4, seed: 10)   // caches and gradients of the batch again
        let step = try NaturalGradientTests.stepDirection(model, data, damping: 1e-1, cgMaxIterations: 400, learningRate: 1)
        #expect(relativeError(step.direction, reference) < 1e-7)
        #expect(step.optimizer.failedSteps == 0)
    }
}
