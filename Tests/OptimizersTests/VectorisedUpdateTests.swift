import Foundation
import Linalg
import NeuralNet
import Optimizers
import Testing

/// Adam's and SGD's update loops (vectorised by the compiler; Adam's square root comes from `CVectorMath`)
/// against the scalar formulas written out naively with Swift's `squareRoot()`, bit for bit: every lane
/// performs the same correctly rounded operations in the same order, so any difference is a bug (a
/// reordered product, a fused multiply–add, a wrong square root, a mishandled remainder).
@Suite struct VectorisedUpdateTests {
    /// Sizes with and without a remainder after the vector loop.
    static let sizes = [1, 7, 8, 13, 64, 1001]

    /// Random weights and gradients of `count` entries from `seed`, scaled over several decades.
    static func parameter<S: BLASScalar>(_ count: Int, seed: UInt64, _: S.Type) -> Parameter<S> {
        var rng = Xoshiro256StarStar(seed: seed, stream: 3)
        let p = Parameter(name: "p", value: rng.normalMatrix(rows: 1, columns: count) as Matrix<S>)
        var g: Matrix<S> = rng.normalMatrix(rows: 1, columns: count)
        for i in 0..<count { g[0, i] *= S(Foundation.pow(10.0, Double(i % 7) - 3)) }
        p.gradient = g
        return p
    }

    /// Three Adam steps (new gradients each step) against the scalar recurrence of `Adam`'s documentation.
    func adamMatchesScalarLoop<S: BLASScalar>(_: S.Type, decoupled: Bool, weightDecay: Double) throws {
        for n in Self.sizes {
            let p = Self.parameter(n, seed: UInt64(n), S.self)
            let adam = try Adam<S>(schedule: .constant(0.003), weightDecay: weightDecay, decoupledWeightDecay: decoupled)
            var (w, m, v) = (p.value.storage, [S](repeating: 0, count: n), [S](repeating: 0, count: n))
            let (b1, b2, eps, eta, lambda) = (S(0.9), S(0.999), S(1e-8), S(0.003), S(weightDecay))
            for t in 1...3 {
                if t > 1 { p.gradient = Self.parameter(n, seed: UInt64(100 * t + n), S.self).gradient }
                _ = adam.update([p])
                let c1 = S(1 - Foundation.pow(Double(b1), Double(t)))
                let c2 = S((1 - Foundation.pow(Double(b2), Double(t))).squareRoot())
                for i in 0..<n {
                    let wi = w[i] * (decoupled ? 1 - eta * lambda : 1)
                    let g = p.gradient.storage[i] + (decoupled ? 0 : lambda) * wi
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    w[i] = wi - (eta / c1) * m[i] / (v[i].squareRoot() / c2 + eps)
                }
                #expect(p.value.storage == w, "Adam \(S.self) n \(n) step \(t) decoupled \(decoupled)")
            }
        }
    }

    @Test func adamIsBitIdenticalToTheScalarFormula() throws {
        try adamMatchesScalarLoop(Float.self, decoupled: false, weightDecay: 0)
        try adamMatchesScalarLoop(Float.self, decoupled: false, weightDecay: 0.1)
        try adamMatchesScalarLoop(Float.self, decoupled: true, weightDecay: 0.01)
        try adamMatchesScalarLoop(Double.self, decoupled: false, weightDecay: 0.1)
        try adamMatchesScalarLoop(Double.self, decoupled: true, weightDecay: 0.01)
    }

    /// Three SGD steps against `SGD`'s scalar recurrence (PyTorch's: the buffer starts at the first `d`).
    func sgdMatchesScalarLoop<S: BLASScalar>(_: S.Type, momentum: Double, nesterov: Bool, weightDecay: Double) throws {
        for n in Self.sizes {
            let p = Self.parameter(n, seed: UInt64(n), S.self)
            let sgd = try SGD<S>(schedule: .constant(0.05), momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
            var (w, buffer) = (p.value.storage, [S](repeating: 0, count: n))
            let (eta, mu, lambda) = (S(0.05), S(momentum), S(weightDecay))
            for t in 1...3 {
                if t > 1 { p.gradient = Self.parameter(n, seed: UInt64(100 * t + n), S.self).gradient }
                _ = sgd.update([p])
                for i in 0..<n {
                    let d = p.gradient.storage[i] + lambda * w[i]
                    if mu == 0 { w[i] -= eta * d; continue }
                    buffer[i] = t == 1 ? d : mu * buffer[i] + d
                    w[i] -= eta * (nesterov ? d + mu * buffer[i] : buffer[i])
                }
                #expect(p.value.storage == w, "SGD \(S.self) n \(n) step \(t) μ \(momentum) Nesterov \(nesterov)")
            }
        }
    }

    @Test func sgdIsBitIdenticalToTheScalarFormula() throws {
        try sgdMatchesScalarLoop(Float.self, momentum: 0, nesterov: false, weightDecay: 0.1)
        try sgdMatchesScalarLoop(Float.self, momentum: 0.9, nesterov: false, weightDecay: 0)
        try sgdMatchesScalarLoop(Float.self, momentum: 0.9, nesterov: true, weightDecay: 0.01)
        try sgdMatchesScalarLoop(Double.self, momentum: 0.5, nesterov: false, weightDecay: 0.01)
        try sgdMatchesScalarLoop(Double.self, momentum: 0.9, nesterov: true, weightDecay: 0)
    }
}
