import Foundation

/// A folder of labelled images in the (Fashion-)MNIST file layout: `train-images-idx3-ubyte` and
/// `train-labels-idx1-ubyte` for training, `t10k-…` for testing, each gzip'd (`.gz`, preferred when both
/// exist) or plain. Any image size and any number of classes (the labels' range, or `classNames`).
///
/// `name` is the data set's display name in plots and tables; `IDXImageFolder(directory:)` takes it from
/// the folder (`/data/kmnist` → `"kmnist"`; a folder called `fashion-mnist` → `FashionMNIST`'s name and
/// class names).
public struct IDXImageFolder: Sendable, Equatable {
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        /// File-name prefix of the split (`train` or `t10k`).
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    public let directory: String
    public let name: String
    /// Class names, index = label; empty: `"0"`, `"1"`, … up to the largest label.
    public let classNames: [String]
    /// Required `(height, width)` of every image (nil: any).
    public let imageSize: (height: Int, width: Int)?
    /// What to do when a file is missing.
    public let missingHint: String

    public init(directory: String, name: String, classNames: [String] = [], imageSize: (height: Int, width: Int)? = nil,
                missingHint: String = "Check --data-dir: it must hold train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz].") {
        self.directory = directory
        self.name = name
        self.classNames = classNames
        self.imageSize = imageSize
        self.missingHint = missingHint
    }

    /// The folder at `directory`, named after it; a folder called `fashion-mnist` (any case) is `FashionMNIST.folder`.
    public init(directory: String) {
        let base = URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent
        if base.lowercased() == "fashion-mnist" {
            self = FashionMNIST.folder(directory: directory)
        } else {
            self.init(directory: directory, name: base.isEmpty ? directory : base)
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.directory == b.directory && a.name == b.name && a.classNames == b.classNames
            && a.imageSize?.height == b.imageSize?.height && a.imageSize?.width == b.imageSize?.width
    }

    /// Paths of the image and label files of `split`: the `.gz` file when it exists or neither form does,
    /// else the plain file.
    public func paths(_ split: Split) -> (images: String, labels: String) {
        func path(_ stem: String) -> String {
            let plain = "\(directory)/\(split.filePrefix)-\(stem)-ubyte"
            let fm = FileManager.default
            return !fm.fileExists(atPath: plain + ".gz") && fm.fileExists(atPath: plain) ? plain : plain + ".gz"
        }
        return (path("images-idx3"), path("labels-idx1"))
    }

    /// Loads `split`, validating the files, and normalises the pixels (`x = (byte/255 − mean)/std`).
    public func load(_ split: Split, normalization: PixelNormalization = .fashionMNIST) throws(DatasetError) -> LabeledImages {
        let (imagePath, labelPath) = paths(split)
        let images = try IDXFile(contentsOf: imagePath, expectedDimensions: 3, missingHint: missingHint)
        let labels = try IDXFile(contentsOf: labelPath, expectedDimensions: 1, missingHint: missingHint)
        let (n, h, w) = (images.dimensions[0], images.dimensions[1], images.dimensions[2])
        guard n > 0 else { throw .empty(path: imagePath, what: "images") }
        if let size = imageSize, size.height != h || size.width != w {
            throw .inconsistent(path: imagePath, detail: "images are \(h)×\(w), \(name) images are \(size.height)×\(size.width)")
        }
        guard labels.dimensions[0] == n else {
            throw .inconsistent(path: labelPath, detail: "\(labels.dimensions[0]) labels for \(n) images in \(imagePath)")
        }
        if !classNames.isEmpty, let bad = labels.bytes.first(where: { Int($0) >= classNames.count }) {
            throw .inconsistent(path: labelPath, detail: "label \(bad) outside 0..<\(classNames.count)")
        }
        let names = classNames.isEmpty ? (0...Int(labels.bytes.max() ?? 0)).map(String.init) : classNames
        return LabeledImages(images: .init(rows: n, columns: h * w, storage: normalization.apply(images.bytes)),
                             labels: labels.bytes.map { Int($0) }, height: h, width: w, channels: 1, classNames: names, name: name)
    }

    /// Both splits.
    public func load(normalization: PixelNormalization = .fashionMNIST) throws(DatasetError) -> (train: LabeledImages, test: LabeledImages) {
        (try load(.train, normalization: normalization), try load(.test, normalization: normalization))
    }
}
