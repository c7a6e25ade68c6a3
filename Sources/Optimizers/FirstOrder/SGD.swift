import Linalg
import NeuralNet

/// Stochastic gradient descent with momentum, optional Nesterov momentum and L2 weight decay
/// (PyTorch's `torch.optim.SGD` semantics, dampening 0):
/// `d = g + λθ`, `v ← μ v + d`, step direction `u = d + μ v` (Nesterov) or `u = v`, `θ ← θ − η u`.
/// With `μ = 0` this is plain SGD. State: `momentum_buffer` (`v`) per parameter.
public final class SGD<Scalar: BLASScalar>: FirstOrderOptimizer<Scalar> {
    public let momentum: Scalar
    public let nesterov: Bool
    public let weightDecay: Scalar

    public init(schedule: LearningRateSchedule, momentum: Double = 0, nesterov: Bool = false,
                weightDecay: Double = 0) throws(OptimizerError) {
        guard (0..<1).contains(momentum) else { throw .invalidConfiguration("SGD momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0 else { throw .invalidConfiguration("weight decay must be non-negative, got \(weightDecay)") }
        guard !nesterov || momentum > 0 else { throw .invalidConfiguration("Nesterov momentum needs momentum > 0") }
        self.momentum = Scalar(momentum)
        self.nesterov = nesterov
        self.weightDecay = Scalar(weightDecay)
        super.init(schedule: schedule)
    }

    public override var stateNames: [String] { momentum > 0 ? ["momentum_buffer"] : [] }
    public override var summary: String {
        "SGD(\(schedule), momentum \(momentum)\(nesterov ? " Nesterov" : ""), weight decay \(weightDecay))"
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public override func apply(_ parameter: Parameter<Scalar>, state: inout [Matrix<Scalar>], learningRate: Scalar, step: Int) {
        let (mu, wd, nesterov) = (momentum, weightDecay, nesterov)
        parameter.gradient.withUnsafeBufferPointer { gp in
            parameter.value.withUnsafeMutableBufferPointer { wp in
                if mu == 0 {
                    for i in 0..<gp.count { let wi = wp[i]; wp[i] = wi - learningRate * (gp[i] + wd * wi) }
                    return
                }
                state[0].withUnsafeMutableBufferPointer { vp in
                    let (g, w, v, n) = (gp.baseAddress!, wp.baseAddress!, vp.baseAddress!, gp.count)
                    // One loop per case, each reading θ once: with the selects inside, or θ read again after
                    // the buffer store, the compiler kept the loop scalar (docs/training.md#step-time).
                    if step == 1 { // PyTorch initialises the buffer with the first gradient
                        for i in 0..<n {
                            let wi = w[i], d = g[i] + wd * wi
                            v[i] = d
                            w[i] = wi - learningRate * (nesterov ? d + mu * d : d)
                        }
                    } else if nesterov {
                        for i in 0..<n {
                            let wi = w[i], d = g[i] + wd * wi, m = mu * v[i] + d
                            v[i] = m
                            w[i] = wi - learningRate * (d + mu * m)
                        }
                    } else {
                        for i in 0..<n {
                            let wi = w[i], d = g[i] + wd * wi, m = mu * v[i] + d
                            v[i] = m
                            w[i] = wi - learningRate * m
                        }
                    }
                }
            }
        }
    }
}
