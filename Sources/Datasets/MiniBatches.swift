import Linalg

/// Seeded mini-batch order: epoch `e` visits the examples in the permutation drawn by
/// `Xoshiro256StarStar(seed: seed, stream: e)`, in consecutive batches of `batchSize` (the last one
/// smaller unless `dropLast`). The order is a pure function of `(seed, epoch)`, so a run resumed at
/// any step reproduces it without saving a shuffle state.
public struct MiniBatches: Sendable, Equatable {
    public let count: Int
    public let batchSize: Int
    public let seed: UInt64
    public let shuffle: Bool
    public let dropLast: Bool

    public init(count: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = false) {
        precondition(count >= 1 && batchSize >= 1, "mini-batches need at least one example and a positive batch size")
        self.count = count
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
        self.dropLast = dropLast
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int { dropLast ? max(count / batchSize, 1) : (count + batchSize - 1) / batchSize }

    /// The order of the examples in `epoch` (0-based).
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<count) }
        var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(epoch) &+ 1)
        return rng.permutation(count)
    }

    /// Rank `part`'s examples of a global batch of `count` among `parts` ranks: the contiguous rows
    /// `⌊part·count/parts⌋ ..< ⌊(part+1)·count/parts⌋` (docs/multi-process.md#data-parallel-steps). The parts
    /// cover the batch in order, so the ranks together hold exactly the one-process batch.
    public static func shard(_ count: Int, part: Int, of parts: Int) -> Range<Int> {
        precondition(parts >= 1 && (0..<parts).contains(part), "shard: part \(part) of \(parts)")
        return (part * count / parts)..<((part + 1) * count / parts)
    }

    /// Indices of batch `index` within `order` (an epoch's permutation).
    public func batch(_ index: Int, of order: [Int]) -> ArraySlice<Int> {
        let start = index * batchSize
        return order[start..<min(start + batchSize, count)]
    }
}
