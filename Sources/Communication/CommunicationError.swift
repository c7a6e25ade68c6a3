/// A collective operation that failed, or a call that cannot be made.
public enum CommunicationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An MPI call returned `code` (`message` is MPI's error string).
    case mpi(call: String, code: Int32, message: String)
    /// A root outside `0..<size`.
    case invalidRoot(root: Int, size: Int)
    /// A count that does not fit the call (negative, beyond Int32, or different from what was received).
    case invalidCount(operation: String, detail: String)
    /// Named tensors broadcast by another rank could not be decoded.
    case malformedPayload(detail: String)
    /// The rank that computed something for everyone failed; every rank reports it.
    case remoteFailure(rank: Int, reason: String)

    public var description: String {
        switch self {
        case let .mpi(call, code, message):
            return "\(call) failed with MPI error \(code): \(message). Check that every rank runs the same command "
                + "(mpirun -np N thermograd … --distributed) and that no rank has exited"
        case let .invalidRoot(root, size): return "root rank \(root) does not exist: the job has ranks 0..<\(size)"
        case let .invalidCount(operation, detail): return "\(operation): \(detail)"
        case let .malformedPayload(detail): return "received tensors could not be decoded (\(detail)); the ranks run different builds or settings"
        case let .remoteFailure(rank, reason): return "rank \(rank) failed: \(reason)"
        }
    }
}
