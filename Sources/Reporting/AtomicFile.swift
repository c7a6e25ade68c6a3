import Foundation

/// Writes files atomically: the bytes go to a temporary file in the same directory, which is then
/// renamed over the destination (`rename(2)` is atomic on POSIX file systems), so a crash leaves either
/// the old file or the new one, never half of one.
public enum AtomicFile {
    /// Writes `data` to `path`, creating parent directories as needed.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try OutputFolder.create(directory.path)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do { try OutputFolder.writeFile(data, to: temporary.path) } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ReportingError.cannotWrite(path: path, reason: error.reason)
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = OutputFolder.posixReason(errno)
            try? FileManager.default.removeItem(at: temporary)
            throw ReportingError.cannotWrite(path: path, reason: reason)
        }
    }

    /// Removes the temporary files (`.<name>.tmp-<pid>`) that a killed writer left in `directory`: those of
    /// processes that no longer run. Returns their names.
    @discardableResult
    public static func removeOrphanedTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]), pid > 0 else { continue }
            let alive = pid == ProcessInfo.processInfo.processIdentifier || kill(pid, 0) == 0 || errno == EPERM
            if !alive, (try? FileManager.default.removeItem(atPath: directory + "/" + name)) != nil { removed.append(name) }
        }
        return removed
    }

    /// Writes `text` as UTF-8 to `path`.
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
}

/// A report that could not be written, and why.
public enum ReportingError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)
    case cannotCreateFolder(path: String, reason: String)
    case columnMismatch(path: String, expected: Int, got: Int)

    /// The cause alone (for wrapping into another message).
    public var reason: String {
        switch self {
        case let .cannotWrite(_, reason), let .cannotCreateFolder(_, reason): return reason
        case .columnMismatch: return description
        }
    }

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason). Check the folder's permissions and free space."
        case let .cannotCreateFolder(path, reason):
            return "cannot use the output folder \(path): \(reason). Choose another folder (--out) or fix its permissions."
        case let .columnMismatch(path, expected, got):
            return "\(path): a row has \(got) values but the header has \(expected) columns (a Thermograd bug)"
        }
    }
}
