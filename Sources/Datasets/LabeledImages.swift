import Linalg

/// Images with class labels: one image per row of `images` (`count × height·width·channels`, row-major
/// pixels, channels last), normalised to Float.
public struct LabeledImages: Sendable {
    public var images: Matrix<Float>
    public var labels: [Int]
    public let height: Int
    public let width: Int
    public let channels: Int
    /// Human-readable class names, index = label.
    public let classNames: [String]

    public init(images: Matrix<Float>, labels: [Int], height: Int, width: Int, channels: Int, classNames: [String]) {
        precondition(images.rows == labels.count && images.columns == height * width * channels,
                     "LabeledImages: \(images.rows)×\(images.columns) images, \(labels.count) labels, \(height)×\(width)×\(channels)")
        self.images = images
        self.labels = labels
        self.height = height
        self.width = width
        self.channels = channels
        self.classNames = classNames
    }

    /// Number of examples.
    public var count: Int { labels.count }
    /// Features per example.
    public var features: Int { images.columns }

    /// The first `n` examples (all of them when `n ≥ count`); used for quick runs (`--train-subset`).
    public func prefix(_ n: Int) -> LabeledImages {
        let m = Swift.min(Swift.max(n, 0), count)
        guard m < count else { return self }
        let f = features
        let sub = Matrix(rows: m, columns: f, storage: Array(images.storage[0..<(m * f)]))
        return LabeledImages(images: sub, labels: Array(labels[0..<m]), height: height, width: width,
                             channels: channels, classNames: classNames)
    }

    /// Copies the examples at `indices` into the first `indices.count` rows of `batch` and their labels
    /// into `batchLabels` (both preallocated by the caller; one row copy per example, no allocation).
    public func gather(_ indices: ArraySlice<Int>, into batch: inout Matrix<Float>, labels batchLabels: inout [Int]) {
        precondition(batch.columns == features && batch.rows >= indices.count && batchLabels.count >= indices.count,
                     "gather: batch buffer \(batch.rows)×\(batch.columns) too small for \(indices.count) examples")
        let f = features
        images.withUnsafeBufferPointer { src in
            batch.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + r * f).update(from: src.baseAddress! + i * f, count: f)
                    batchLabels[r] = labels[i]
                }
            }
        }
    }
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
