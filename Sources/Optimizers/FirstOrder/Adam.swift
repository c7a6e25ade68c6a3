import CVectorMath
import Foundation
import Linalg
import NeuralNet

/// Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019), in PyTorch's arithmetic:
/// `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`, at update `t`:
/// `θ ← θ − (η/(1 − β₁ᵗ)) · m / (√v/√(1 − β₂ᵗ) + ε)`.
/// Weight decay `λ`: Adam adds `λθ` to `g` (L2, coupled); AdamW first shrinks `θ ← θ(1 − ηλ)` (decoupled).
/// State: `exp_avg` (`m`) and `exp_avg_sq` (`v`) per parameter. Defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
public final class Adam<Scalar: BLASScalar>: FirstOrderOptimizer<Scalar> {
    public let beta1: Scalar
    public let beta2: Scalar
    public let epsilon: Scalar
    public let weightDecay: Scalar
    /// True for AdamW's decoupled weight decay.
    public let decoupledWeightDecay: Bool

    public init(schedule: LearningRateSchedule, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, decoupledWeightDecay: Bool = false) throws(OptimizerError) {
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw .invalidConfiguration("Adam betas must be in [0, 1), got \(beta1), \(beta2)")
        }
        guard epsilon > 0 else { throw .invalidConfiguration("Adam epsilon must be positive, got \(epsilon)") }
        guard weightDecay >= 0 else { throw .invalidConfiguration("weight decay must be non-negative, got \(weightDecay)") }
        self.beta1 = Scalar(beta1)
        self.beta2 = Scalar(beta2)
        self.epsilon = Scalar(epsilon)
        self.weightDecay = Scalar(weightDecay)
        self.decoupledWeightDecay = decoupledWeightDecay
        super.init(schedule: schedule)
    }

    /// AdamW: Adam with decoupled weight decay (default λ = 0.01, as in PyTorch).
    public static func adamW(schedule: LearningRateSchedule, beta1: Double = 0.9, beta2: Double = 0.999,
                             epsilon: Double = 1e-8, weightDecay: Double = 0.01) throws(OptimizerError) -> Adam {
        try Adam(schedule: schedule, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                 decoupledWeightDecay: true)
    }

    public override var stateNames: [String] { ["exp_avg", "exp_avg_sq"] }
    public override var summary: String {
        "\(decoupledWeightDecay ? "AdamW" : "Adam")(\(schedule), β₁ \(beta1), β₂ \(beta2), ε \(epsilon), weight decay \(weightDecay))"
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public override func apply(_ parameter: Parameter<Scalar>, state: inout [Matrix<Scalar>], learningRate: Scalar, step: Int) {
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let t = Double(step)
        let correction1 = Scalar(1 - pow(Double(b1), t))
        let sqrtCorrection2 = Scalar((1 - pow(Double(b2), t)).squareRoot())
        let stepSize = learningRate / correction1
        let l2: Scalar = decoupledWeightDecay ? 0 : weightDecay
        let shrink: Scalar = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
        let (oneMinusB1, oneMinusB2) = (1 - b1, 1 - b2)
        var (firstMoment, secondMoment) = (state[0], state[1])
        state = [] // keep the buffers uniquely referenced: no copy-on-write inside the loop
        defer { state = [firstMoment, secondMoment] }
        parameter.gradient.withUnsafeBufferPointer { gp in
            parameter.value.withUnsafeMutableBufferPointer { wp in
                firstMoment.withUnsafeMutableBufferPointer { mp in
                    secondMoment.withUnsafeMutableBufferPointer { vp in
                        guard let g0 = gp.baseAddress else { return }
                        let (w0, m0, v0) = (wp.baseAddress!, mp.baseAddress!, vp.baseAddress!)
                        // Element-wise: any split over threads gives the same bits. `squareRoot` (not
                        // `v.squareRoot()`, a libm call on Linux) lets the loop vectorise (docs/training.md#step-time).
                        ParallelLoop.forEachChunk(gp.count, workPerIndex: 4) { range in
                            for i in range {
                                let w = w0[i] * shrink
                                let g = g0[i] + l2 * w
                                let m = b1 * m0[i] + oneMinusB1 * g
                                let v = b2 * v0[i] + oneMinusB2 * g * g
                                m0[i] = m
                                v0[i] = v
                                w0[i] = w - stepSize * m / (Self.squareRoot(v) / sqrtCorrection2 + eps)
                            }
                        }
                    }
                }
            }
        }
    }

    /// `√x`, correctly rounded, without libm's errno (`CVectorMath`): the same bits as `x.squareRoot()`.
    @inline(__always)
    static func squareRoot(_ x: Scalar) -> Scalar {
        if Scalar.self == Float.self { return unsafeBitCast(tg_sqrtf(unsafeBitCast(x, to: Float.self)), to: Scalar.self) }
        return unsafeBitCast(tg_sqrt(unsafeBitCast(x, to: Double.self)), to: Scalar.self)
    }
}
