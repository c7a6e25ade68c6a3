import Datasets
import Foundation
import Testing

/// Whether Fashion-MNIST's test split is installed in `directory` (the Debian package's folder by default).
/// When it is not, records a test issue with the install command: the data is a dependency of `make test`
/// (installed by `make deps`), so its absence fails the test instead of skipping it silently.
public func fashionMNISTIsInstalled(directory: String = FashionMNIST.defaultDirectory,
                                    sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard FileManager.default.fileExists(atPath: FashionMNIST.paths(.test, directory: directory).images) else {
        Issue.record("Fashion-MNIST is not installed in \(directory): \(FashionMNIST.installHint)", sourceLocation: sourceLocation)
        return false
    }
    return true
}
