import Communication
import Linalg
import NeuralNet

/// This rank's part of a data-parallel step's global mini-batch (docs/multi-process.md#data-parallel-steps):
/// examples `offset ..< offset + count` of the `globalCount` examples every rank draws in the same order.
/// Curvature optimisers read it to draw the one-process sampled labels and to sum their per-rank
/// statistics, weighted by `weight = count / globalCount`, over the ranks.
public struct CurvatureShard {
    public let communicator: any Communicator
    public let offset: Int
    public let count: Int
    public let globalCount: Int

    public init(communicator: any Communicator, offset: Int, count: Int, globalCount: Int) {
        precondition(offset >= 0 && count >= 1 && offset + count <= globalCount, "CurvatureShard: rows \(offset)..<\(offset + count) of \(globalCount)")
        self.communicator = communicator
        self.offset = offset
        self.count = count
        self.globalCount = globalCount
    }

    /// `b_r / b`: this rank's share of a mean over the global batch.
    public var weight: Double { Double(count) / Double(globalCount) }
}

extension CurvatureBatch {
    /// The same batch in a data-parallel step: `lossValue` is the global batch's loss (already reduced),
    /// `evaluateLoss` reduces `Σ_r (b_r / b) L_r` over the ranks (every rank must call it at the same
    /// time), and `shard` tells curvature optimisers which part of the global batch this rank holds.
    /// A failed reduction inside `evaluateLoss` ends the job (`Communicator.orAbort`).
    public func distributed(_ shard: CurvatureShard, globalLoss: Scalar) -> CurvatureBatch {
        let local = evaluateLoss, w = shard.weight, c = shard.communicator
        var out = CurvatureBatch(model: model, input: input, lossValue: globalLoss, curvature: curvature) {
            Scalar(c.orAbort("reducing the loss") { () throws(CommunicationError) in try c.allReduce(Double(local()) * w) })
        }
        out.shard = shard
        out.positionMask = positionMask
        return out
    }
}

extension OutputCurvature {
    /// `sampledOutputGradient(using:)` for rows `offset ..< offset + b` of a global batch of `globalExamples`:
    /// the generator draws for every global example in order (as one process does) and the rows of this
    /// part are kept, so the ranks together sample exactly the one-process labels. The rows carry `1/b`
    /// (this part's mean, as its captures do).
    public func sampledOutputGradient(using rng: inout Xoshiro256StarStar, offset: Int, globalExamples: Int) -> Matrix<Scalar> {
        let (b, d) = (examples, outputDimension)
        precondition(offset >= 0 && offset + b <= globalExamples, "sampled gradient: rows \(offset)..<\(offset + b) of \(globalExamples)")
        let invB = 1 / Scalar(b)
        switch self {
        case .gaussian:
            let all: Matrix<Scalar> = rng.normalMatrix(rows: globalExamples, columns: d)
            var z = Matrix<Scalar>(rows: b, columns: d, storage: Array(all.storage[(offset * d)..<((offset + b) * d)]))
            z.scale(by: -invB)
            return z
        case let .bernoulli(p, c):
            // ỹ ~ Bernoulli(p), gradient √c (p − ỹ)/b: its square's mean is c·p(1 − p) (docs/gnn.md#loss-and-imbalance).
            var g = p
            for n in 0..<globalExamples {
                let u = Scalar(rng.nextUniform())
                guard n >= offset && n < offset + b else { continue }
                let row = n - offset
                g[row, 0] = c[row, 0].squareRoot() * (p[row, 0] - (u < p[row, 0] ? 1 : 0)) * invB
            }
            return g
        case let .categorical(p):
            var g = p
            for n in 0..<globalExamples {
                let u = Scalar(rng.nextUniform())
                guard n >= offset && n < offset + b else { continue }
                let row = n - offset
                var acc: Scalar = 0
                var label = d - 1
                for j in 0..<d {
                    acc += p[row, j]
                    if u < acc { label = j; break }
                }
                g[row, label] -= 1
            }
            g.scale(by: invB)
            return g
        }
    }
}
