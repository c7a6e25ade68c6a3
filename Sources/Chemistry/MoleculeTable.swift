import Foundation

/// What to do with a line of a molecule file whose SMILES does not parse or whose target is not a label.
public enum BadLinePolicy: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Leave the line out; the count and the first few errors are reported (`MoleculeTable.skipped`).
    case skip
    /// Stop at the first bad line with its error.
    case refuse
    public var description: String { rawValue }
}

/// A molecule file that cannot be used, with the line and what to do.
public enum MoleculeDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data file is not there; `hint` names the command that installs it.
    case missingFile(path: String, hint: String)
    /// The file cannot be read or is not UTF-8.
    case unreadable(path: String, reason: String)
    /// The header is not `smiles,target` (in either order, more columns allowed).
    case badHeader(path: String, found: String)
    /// A line's SMILES does not parse (policy `refuse`).
    case badSMILES(path: String, error: SMILESError)
    /// A line's target is not one of the labels (policy `refuse`).
    case badTarget(path: String, line: Int, value: String)
    /// The file holds no usable molecule, or only one class.
    case unusable(path: String, detail: String)

    public var description: String {
        switch self {
        case let .missingFile(path, hint): "molecule data not found: \(path). \(hint)"
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .badHeader(path, found): "\(path): the first line must name the columns smiles and target, found '\(found)'"
        case let .badSMILES(path, error): "\(path): \(error) (use --bad-lines skip to leave such lines out)"
        case let .badTarget(path, line, value):
            "\(path) line \(line): target '\(value)' is not a label (0/1, or CI/CM/CA: active = CM or CA) (use --bad-lines skip to leave such lines out)"
        case let .unusable(path, detail): "\(path): \(detail)"
        }
    }
}

/// Molecules with binary labels read from a CSV file with columns `smiles` and `target`: `0`/`1`, or the
/// HIV screen's classes `CI` (inactive), `CM`, `CA` (active = moderately or confirmed active, as
/// MoleculeNet and ogbg-molhiv define it). Lines are parsed with `SMILES.parse`; bad lines follow
/// `policy`. Fields are plain (SMILES contain no commas or quotes).
public struct MoleculeTable: Sendable {
    public let path: String
    public var molecules: [Molecule]
    public var labels: [Int]
    /// Canonical SMILES are not produced; the text of each line is kept for printing and scaffolds.
    public var smiles: [String]
    /// The 1-based file lines that were left out, with their error (policy `skip`).
    public var skipped: [(line: Int, reason: String)]

    /// Reads and parses `path`.
    public init(path: String, policy: BadLinePolicy = .refuse) throws(MoleculeDataError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .missingFile(path: path, hint: "Give an existing CSV file with columns smiles,target.")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .unreadable(path: path, reason: "\(error.localizedDescription)") }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(path: path, reason: "not UTF-8 text") }
        try self.init(text: text, path: path, policy: policy)
    }

    /// Parses CSV `text` (named `path` in errors).
    public init(text: String, path: String, policy: BadLinePolicy) throws(MoleculeDataError) {
        self.path = path
        (molecules, labels, smiles, skipped) = ([], [], [], [])
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        guard let header = lines.first else { throw .unusable(path: path, detail: "the file is empty") }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        guard let smilesColumn = names.firstIndex(of: "smiles"), let targetColumn = names.firstIndex(of: "target") else {
            throw .badHeader(path: path, found: String(header.prefix(80)))
        }
        molecules.reserveCapacity(lines.count)
        for (offset, raw) in lines.enumerated().dropFirst() {
            let line = offset + 1
            let fields = raw.split(separator: ",", omittingEmptySubsequences: false)
            func bad(_ error: MoleculeDataError, _ reason: String) throws(MoleculeDataError) {
                if policy == .refuse { throw error }
                skipped.append((line, reason))
            }
            guard fields.count > max(smilesColumn, targetColumn) else {
                try bad(.badTarget(path: path, line: line, value: String(raw.prefix(40))), "\(fields.count) fields, expected \(names.count)")
                continue
            }
            let target = fields[targetColumn].trimmingCharacters(in: .whitespacesAndNewlines)
            guard let label = Self.label(target) else {
                try bad(.badTarget(path: path, line: line, value: target), "target '\(target)' is not a label")
                continue
            }
            let text = fields[smilesColumn].trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                molecules.append(try SMILES.parse(text))
            } catch {
                var e = error
                e.line = line
                try bad(.badSMILES(path: path, error: e), e.description)
                continue
            }
            labels.append(label)
            smiles.append(text)
        }
        guard !molecules.isEmpty else { throw .unusable(path: path, detail: "no molecule could be read (\(skipped.count) bad lines)") }
    }

    /// `1` for `1`, `CM`, `CA`; `0` for `0`, `CI`; nil otherwise.
    static func label(_ s: String) -> Int? {
        switch s {
        case "1", "1.0", "CM", "CA": 1
        case "0", "0.0", "CI": 0
        default: nil
        }
    }

    public var count: Int { molecules.count }
    public var positives: Int { labels.reduce(0, +) }
}
