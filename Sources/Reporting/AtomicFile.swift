import Foundation

/// Writes files atomically: the bytes go to a temporary file in the same directory, which is then
/// renamed over the destination (`rename(2)` is atomic on POSIX file systems), so a crash leaves either
/// the old file or the new one, never half of one.
public enum AtomicFile {
    /// Writes `data` to `path`, creating parent directories as needed.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ReportingError.cannotWrite(path: path, reason: reason)
        }
    }

    /// Writes `text` as UTF-8 to `path`.
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
}

/// A report that could not be written, and why.
public enum ReportingError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)
    case columnMismatch(path: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason). Check the directory and free space."
        case let .columnMismatch(path, expected, got):
            return "\(path): a row has \(got) values but the header has \(expected) columns (a Thermograd bug)"
        }
    }
}
