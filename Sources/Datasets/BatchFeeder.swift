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

    /// Examples in the last loaded step's global batch (all ranks' parts together).
    public private(set) var globalCount = 0
    /// Where this rank's part starts in the last loaded global batch.
    public private(set) var partOffset = 0

    /// Gathers global step `s`'s batch into `batch`; with `parts > 1` only rank `part`'s contiguous part
    /// of it (`MiniBatches.shard`), in the same seeded order.
    public mutating func load(step s: Int, part: Int = 0, of parts: Int = 1) {
        let epoch = epoch(ofStep: s), index = s % batches.batchesPerEpoch
        if epoch != orderEpoch { order = batches.order(epoch: epoch); orderEpoch = epoch }
        let indices = batches.batch(index, of: order)
        let rows = MiniBatches.shard(indices.count, part: part, of: parts)
        globalCount = indices.count
        partOffset = rows.lowerBound
        data.gather(indices[(indices.startIndex + rows.lowerBound)..<(indices.startIndex + rows.upperBound)], into: &batch)
    }
}

extension BatchFeeder where Source.Batch == ImageBatch {
    /// The current batch's images (`rows` = examples in the batch).
    public var images: Matrix<Float> { batch.images }
    /// The current batch's labels.
    public var labels: [Int] { batch.labels }
}
