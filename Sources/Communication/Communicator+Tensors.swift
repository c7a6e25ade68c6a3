import Linalg

/// Named tensors (a solver's state for one layer, say) sent from one rank to all: the receivers need not
/// know the names or shapes in advance.
extension Communicator {
    /// Sends `root`'s `payload` to every rank and returns it there (the root gets its own tensors back).
    /// `payload` is read on `root` only: `.success(tensors)`, or `.failure(reason)` when the root could not
    /// compute them, which every rank then throws as `.remoteFailure(rank: root, reason:)`.
    ///
    /// Wire format (three broadcasts): two Int64s (header bytes, payload elements); a UTF-8 header whose
    /// first line is `ok` or `error`, followed by `name<TAB>rows<TAB>columns` lines in name order (or the
    /// reason); the tensors' elements concatenated in that order.
    public func broadcastTensors<S: BLASScalar & CommunicableScalar>(_ payload: Result<[String: Matrix<S>], TensorBroadcastFailure>?,
                                                                     root: Int) throws(CommunicationError) -> [String: Matrix<S>] {
        try checkRoot(root)
        if size == 1 {
            switch payload {
            case let .success(t)?: return t
            case let .failure(f)?: throw .remoteFailure(rank: root, reason: f.reason)
            case nil: throw .invalidCount(operation: "broadcastTensors", detail: "the root passed no payload")
            }
        }
        var header: [UInt8] = [], flat: [S] = []
        if rank == root {
            switch payload {
            case let .success(tensors)?:
                var text = "ok\n"
                for name in tensors.keys.sorted() {
                    let m = tensors[name]!
                    text += "\(name)\t\(m.rows)\t\(m.columns)\n"
                    flat.append(contentsOf: m.storage)
                }
                header = Array(text.utf8)
            case let .failure(f)?: header = Array(("error\n" + f.reason).utf8)
            case nil: header = Array("error\nthe root passed no payload".utf8)
            }
        }
        var counts: [Int64] = [Int64(header.count), Int64(flat.count)]
        try broadcast(&counts, root: root)
        guard counts[0] >= 0, counts[1] >= 0 else { throw .malformedPayload(detail: "negative sizes \(counts)") }
        if rank != root {
            header = [UInt8](repeating: 0, count: Int(counts[0]))
            flat = [S](repeating: 0, count: Int(counts[1]))
        }
        try rethrowing { failure in
            header.withUnsafeMutableBytes { p in
                failure { () throws(CommunicationError) in
                    if let base = p.baseAddress { try broadcast(base, count: p.count, scalar: .byte, root: root) }
                }
            }
        }
        try broadcast(&flat, root: root)
        let lines = String(decoding: header, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let status = lines.first else { throw .malformedPayload(detail: "empty header") }
        if status == "error" { throw .remoteFailure(rank: root, reason: lines.dropFirst().joined(separator: "\n")) }
        guard status == "ok" else { throw .malformedPayload(detail: "status \(status)") }
        var out: [String: Matrix<S>] = [:]
        var offset = 0
        for line in lines.dropFirst() where !line.isEmpty {
            let f = line.split(separator: "\t")
            guard f.count == 3, let r = Int(f[1]), let c = Int(f[2]), r >= 0, c >= 0, offset + r * c <= flat.count else {
                throw .malformedPayload(detail: "tensor line '\(line)'")
            }
            out[String(f[0])] = Matrix(rows: r, columns: c, storage: Array(flat[offset..<(offset + r * c)]))
            offset += r * c
        }
        guard offset == flat.count else { throw .malformedPayload(detail: "\(flat.count - offset) elements left over") }
        return out
    }
}

/// Why the root of `broadcastTensors` has nothing to send (its own computation failed).
public struct TensorBroadcastFailure: Error, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
