/// A data set that cannot be read, with what to do about it.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file does not exist; `hint` says how to install it.
    case missingFile(path: String, hint: String)
    /// zlib could not open or decompress the file (corrupt or truncated gzip stream).
    case unreadable(path: String, reason: String)
    /// The file exists but cannot be opened (no permission, a folder in its place): the file may be intact.
    case inaccessible(path: String, reason: String)
    /// The file is valid but holds no examples.
    case empty(path: String, what: String)
    /// The IDX magic number is wrong: not an IDX file, or the wrong kind (images vs labels).
    case badMagic(path: String, found: UInt32, expected: String)
    /// The header declares more data than the file holds.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file holds more bytes than its header declares.
    case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
    /// Shapes that must agree do not (image count vs label count, image size, label range).
    case inconsistent(path: String, detail: String)

    public var description: String {
        switch self {
        case let .missingFile(path, hint):
            return "data file not found: \(path). \(hint)"
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason). The file is damaged; reinstall it (see `make deps`)."
        case let .inaccessible(path, reason):
            return "cannot open \(path): \(reason). Check the path and the file's permissions (ls -l \(path))."
        case let .empty(path, what):
            return "\(path) holds 0 \(what); training and evaluation need at least one. Use a complete data set (--data-dir)."
        case let .badMagic(path, found, expected):
            return "\(path) is not \(expected): magic number 0x\(String(found, radix: 16)). Check the path and the file."
        case let .truncated(path, expected, actual):
            return "\(path) is truncated: header declares \(expected) bytes of data, file has \(actual). Reinstall the file."
        case let .trailingBytes(path, expected, actual):
            return "\(path) has \(actual - expected) bytes after the \(expected) its header declares; the file is malformed."
        case let .inconsistent(path, detail):
            return "\(path): \(detail)"
        }
    }
}
