import Linalg
import NeuralNet
import Testing
import _TestSupport

/// Checks a layer's backward pass against central differences in Double for the scalar
/// `f(x, θ) = ⟨r, layer(x)⟩` with a fixed random `r`: `backward(r)` must return `∂f/∂x` and write
/// `∂f/∂θ` into every trainable parameter's gradient (zeroed first). Returns the largest relative error over all blocks.
func maxGradientError(_ layer: some Module<Double>, input: Matrix<Double>, examples: Int? = nil,
                      training: Bool = false, positionMask: PositionMask? = nil, beforeForward: () -> Void = {},
                      seed: UInt64 = 7) -> Double {
    var rng = Xoshiro256StarStar(seed: seed, stream: 99)
    var x = input
    let context = ForwardContext(isTraining: training, examples: examples ?? input.rows, positionMask: positionMask)
    beforeForward()
    let y = layer.forward(x, context: context)
    let r: Matrix<Double> = rng.normalMatrix(rows: y.rows, columns: y.columns)
    layer.zeroGradients()
    let dx = layer.backward(r, options: .full)
    let analyticParameters = layer.trainableParameters.map { $0.gradient }

    func f() -> Double {
        beforeForward()
        let out = layer.forward(x, context: context)
        return BLAS.dot(out.storage, r.storage)
    }
    var worst = 0.0
    let numericX = centralDifferenceGradient(count: x.count, perturb: { i, d in
        x.withUnsafeMutableBufferPointer { $0[i] += d }
    }, value: f)
    worst = max(worst, relativeError(dx.storage, numericX))
    for (p, analytic) in zip(layer.trainableParameters, analyticParameters) {
        let numeric = centralDifferenceGradient(count: p.count, perturb: { i, d in
            p.value.withUnsafeMutableBufferPointer { $0[i] += d }
        }, value: f)
        // Floor 1e-3 on the reference norm: a parameter whose exact gradient is 0 (attention's key bias, by
        // the softmax's shift invariance) is then held to an absolute 1e-9, the differences' own accuracy.
        let reference = max(BLAS.norm(numeric), 1e-3)
        worst = max(worst, BLAS.norm(zip(analytic.storage, numeric).map { $0 - $1 }) / reference)
    }
    return worst
}

/// A random `rows × columns` matrix of standard normals.
func randomMatrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix<Double> {
    var rng = Xoshiro256StarStar(seed: seed)
    return rng.normalMatrix(rows: rows, columns: columns)
}

/// Central-difference check of a loss: `∂L/∂y` from `gradient(targets:)` against differences of `forward`.
func maxLossGradientError<L: Loss>(_ loss: L, output: Matrix<Double>, targets: L.Target) -> Double
where L.Scalar == Double {
    var y = output
    _ = loss.forward(y, targets: targets)
    let analytic = loss.gradient(targets: targets)
    let numeric = centralDifferenceGradient(count: y.count, perturb: { i, d in
        y.withUnsafeMutableBufferPointer { $0[i] += d }
    }, value: { loss.forward(y, targets: targets) })
    return relativeError(analytic.storage, numeric)
}
