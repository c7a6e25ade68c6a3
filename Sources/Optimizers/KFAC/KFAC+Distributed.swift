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
        let matrices = names.flatMap { [fresh[$0]!.activation, fresh[$0]!.gradient] }
        let count = matrices.reduce(0) { $0 + $1.count }
        let w = Scalar(shard.weight)
        // Packed with BLAS (scal) and memory copies: element loops in this generic type run unspecialised,
        // ~100 ns per element, which for a 785-wide factor cost more than the reduction itself.
        var flat = [Scalar](unsafeUninitializedCapacity: count) { f, initialized in
            var offset = 0
            for m in matrices {
                m.withUnsafeBufferPointer { (f.baseAddress! + offset).initialize(from: $0.baseAddress!, count: $0.count) }
                offset += m.count
            }
            if count > 0 { Scalar.scal(Int32(count), w, f.baseAddress!, 1) }
            initialized = count
        }
        let c = shard.communicator
        let scalar: CommunicatedScalar = MemoryLayout<Scalar>.size == 4 ? .float32 : .float64
        flat.withUnsafeMutableBytes { p in
            guard let base = p.baseAddress else { return }
            c.orAbort("reducing K-FAC factors") { () throws(CommunicationError) in
                try c.allReduce(base, count: count, scalar: scalar, operation: .sum)
            }
        }
        var out: [String: KroneckerFactors<Scalar>] = [:]
        flat.withUnsafeBufferPointer { f in
            var offset = 0
            func take(_ n: Int) -> Matrix<Scalar> {
                defer { offset += n * n }
                return Matrix(rows: n, columns: n, unsafeUninitializedWith: { $0.baseAddress!.initialize(from: f.baseAddress! + offset, count: n * n) })
            }
            for name in names {
                let f = fresh[name]!
                let a = take(f.activation.rows)
                out[name] = KroneckerFactors(activation: a, gradient: take(f.gradient.rows))
            }
        }
        return out
    }
}
