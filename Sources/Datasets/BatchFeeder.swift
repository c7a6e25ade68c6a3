import Linalg

/// The mini-batch of a global training step, gathered into reused buffers: step `s` is batch
/// `s % batchesPerEpoch` of epoch `s / batchesPerEpoch` in `MiniBatches`' seeded order. The epoch's
/// permutation is drawn once per epoch and the image/label buffers are only reallocated when the batch
/// size changes (the epoch's last, smaller batch), so a training loop does no per-step allocation here.
/// One implementation for the trainer and the experiment runners (each had its own copy of this loop).
public struct BatchFeeder {
    public let data: LabeledImages
    public let batches: MiniBatches
    /// The current batch's images (`rows` = examples in the batch) and labels.
    public private(set) var images: Matrix<Float>
    public private(set) var labels: [Int]
    private var order: [Int] = []
    private var orderEpoch = -1

    public init(data: LabeledImages, batches: MiniBatches) {
        precondition(batches.count <= data.count, "BatchFeeder: \(batches.count) batches' examples but only \(data.count) in the data")
        self.data = data
        self.batches = batches
        images = Matrix(rows: batches.batchSize, columns: data.features)
        labels = [Int](repeating: 0, count: batches.batchSize)
    }

    /// 0-based epoch of global step `s`.
    public func epoch(ofStep s: Int) -> Int { s / batches.batchesPerEpoch }

    /// Gathers global step `s`'s batch into `images` and `labels`.
    public mutating func load(step s: Int) {
        let epoch = epoch(ofStep: s), index = s % batches.batchesPerEpoch
        if epoch != orderEpoch { order = batches.order(epoch: epoch); orderEpoch = epoch }
        let indices = batches.batch(index, of: order)
        if images.rows != indices.count {
            images = Matrix(rows: indices.count, columns: data.features)
            labels = [Int](repeating: 0, count: indices.count)
        }
        data.gather(indices, into: &images, labels: &labels)
    }
}
