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

    /// `x ← Σ_r x^(r)` over the ranks for `count` values (one all-reduce, in place). Callers that cannot
    /// throw (an operator's product) use it: a failed all-reduce ends the job naming the rank (`orAbort`).
    public func sumOverRanks<S: BLASScalar>(_ x: UnsafeMutablePointer<S>, count: Int, what: String) {
        let c = communicator, tag = Self.communicated(S.self)
        c.orAbort(what) { () throws(CommunicationError) in
            try c.allReduce(UnsafeMutableRawPointer(x), count: count, scalar: tag, operation: .sum)
        }
    }

    /// The global batch's rows on every rank: `local` (this rank's `count` rows) placed at rows
    /// `offset ..< offset + count` of a `globalCount`-row matrix, zeros elsewhere, summed over the ranks
    /// (one all-reduce of `globalCount · columns` values). Adding zeros is exact, so every rank holds every
    /// rank's rows bit for bit. Every rank must call it at the same time.
    public func gatherRows<S: BLASScalar>(_ local: Matrix<S>, what: String) -> Matrix<S> {
        precondition(local.rows == count, "gatherRows: \(local.rows) rows, this rank holds \(count)")
        let columns = local.columns
        var all = Matrix<S>(rows: globalCount, columns: columns)
        all.withUnsafeMutableBufferPointer { a in
            local.withUnsafeBufferPointer { l in
                if let source = l.baseAddress { (a.baseAddress! + offset * columns).update(from: source, count: l.count) }
            }
            sumOverRanks(a.baseAddress!, count: a.count, what: what)
        }
        return all
    }

    /// The MPI element type of `S` (Float or Double).
    static func communicated<S>(_: S.Type) -> CommunicatedScalar {
        guard let t = S.self as? any CommunicableScalar.Type else { preconditionFailure("no MPI element type for \(S.self)") }
        return t.communicated
    }
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
    /// The curvature of the whole global batch on every rank (`CurvatureShard.gatherRows` of its per-example rows).
    public func gathered(_ shard: CurvatureShard) -> OutputCurvature {
        switch self {
        case let .gaussian(y): return .gaussian(outputs: shard.gatherRows(y, what: "gathering the batch outputs"))
        case let .categorical(p): return .categorical(probabilities: shard.gatherRows(p, what: "gathering the batch probabilities"))
        case let .bernoulli(p, w):
            return .bernoulli(probabilities: shard.gatherRows(p, what: "gathering the batch probabilities"),
                              weights: shard.gatherRows(w, what: "gathering the batch weights"))
        }
    }

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
