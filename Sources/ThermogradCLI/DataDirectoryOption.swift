import ArgumentParser
import Datasets
import Training

/// `--data-dir`, shared by `train` and the experiments; the default is `TrainingConfiguration`'s.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: defaulted("Folder of IDX files in the Fashion-MNIST layout (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]); plots are titled with its name.", TrainingConfiguration().dataDirectory))
    var dataDirectory: String?

    /// The folder to read.
    var directory: String { dataDirectory ?? TrainingConfiguration().dataDirectory }
    /// The data set's display name (from the folder, `IDXImageFolder(directory:)`), for titles.
    var name: String { IDXImageFolder(directory: directory).name }

    func apply(to directory: inout String) {
        if let dataDirectory { directory = dataDirectory }
    }
}
