/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 28×28 grey images of 10 clothing classes, 60,000 for
/// training and 10,000 for testing, read from the Debian package `dataset-fashion-mnist`
/// (`/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`, docs/data.md#fashion-mnist).
public enum FashionMNIST {
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        /// File-name prefix of the split (`train` or `t10k`).
        var filePrefix: String { self == .train ? "train" : "t10k" }
        /// Examples in the full split.
        public var expectedCount: Int { self == .train ? 60_000 : 10_000 }
    }

    /// Where the Debian package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// What to do when the files are missing.
    public static let installHint = "Install Fashion-MNIST with `sudo apt-get install dataset-fashion-mnist` or `make deps`."
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Paths of the image and label files of `split` under `directory`.
    public static func paths(_ split: Split, directory: String = defaultDirectory) -> (images: String, labels: String) {
        ("\(directory)/\(split.filePrefix)-images-idx3-ubyte.gz", "\(directory)/\(split.filePrefix)-labels-idx1-ubyte.gz")
    }

    /// Loads `split`, validating the files, and normalises the pixels.
    public static func load(_ split: Split, directory: String = defaultDirectory,
                            normalization: PixelNormalization = .fashionMNIST) throws(DatasetError) -> LabeledImages {
        let (imagePath, labelPath) = paths(split, directory: directory)
        let images = try IDXFile(contentsOf: imagePath, expectedDimensions: 3, missingHint: installHint)
        let labels = try IDXFile(contentsOf: labelPath, expectedDimensions: 1, missingHint: installHint)
        return try makeLabeledImages(images: images, labels: labels, imagePath: imagePath, labelPath: labelPath,
                                     classes: classNames, normalization: normalization)
    }

    /// Checks that image and label arrays fit together and builds the normalised data set.
    static func makeLabeledImages(images: IDXFile, labels: IDXFile, imagePath: String, labelPath: String,
                                  classes: [String], normalization: PixelNormalization) throws(DatasetError) -> LabeledImages {
        let (n, h, w) = (images.dimensions[0], images.dimensions[1], images.dimensions[2])
        guard h == 28, w == 28 else {
            throw .inconsistent(path: imagePath, detail: "images are \(h)×\(w), Fashion-MNIST images are 28×28")
        }
        guard labels.dimensions[0] == n else {
            throw .inconsistent(path: labelPath, detail: "\(labels.dimensions[0]) labels for \(n) images in \(imagePath)")
        }
        if let bad = labels.bytes.first(where: { Int($0) >= classes.count }) {
            throw .inconsistent(path: labelPath, detail: "label \(bad) outside 0..<\(classes.count)")
        }
        return LabeledImages(images: .init(rows: n, columns: h * w, storage: normalization.apply(images.bytes)),
                             labels: labels.bytes.map { Int($0) }, height: h, width: w, channels: 1, classNames: classes)
    }
}
