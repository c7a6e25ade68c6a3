import Linalg

/// Softmax cross-entropy on logits, fused and numerically stable:
/// `pᵢ = softmax(zᵢ)` computed as `exp(zᵢ − max zᵢ) / Σ exp(…)`, `ℓᵢ = −log p_{i,tᵢ} = logΣexp(zᵢ) − z_{i,tᵢ}`,
/// `L = (1/b) Σᵢ ℓᵢ`, `∂L/∂zᵢ = (pᵢ − e_{tᵢ}) / b`.
///
/// Shapes: logits `b × C`, targets `b` class indices in `0..<C`. Sampling labels `t̃ᵢ ~ Categorical(pᵢ)`
/// and calling `gradient(targets:)` gives the gradient whose outer products estimate the true Fisher
/// (which for cross-entropy equals the generalised Gauss–Newton matrix in expectation).
public final class SoftmaxCrossEntropy<Scalar: NeuralScalar>: Loss {
    /// Probabilities `p` of the last forward pass (`b × C`).
    public private(set) var probabilities = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ logits: Matrix<Scalar>, targets: [Int]) -> Scalar {
        let (b, c) = (logits.rows, logits.columns)
        precondition(targets.count == b, "cross-entropy: \(b) logit rows but \(targets.count) labels")
        precondition(b > 0 && c > 0, "cross-entropy needs a non-empty batch")
        var p = Matrix<Scalar>(rows: b, columns: c)
        var total: Scalar = 0
        logits.withUnsafeBufferPointer { zp in
            p.withUnsafeMutableBufferPointer { pp in
                for i in 0..<b {
                    let z = zp.baseAddress! + i * c
                    let q = pp.baseAddress! + i * c
                    var m = z[0]
                    for j in 1..<c where z[j] > m { m = z[j] }
                    var s: Scalar = 0
                    for j in 0..<c { let e = Scalar.exponential(z[j] - m); q[j] = e; s += e }
                    let inv = 1 / s
                    for j in 0..<c { q[j] *= inv }
                    let t = targets[i]
                    precondition(t >= 0 && t < c, "label \(t) outside 0..<\(c)")
                    total += Scalar.logarithm(s) + m - z[t]
                }
            }
        }
        probabilities = p
        return total / Scalar(b)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gradient(targets: [Int]) -> Matrix<Scalar> {
        let (b, c) = (probabilities.rows, probabilities.columns)
        precondition(targets.count == b, "cross-entropy gradient: \(b) rows but \(targets.count) labels")
        var g = probabilities
        let invB = 1 / Scalar(b)
        g.withUnsafeMutableBufferPointer { gp in
            for i in 0..<b { gp[i * c + targets[i]] -= 1 }
            Scalar.scal(Int32(b * c), invB, gp.baseAddress!, 1)
        }
        return g
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sampleTargets(using rng: inout Xoshiro256StarStar) -> [Int] {
        let (b, c) = (probabilities.rows, probabilities.columns)
        return probabilities.withUnsafeBufferPointer { pp in
            (0..<b).map { i in
                let u = Scalar(rng.nextUniform())
                var acc: Scalar = 0
                for j in 0..<c {
                    acc += pp[i * c + j]
                    if u < acc { return j }
                }
                return c - 1
            }
        }
    }

    /// Index of the largest probability in each row (the predicted class).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predictions() -> [Int] { argmaxRows(probabilities) }

    /// Number of rows whose prediction equals the label.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func correctCount(targets: [Int]) -> Int {
        zip(predictions(), targets).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
    }
}

/// Index of the largest element of each row (first one on ties).
@_specialize(where S == Float)
@_specialize(where S == Double)
public func argmaxRows<S: BLASScalar>(_ m: Matrix<S>) -> [Int] {
    let (r, c) = (m.rows, m.columns)
    return m.withUnsafeBufferPointer { p in
        (0..<r).map { i in
            var best = 0
            for j in 1..<Swift.max(c, 1) where p[i * c + j] > p[i * c + best] { best = j }
            return best
        }
    }
}
