import Foundation

/// Creating output folders and writing files with errors that say which path is in the way and why
/// (a file where a folder should be, no permission, a read-only file system), instead of Foundation's
/// "NSCocoaErrorDomain error 512".
public enum OutputFolder {
    /// Creates `path` and its missing parents, then checks that files can be written in it.
    /// Throws `ReportingError.cannotCreateFolder` naming the component at fault.
    public static func create(_ path: String) throws(ReportingError) {
        let fm = FileManager.default
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: prefix, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw .cannotCreateFolder(path: path, reason: "\(prefix) is a file, not a folder")
                }
                continue
            }
            if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
                throw .cannotCreateFolder(path: path, reason: "cannot create \(prefix): \(posixReason(errno))")
            }
        }
        let folder = path.isEmpty ? "." : path
        guard access(folder, W_OK | X_OK) == 0 else {
            throw .cannotCreateFolder(path: path, reason: "cannot write in \(folder): \(posixReason(errno))")
        }
    }

    /// Writes `data` to `path` (created or truncated) with POSIX calls, so that a failure names its cause.
    public static func writeFile(_ data: Data, to path: String) throws(ReportingError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: posixReason(errno)) }
        defer { close(fd) }
        let failure: Int32? = data.withUnsafeBytes { raw -> Int32? in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return errno }
                offset += n
            }
            return nil
        }
        if let failure { throw .cannotWrite(path: path, reason: posixReason(failure)) }
    }

    /// `strerror` text, lower-cased at the start to read inside a sentence ("permission denied").
    public static func posixReason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
