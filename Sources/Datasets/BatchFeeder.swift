import Linalg

/// The mini-batch of a global training step, gathered into a reused buffer: step `s` is batch
/// `s % batchesPerEpoch` of epoch `s / batchesPerEpoch` in `MiniBatches`' seeded order. The epoch's
/// permutation is drawn once per epoch and the batch buffer is only reallocated when the batch size
/// changes (the epoch's last, smaller batch), so a training loop does no per-step allocation here.
/// Works for any `DataSource` (images, token sequences, graphs).
public struct BatchFeeder<Source: DataSource> {
    public let data: Source
    public let batches: MiniBatches
    /// The current batch.
    public private(set) var batch: Source.Batch
    private var order: [Int] = []
    private var orderEpoch = -1

    public init(data: Source, batches: MiniBatches) {
        precondition(batches.count <= data.count, "BatchFeeder: \(batches.count) batches' examples but only \(data.count) in the data")
        self.data = data
        self.batches = batches
        batch = data.makeBatch(capacity: batches.batchSize)
    }

    /// 0-based epoch of global step `s`.
    public func epoch(ofStep s: Int) -> Int { s / batches.batchesPerEpoch }

    /// Gathers global step `s`'s batch into `batch`.
    public mutating func load(step s: Int) {
        let epoch = epoch(ofStep: s), index = s % batches.batchesPerEpoch
        if epoch != orderEpoch { order = batches.order(epoch: epoch); orderEpoch = epoch }
        data.gather(batches.batch(index, of: order), into: &batch)
    }
}

extension BatchFeeder where Source.Batch == ImageBatch {
    /// The current batch's images (`rows` = examples in the batch).
    public var images: Matrix<Float> { batch.images }
    /// The current batch's labels.
    public var labels: [Int] { batch.labels }
}
