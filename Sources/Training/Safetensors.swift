import Foundation
import Linalg

/// A tensor as stored in a safetensors file: element type, shape and little-endian bytes.
public struct SafetensorsTensor: Sendable, Equatable {
    public enum DataType: String, Sendable, CaseIterable {
        case float32 = "F32"
        case float64 = "F64"
        case int64 = "I64"

        public var byteCount: Int { self == .float32 ? 4 : 8 }
    }

    public let dataType: DataType
    public let shape: [Int]
    /// Raw little-endian element bytes, `shape.product × byteCount` of them.
    public let bytes: [UInt8]

    public init(dataType: DataType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) * dataType.byteCount == bytes.count, "tensor bytes do not match shape \(shape)")
        self.dataType = dataType
        self.shape = shape
        self.bytes = bytes
    }

    /// The product of `shape`, or nil when it overflows Int or a size is negative.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// A Float or Double matrix stored as F32 or F64 with shape `[rows, columns]`.
    public init<S: BLASScalar>(_ matrix: Matrix<S>) {
        let type: DataType = S.self == Float.self ? .float32 : .float64
        // Float and Double are stored in the host's byte order, which is little-endian on every
        // platform Swift supports for Thermograd (x86-64, arm64): the raw bytes are the file's bytes.
        precondition(1.littleEndian == 1, "safetensors writer assumes a little-endian host")
        let bytes = matrix.withUnsafeBufferPointer { [UInt8](UnsafeRawBufferPointer($0)) }
        self.init(dataType: type, shape: [matrix.rows, matrix.columns], bytes: bytes)
    }

    /// The tensor as a matrix (1-D tensors become one row; scalars `1 × 1`), converted to `S`.
    public func matrix<S: BLASScalar>(as _: S.Type = S.self) throws(CheckpointError) -> Matrix<S> {
        let (rows, columns): (Int, Int)
        switch shape.count {
        case 0: (rows, columns) = (1, 1)
        case 1: (rows, columns) = (1, shape[0])
        case 2: (rows, columns) = (shape[0], shape[1])
        default:
            guard let r = Self.elementCount(Array(shape.dropLast())) else {
                throw .malformed(path: "tensor", detail: "shape \(shape) is too large")
            }
            (rows, columns) = (r, shape.last!)
        }
        let n = rows * columns
        var values = [S](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            for i in 0..<n {
                switch dataType {
                case .float32: values[i] = S(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
                case .float64: values[i] = S(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                case .int64: values[i] = S(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                }
            }
        }
        return Matrix(rows: rows, columns: columns, storage: values)
    }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length `N`, a UTF-8 JSON header
/// of `N` bytes mapping each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the data section) plus an optional `"__metadata__"` string-to-string map, then the data.
/// The header is padded with spaces to a multiple of 8 bytes so that the data section is aligned.
/// Reading validates every offset, length and type; any inconsistency is a `CheckpointError`.
public struct SafetensorsFile: Sendable, Equatable {
    public var tensors: [String: SafetensorsTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafetensorsTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The file's bytes (tensors in name order, so that equal content gives equal files).
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": t.dataType.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    /// Parses safetensors bytes; `path` names the source in errors.
    public init(data: Data, path: String) throws(CheckpointError) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw .malformed(path: path, detail: "file is shorter than the 8-byte header length") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw .malformed(path: path, detail: "header length \(headerLength) exceeds the file (\(bytes.count) bytes); the file is truncated")
        }
        let dataStart = 8 + Int(headerLength)
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) } catch {
            throw .malformed(path: path, detail: "header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw .malformed(path: path, detail: "header is not a JSON object") }
        var tensors: [String: SafetensorsTensor] = [:]
        var metadata: [String: String] = [:]
        let dataLength = bytes.count - dataStart
        var covered = 0
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw .malformed(path: path, detail: "__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let typeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw .malformed(path: path, detail: "entry \(name) lacks dtype, shape or data_offsets")
            }
            guard let type = SafetensorsTensor.DataType(rawValue: typeName) else {
                throw .malformed(path: path, detail: "tensor \(name) has unsupported dtype \(typeName) (supported: F32, F64, I64)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataLength, let count = SafetensorsTensor.elementCount(shape),
                  count <= (end - begin) / type.byteCount, count * type.byteCount == end - begin else {
                throw .malformed(path: path, detail: "tensor \(name): offsets \(offsets) do not fit shape \(shape) of \(typeName) within \(dataLength) data bytes")
            }
            covered += end - begin
            tensors[name] = SafetensorsTensor(dataType: type, shape: shape, bytes: Array(bytes[(dataStart + begin)..<(dataStart + end)]))
        }
        guard covered == dataLength else {
            throw .malformed(path: path, detail: "data section has \(dataLength) bytes but the tensors cover \(covered)")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and parses the file at `path`.
    public init(contentsOf path: String) throws(CheckpointError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .missing(path: path) }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "it is a folder, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: "permission denied or unreadable")
        }
        try self.init(data: data, path: path)
    }
}
