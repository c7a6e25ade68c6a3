import Foundation

/// A CSV file (RFC 4180: comma-separated, fields with commas, quotes or newlines quoted, quotes
/// doubled) written one row at a time and flushed after each row, so that a long run's metrics survive
/// an interruption. Numbers are written with Swift's shortest round-trip formatting.
public final class CSVWriter {
    public let path: String
    public let columns: [String]
    private let handle: FileHandle

    /// Creates (or truncates, or with `append` continues) the file at `path` with `columns` as header.
    /// When appending to an existing non-empty file the header is not repeated.
    public init(path: String, columns: [String], append: Bool = false) throws {
        self.path = path
        self.columns = columns
        let url = URL(fileURLWithPath: path)
        try OutputFolder.create(url.deletingLastPathComponent().path)
        let exists = FileManager.default.fileExists(atPath: path)
        if !append || !exists { try OutputFolder.writeFile(Data(), to: path) }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw ReportingError.cannotWrite(path: path, reason: "cannot open the file for writing (\(OutputFolder.posixReason(errno)))")
        }
        handle = h
        let size = try handle.seekToEnd()
        if size == 0 { try write(line: columns.map(Self.escape)) }
    }

    deinit { try? handle.close() }

    /// Appends one row; `values.count` must equal the number of columns.
    public func append(_ values: [CSVValue]) throws {
        guard values.count == columns.count else {
            throw ReportingError.columnMismatch(path: path, expected: columns.count, got: values.count)
        }
        try write(line: values.map { Self.escape($0.text) })
    }

    private func write(line fields: [String]) throws {
        try handle.write(contentsOf: Data((fields.joined(separator: ",") + "\n").utf8))
    }

    /// A field quoted when it contains a comma, a quote or a line break. Checked on Unicode scalars: "\r\n"
    /// is one Character, equal to neither "\r" nor "\n", and was written unquoted (found by fuzz/FuzzRunCSV).
    public static func escape(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        // Doubled scalar by scalar: a quote followed by a combining mark is one Character, which
        // Character-level replacement (`replacingOccurrences`) does not match (found by fuzz/FuzzRunCSV).
        var escaped = String.UnicodeScalarView()
        escaped.append("\"")
        for scalar in field.unicodeScalars {
            escaped.append(scalar)
            if scalar == "\"" { escaped.append("\"") }
        }
        escaped.append("\"")
        return String(escaped)
    }

    /// Parses CSV text into rows of fields (the inverse of the writer; for tests and for re-plotting).
    public static func parse(_ text: String) -> [[String]] {
        // Unicode scalars, not Characters: "\r\n" is one Character, which would hide the line break.
        var rows: [[String]] = []
        var row: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let c = pending ?? scalars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = scalars.next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; pending = n }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(String(field)); field = .init() }
            else if c == "\n" { row.append(String(field)); rows.append(row); row = []; field = .init() }
            else if c != "\r" { field.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(String(field)); rows.append(row) }
        return rows
    }

    /// The rows of a CSV file that a run appends to row by row (metrics.csv, epochs.csv), read back for
    /// `--resume`: the header, the rows with exactly the header's number of fields, and how many lines were
    /// left out. A power cut in the middle of an append leaves a last line without its line break, or a row
    /// of fewer fields: such a line is dropped (and counted) rather than trusted.
    public static func readAppended(_ text: String) -> (header: [String], rows: [[String]], droppedLines: Int) {
        var lines = parse(text)
        var dropped = 0
        // A last line without its line break was cut short, even when its field count happens to fit.
        if let last = text.unicodeScalars.last, last != "\n", lines.count > 1 { lines.removeLast(); dropped += 1 }
        guard let header = lines.first else { return ([], [], dropped) }
        let rows = lines.dropFirst().filter { $0.count == header.count }
        dropped += lines.count - 1 - rows.count
        return (header, Array(rows), dropped)
    }
}

/// One CSV field: a number, an integer or text.
public enum CSVValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    case number(Double)
    case integer(Int)
    case text(String)

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }

    public var text: String {
        switch self {
        case let .number(x): return x.isNaN ? "nan" : x.isInfinite ? (x > 0 ? "inf" : "-inf") : "\(x)"
        case let .integer(i): return String(i)
        case let .text(s): return s
        }
    }
}
