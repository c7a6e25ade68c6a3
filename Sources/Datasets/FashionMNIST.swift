/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 28×28 grey images of 10 clothing classes, 60,000 for
/// training and 10,000 for testing, read from the Debian package `dataset-fashion-mnist`
/// (`/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`, docs/data.md#fashion-mnist) as an `IDXImageFolder`.
public enum FashionMNIST {
    public typealias Split = IDXImageFolder.Split

    /// Where the Debian package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// What to do when the files are missing.
    public static let installHint = "Install Fashion-MNIST with `sudo apt-get install dataset-fashion-mnist` or `make deps`."
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    /// Display name in plots and tables.
    public static let name = "Fashion-MNIST"

    /// The folder at `directory` read as Fashion-MNIST: 28×28 images, the ten class names.
    public static func folder(directory: String = defaultDirectory) -> IDXImageFolder {
        IDXImageFolder(directory: directory, name: name, classNames: classNames, imageSize: (28, 28), missingHint: installHint)
    }

    /// Paths of the image and label files of `split` under `directory`.
    public static func paths(_ split: Split, directory: String = defaultDirectory) -> (images: String, labels: String) {
        folder(directory: directory).paths(split)
    }

    /// Loads `split`, validating the files, and normalises the pixels.
    public static func load(_ split: Split, directory: String = defaultDirectory,
                            normalization: PixelNormalization = .fashionMNIST) throws(DatasetError) -> LabeledImages {
        try folder(directory: directory).load(split, normalization: normalization)
    }
}
