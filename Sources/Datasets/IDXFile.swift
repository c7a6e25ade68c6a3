import CZlib
import Foundation

/// An array in the IDX format (LeCun's MNIST format): a big-endian header — two zero bytes, a type code,
/// the number of dimensions `d`, then `d` 32-bit sizes — followed by the elements in row-major order.
/// Only unsigned bytes (type `0x08`, what MNIST and Fashion-MNIST use) are supported.
///
/// Files may be gzip-compressed (read through zlib's `gzread`, which also reads uncompressed files).
/// Every field is validated: magic, dimension count, sizes, and that the data length matches exactly.
public struct IDXFile: Sendable, Equatable {
    /// Sizes of each dimension, e.g. `[60000, 28, 28]` for training images.
    public let dimensions: [Int]
    /// The elements, `dimensions.reduce(1, *)` of them.
    public let bytes: [UInt8]

    /// Parses an IDX array from decompressed `data`; `path` names it in errors; `expectedDimensions`
    /// (e.g. 3 for images, 1 for labels) is checked when given.
    public init(parsing data: [UInt8], path: String, expectedDimensions: Int? = nil) throws(DatasetError) {
        let kind = expectedDimensions.map { "an IDX file with \($0) dimension(s) of unsigned bytes" } ?? "an IDX file of unsigned bytes"
        guard data.count >= 4 else { throw .truncated(path: path, expectedBytes: 4, actualBytes: data.count) }
        let magic = UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
        let rank = Int(data[3])
        guard data[0] == 0, data[1] == 0, data[2] == 0x08, rank >= 1, expectedDimensions.map({ $0 == rank }) ?? true else {
            throw .badMagic(path: path, found: magic, expected: kind)
        }
        let headerBytes = 4 + 4 * rank
        guard data.count >= headerBytes else { throw .truncated(path: path, expectedBytes: headerBytes, actualBytes: data.count) }
        var dims: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(UInt32(data[o]) << 24 | UInt32(data[o + 1]) << 16 | UInt32(data[o + 2]) << 8 | UInt32(data[o + 3])))
        }
        let (count, overflow) = dims.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= Int(Int32.max) else {
            throw .inconsistent(path: path, detail: "declared dimensions \(dims) are implausibly large")
        }
        let available = data.count - headerBytes
        if available < count { throw .truncated(path: path, expectedBytes: count, actualBytes: available) }
        if available > count { throw .trailingBytes(path: path, expectedBytes: count, actualBytes: available) }
        dimensions = dims
        bytes = Array(data[headerBytes...])
    }

    /// Reads and parses the (optionally gzip'd) IDX file at `path`. `missingHint` is appended to the
    /// error when the file does not exist (say how to install it).
    public init(contentsOf path: String, expectedDimensions: Int? = nil,
                missingHint: String = "Check the path.") throws(DatasetError) {
        try self.init(parsing: try Self.decompressedContents(of: path, missingHint: missingHint),
                      path: path, expectedDimensions: expectedDimensions)
    }

    /// The whole file, decompressed by zlib when it is gzip'd (plain files pass through unchanged).
    public static func decompressedContents(of path: String, missingHint: String) throws(DatasetError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .missingFile(path: path, hint: missingHint) }
        guard !isDirectory.boolValue else { throw .inaccessible(path: path, reason: "it is a folder, not a file") }
        // Open with POSIX first: zlib's gzopen says only that it failed, and a permission problem is not damage.
        let probe = open(path, O_RDONLY | O_CLOEXEC)
        guard probe >= 0 else { throw .inaccessible(path: path, reason: String(cString: strerror(errno)).lowercased()) }
        close(probe)
        guard let file = gzopen(path, "rb") else { throw .unreadable(path: path, reason: "zlib could not open the file") }
        defer { gzclose(file) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
                throw .unreadable(path: path, reason: message)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        // gzread reports a stream cut in the middle as a short read followed by an error state.
        var code: Int32 = 0
        let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
        if code != Z_OK && code != Z_STREAM_END { throw .unreadable(path: path, reason: message) }
        return out
    }
}
