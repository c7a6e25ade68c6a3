import Linalg

/// A mini-batch of some data source: images with labels, token sequences with masks, batched graphs.
public protocol DataBatch: Sendable {
    /// Examples in the batch (images, sequences, graphs): the `b` of a loss averaged over the batch.
    var count: Int { get }
}

/// A batch whose examples carry one class label each (image or sequence classification).
public protocol LabeledBatch: DataBatch {
    /// Class of each example, `count` entries in `0..<classes`.
    var labels: [Int] { get }
}

/// A finite, indexable data set served in mini-batches: the training loop draws a seeded order of the
/// indices `0..<count` (`MiniBatches`) and gathers each batch into a buffer it reuses (`BatchFeeder`).
///
/// A new workload implements this for its storage (images, token sequences, molecules) and a `DataBatch`
/// its model and task read. `name` is what plots and tables call the data set.
public protocol DataSource<Batch>: Sendable {
    associatedtype Batch: DataBatch
    /// Display name for plots, tables and run summaries (`"Fashion-MNIST"`, an IDX folder's name).
    var name: String { get }
    /// Number of examples.
    var count: Int { get }
    /// The first `n` examples (all of them when `n ≥ count`): quick runs and fixed evaluation probes.
    func prefix(_ n: Int) -> Self
    /// A batch buffer for up to `capacity` examples (its contents are overwritten by `gather`).
    func makeBatch(capacity: Int) -> Batch
    /// Writes the examples at `indices` into `batch`, reusing its storage when it has the right size and
    /// reallocating it otherwise; afterwards `batch.count == indices.count`.
    func gather(_ indices: ArraySlice<Int>, into batch: inout Batch)
}

extension DataSource {
    /// The examples at `indices` as a new batch.
    public func batch(_ indices: ArraySlice<Int>) -> Batch {
        var b = makeBatch(capacity: indices.count)
        gather(indices, into: &b)
        return b
    }

    /// Consecutive batches of at most `size` examples covering the whole source in order (evaluation).
    public func chunks(of size: Int) -> [Range<Int>] {
        precondition(size >= 1, "chunks(of:) needs a positive size, got \(size)")
        return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }
}
