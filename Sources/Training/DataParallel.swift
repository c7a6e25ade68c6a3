import Communication
import Curvature
import Datasets
import NeuralNet
import Optimizers

/// The data-parallel part of a training step on several ranks (docs/multi-process.md#data-parallel-steps):
/// each rank's gradients, scaled by its share `b_r / b` of the global batch, are summed over the ranks in one
/// all-reduce, so every rank ends with the one-process gradient `(1/b) Σ_n ∇ℓ_n` and applies the same update.
enum DataParallel {
    /// `∇ ← Σ_r w_r ∇_r` for every parameter in `parameters`, packed into one buffer (`w` is this rank's weight).
    static func sumGradients(_ parameters: [Parameter<Float>], weight w: Float, communicator: any Communicator) throws(CommunicationError) {
        let total = parameters.reduce(0) { $0 + $1.count }
        var flat = [Float](repeating: 0, count: total)
        flat.withUnsafeMutableBufferPointer { f in
            var offset = 0
            for p in parameters {
                p.gradient.withUnsafeBufferPointer { g in for i in 0..<g.count { f[offset + i] = g[i] * w } }
                offset += p.count
            }
        }
        try communicator.allReduce(&flat)
        flat.withUnsafeBufferPointer { f in
            var offset = 0
            for p in parameters {
                p.gradient.withUnsafeMutableBufferPointer { g in for i in 0..<g.count { g[i] = f[offset + i] } }
                offset += p.count
            }
        }
    }

    /// What a data-parallel run cannot do yet, as a message naming the setting and the alternative; nil
    /// when `c` runs on `ranks` ranks (with `train` examples).
    static func unsupported(_ c: TrainingConfiguration, ranks: Int, trainExamples n: Int) -> String? {
        guard ranks > 1 else { return nil }
        if c.optimizer == .ngdExact {
            return "--distributed does not run ngd-exact (the dense GGN of one batch is one rank's matrix); use --optimizer ngd-cg, "
                + "whose products are summed over the ranks, or start it without mpirun"
        }
        if c.dropout > 0 {
            return "--distributed does not support --dropout yet (each rank would need its part of the one-process mask draws); use --dropout 0"
        }
        if c.optimizer == .tkfac && c.thermodynamicKFAC.feed == "raw" {
            return "--distributed needs TK-FAC's factor feed: the raw feed programs one rank's arrays only; use --feed factors"
        }
        let batch = min(c.batchSize, n)
        let last = n % batch == 0 ? batch : n % batch
        if batch < ranks || last < ranks {
            return "every mini-batch must hold at least one example per rank: batch \(batch)\(last < batch ? " (the epoch's last: \(last))" : "") "
                + "for \(ranks) ranks; use a larger --batch or another --train-subset"
        }
        return nil
    }
}
