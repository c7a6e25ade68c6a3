import Communication
import Curvature
import Linalg
import NeuralNet

extension KFAC {
    /// `Σ_r (b_r / b) F_r` over the ranks for every layer's fresh factors `F_r = (A_r, G_r)` — the
    /// one-process factors of the global batch, since both are means over examples
    /// (docs/multi-process.md#k-fac-on-several-ranks). One all-reduce of all layers, in block order. A failed
    /// reduction ends the job (the step cannot go on with factors that differ between ranks).
    static func sumOverRanks(_ fresh: [String: KroneckerFactors<Scalar>], blocks: [KroneckerBlock<Scalar>],
                             shard: CurvatureShard) -> [String: KroneckerFactors<Scalar>] {
        let names = blocks.map(\.name).filter { fresh[$0] != nil }
        let w = Scalar(shard.weight)
        var flat: [Scalar] = []
        flat.reserveCapacity(names.reduce(0) { $0 + fresh[$1]!.activation.count + fresh[$1]!.gradient.count })
        for name in names {
            let f = fresh[name]!
            for m in [f.activation, f.gradient] { m.withUnsafeBufferPointer { p in for x in p { flat.append(x * w) } } }
        }
        let c = shard.communicator, count = flat.count
        let scalar: CommunicatedScalar = MemoryLayout<Scalar>.size == 4 ? .float32 : .float64
        flat.withUnsafeMutableBytes { p in
            guard let base = p.baseAddress else { return }
            c.orAbort("reducing K-FAC factors") { () throws(CommunicationError) in
                try c.allReduce(base, count: count, scalar: scalar, operation: .sum)
            }
        }
        var out: [String: KroneckerFactors<Scalar>] = [:]
        var offset = 0
        func take(_ n: Int) -> Matrix<Scalar> {
            defer { offset += n * n }
            return Matrix(rows: n, columns: n, storage: Array(flat[offset..<(offset + n * n)]))
        }
        for name in names {
            let f = fresh[name]!
            let a = take(f.activation.rows)
            out[name] = KroneckerFactors(activation: a, gradient: take(f.gradient.rows))
        }
        return out
    }
}
