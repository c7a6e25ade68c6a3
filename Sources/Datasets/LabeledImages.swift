import Linalg

/// Images with class labels: one image per row of `images` (`count × height·width·channels`, row-major
/// pixels, channels last), normalised to Float. The image `DataSource`: its batches are `ImageBatch`es.
public struct LabeledImages: DataSource {
    public var images: Matrix<Float>
    public var labels: [Int]
    public let height: Int
    public let width: Int
    public let channels: Int
    /// Human-readable class names, index = label.
    public let classNames: [String]
    /// Display name of the data set (`"Fashion-MNIST"`, an IDX folder's name).
    public let name: String

    public init(images: Matrix<Float>, labels: [Int], height: Int, width: Int, channels: Int, classNames: [String],
                name: String = "images") {
        precondition(images.rows == labels.count && images.columns == height * width * channels,
                     "LabeledImages: \(images.rows)×\(images.columns) images, \(labels.count) labels, \(height)×\(width)×\(channels)")
        self.images = images
        self.labels = labels
        self.height = height
        self.width = width
        self.channels = channels
        self.classNames = classNames
        self.name = name
    }

    /// Number of examples.
    public var count: Int { labels.count }
    /// Features per example.
    public var features: Int { images.columns }
    /// Classes the labels may take: the named classes, or one more than the largest label.
    public var classCount: Int { Swift.max(classNames.count, (labels.max() ?? 0) + 1) }

    /// The first `n` examples (all of them when `n ≥ count`); used for quick runs (`--train-subset`).
    public func prefix(_ n: Int) -> LabeledImages {
        guard n < count else { return self }
        let sub = images.firstRows(n)
        return LabeledImages(images: sub, labels: Array(labels[0..<sub.rows]), height: height, width: width,
                             channels: channels, classNames: classNames, name: name)
    }

    public func makeBatch(capacity: Int) -> ImageBatch {
        ImageBatch(images: Matrix(rows: capacity, columns: features), labels: [Int](repeating: 0, count: capacity))
    }

    /// Gathers the examples at `indices` into `batch` (reallocated only when its size differs).
    public func gather(_ indices: ArraySlice<Int>, into batch: inout ImageBatch) {
        if batch.images.rows != indices.count || batch.images.columns != features || batch.labels.count != indices.count {
            batch = makeBatch(capacity: indices.count)
        }
        gather(indices, into: &batch.images, labels: &batch.labels)
    }

    /// Copies the examples at `indices` into the first `indices.count` rows of `batch` and their labels
    /// into `batchLabels` (both preallocated by the caller; one row copy per example, no allocation).
    public func gather(_ indices: ArraySlice<Int>, into batch: inout Matrix<Float>, labels batchLabels: inout [Int]) {
        precondition(batch.columns == features && batch.rows >= indices.count && batchLabels.count >= indices.count,
                     "gather: batch buffer \(batch.rows)×\(batch.columns) too small for \(indices.count) examples")
        images.copyRows(indices, into: &batch)
        for (r, i) in indices.enumerated() { batchLabels[r] = labels[i] }
    }
}

/// A mini-batch of images: `images` is `count × height·width·channels` (one image per row), `labels` one
/// class per image. The model input is `images`.
public struct ImageBatch: LabeledBatch {
    public var images: Matrix<Float>
    public var labels: [Int]

    public init(images: Matrix<Float>, labels: [Int]) {
        precondition(images.rows == labels.count, "ImageBatch: \(images.rows) images but \(labels.count) labels")
        self.images = images
        self.labels = labels
    }

    public var count: Int { labels.count }
}

/// Pixel normalisation `x = (byte/255 − mean) / std`.
public struct PixelNormalization: Sendable, Equatable, CustomStringConvertible {
    public let mean: Float
    public let standardDeviation: Float

    public init(mean: Float, standardDeviation: Float) {
        precondition(standardDeviation > 0, "standard deviation must be positive")
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Fashion-MNIST training-set pixel statistics (mean 0.2860, std 0.3530 on the [0, 1] scale).
    public static let fashionMNIST = PixelNormalization(mean: 0.2860, standardDeviation: 0.3530)
    /// Plain scaling to [0, 1].
    public static let unitInterval = PixelNormalization(mean: 0, standardDeviation: 1)

    public var description: String { "(x/255 − \(mean)) / \(standardDeviation)" }

    /// Normalised Float pixels from bytes.
    public func apply(_ bytes: [UInt8]) -> [Float] {
        let scale = 1 / (255 * standardDeviation)
        let shift = mean / standardDeviation
        return bytes.map { Float($0) * scale - shift }
    }
}
