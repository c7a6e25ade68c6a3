import Curvature
import Linalg
import NeuralNet
import Optimizers
import _TestSupport

/// Hidden nonlinearity of the small test networks.
enum TestActivation: String, Sendable { case none, relu, tanh }
/// Loss of a test case.
enum TestLoss: String, Sendable { case mse, crossEntropy }

/// A fully connected network `sizes[0] → … → sizes.last` with `activation` between the Linear layers,
/// Double, seeded.
func makeNetwork(_ sizes: [Int], activation: TestActivation, bias: Bool = true, seed: UInt64) -> Sequential<Double> {
    var rng = Xoshiro256StarStar(seed: seed)
    var layers: [any Module<Double>] = []
    for i in 0..<(sizes.count - 1) {
        layers.append(Linear<Double>(sizes[i], sizes[i + 1], bias: bias, rng: &rng))
        if i < sizes.count - 2 {
            switch activation {
            case .none: break
            case .relu: layers.append(ReLU<Double>())
            case .tanh: layers.append(Tanh<Double>())
            }
        }
    }
    return Sequential(inputFeatures: sizes[0], layers)
}

/// One batch of a test problem: forward and backward with capture on, ready for curvature.
struct TestBatch {
    let model: Sequential<Double>
    let input: Matrix<Double>
    let curvature: OutputCurvature<Double>
    let lossValue: Double
    let batch: CurvatureBatch<Double>

    /// Forward + backward of `model` on a random batch of `examples` (`seed`), capture on.
    init(model: Sequential<Double>, loss: TestLoss, examples: Int, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed, stream: 3)
        let x: Matrix<Double> = rng.normalMatrix(rows: examples, columns: model.inputFeatures)
        self.init(model: model, loss: loss, input: x, seed: seed)
    }

    init(model: Sequential<Double>, loss: TestLoss, input x: Matrix<Double>, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed, stream: 4)
        model.setCapture(true)
        let y = model.forward(x, training: true)
        let d = model.outputFeatures
        switch loss {
        case .mse:
            let l = MeanSquaredError<Double>()
            let t: Matrix<Double> = rng.normalMatrix(rows: x.rows, columns: d)
            lossValue = l.forward(y, targets: t)
            model.zeroGradients()
            model.backward(l.gradient(targets: t))
            curvature = l.outputCurvature()
            batch = CurvatureBatch(model: model, input: x, loss: l, targets: t, lossValue: lossValue)
        case .crossEntropy:
            let l = SoftmaxCrossEntropy<Double>()
            let t = (0..<x.rows).map { _ in rng.nextInt(below: d) }
            lossValue = l.forward(y, targets: t)
            model.zeroGradients()
            model.backward(l.gradient(targets: t))
            curvature = l.outputCurvature()
            batch = CurvatureBatch(model: model, input: x, loss: l, targets: t, lossValue: lossValue)
        }
        self.model = model
        self.input = x
    }
}

/// Offset of each named parameter in the flat `namedParameters` vector.
func parameterOffsets(_ model: Sequential<Double>) -> [String: Int] {
    var out: [String: Int] = [:]
    var o = 0
    for p in model.namedParameters { out[p.name] = o; o += p.count }
    return out
}

/// The flat indices of `[W, b]` of `layer`, row-major over `out × (in + 1)` (K-FAC's layout).
func combinedIndices(_ layer: any KroneckerFactored<Double>, offsets: [String: Int]) -> [Int] {
    let (m, k) = (layer.weight.value.rows, layer.weight.value.columns)
    let w = offsets[layer.weight.name]!
    let b = layer.bias.map { offsets[$0.name]! }
    var out: [Int] = []
    for i in 0..<m {
        for j in 0..<k { out.append(w + i * k + j) }
        if let b { out.append(b + i) }
    }
    return out
}

/// The sub-matrix `F[indices, indices]`.
func block(_ f: Matrix<Double>, _ indices: [Int]) -> Matrix<Double> {
    var out = Matrix<Double>(rows: indices.count, columns: indices.count)
    for (r, i) in indices.enumerated() { for (c, j) in indices.enumerated() { out[r, c] = f[i, j] } }
    return out
}

/// `vec_r(X)` for a matrix (row-major flattening), as a column.
func flat(_ m: Matrix<Double>) -> [Double] { m.storage }

/// Central-difference directional derivative of `model`'s outputs on `x` along the flattened parameter
/// direction `v`: `(f(θ + h v) − f(θ − h v)) / 2h`, truncation `O(h²)`; the parameters are restored after each
/// evaluation. The reference for forward-mode tangents (`LinearizedModel.jvp`). `v` follows the trainable
/// parameters; the forward passes run with `positionMask` (padded token batches).
func centralDifferenceTangent(_ model: Sequential<Double>, input x: Matrix<Double>, along v: [Double], step h: Double,
                              positionMask: PositionMask? = nil) -> Matrix<Double> {
    func shift(_ t: Double) {
        var o = 0
        for p in model.trainableParameters {
            p.value.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += t * v[o + i] } }
            o += p.count
        }
    }
    func outputs(_ t: Double) -> Matrix<Double> {
        shift(t)
        defer { shift(-t) }
        return model.forward(x, context: ForwardContext(isTraining: false, examples: x.rows, positionMask: positionMask))
    }
    var fd = outputs(h)
    fd.axpy(-1, outputs(-h))
    fd.scale(by: 1 / (2 * h))
    return fd
}
