/// The element types a `Communicator` moves, with their size in bytes.
public enum CommunicatedScalar: Sendable, Equatable {
    case float32, float64, int64, byte

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float32: return 4
        case .float64, .int64: return 8
        case .byte: return 1
        }
    }
}

/// The reductions of `Communicator.allReduce`: element-wise over the ranks.
public enum ReductionOperation: String, Sendable, Equatable {
    /// `x_i ← Σ_r x_i^(r)`.
    case sum
    /// `x_i ← max_r x_i^(r)`.
    case max
}

/// Bytes moved and seconds spent in collective operations, cumulated since the communicator was made.
/// Bytes count the payload one rank contributes (an all-reduce or broadcast of `n` Floats counts `4n`;
/// a gather counts the sending rank's part), the volume a cost model multiplies by the algorithm's factor
/// (a ring all-reduce sends `2(p − 1)/p` of it per rank; docs/multi-process.md#communication-volume).
public struct CommunicationTraffic: Sendable, Equatable {
    public var bytes = 0
    public var seconds = 0.0
    /// Collective calls.
    public var calls = 0

    public init() {}

    /// Adds one call of `bytes` that took `seconds`.
    public mutating func record(bytes b: Int, seconds s: Double) {
        bytes += b
        seconds += s
        calls += 1
    }

    /// The traffic since `earlier` (a snapshot of the same counters).
    public func since(_ earlier: CommunicationTraffic) -> CommunicationTraffic {
        var d = CommunicationTraffic()
        d.bytes = bytes - earlier.bytes
        d.seconds = seconds - earlier.seconds
        d.calls = calls - earlier.calls
        return d
    }
}

/// A group of `size` processes ("ranks", numbered `0..<size`) that run the same program in lockstep and
/// exchange arrays through collective operations (docs/multi-process.md). Every rank must make the same
/// collective calls in the same order with the same counts; a call returns once this rank's part is done.
///
/// The primitives work on raw buffers of `count` elements of `scalar`; the typed helpers (arrays,
/// matrices, named tensors) are in `Communicator+Values.swift`. `SingleProcessCommunicator` is the default
/// (one rank, every operation the identity); `MPICommunicator` (module `MPICommunication`) runs on Open MPI.
///
/// Failure: a collective that fails throws `CommunicationError`; a rank that cannot continue calls
/// `abort(message:)`, which ends every rank of the job with a non-zero exit instead of leaving the others
/// waiting in their next collective.
public protocol Communicator: AnyObject {
    /// This process's rank, `0..<size`; rank 0 writes the run folder.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Bytes and seconds of the collective calls so far.
    var traffic: CommunicationTraffic { get }

    /// Element-wise reduction over the ranks, result on every rank, in place.
    func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, scalar: CommunicatedScalar,
                   operation: ReductionOperation) throws(CommunicationError)
    /// Copies `root`'s buffer into every other rank's buffer (same `count` everywhere).
    func broadcast(_ buffer: UnsafeMutableRawPointer, count: Int, scalar: CommunicatedScalar, root: Int) throws(CommunicationError)
    /// Concatenates every rank's `count` elements in rank order into `receive` (`size · count` elements) on
    /// `root`; `receive` is ignored on the other ranks.
    func gather(_ send: UnsafeRawPointer, count: Int, scalar: CommunicatedScalar, into receive: UnsafeMutableRawPointer?,
                root: Int) throws(CommunicationError)
    /// Returns once every rank has called it.
    func barrier() throws(CommunicationError)
    /// Prints `message` (naming this rank) on standard error and ends the whole job with exit code `code`.
    func abort(message: String, code: Int32) -> Never
}

extension Communicator {
    /// Whether this rank writes files and prints (rank 0).
    public var isRoot: Bool { rank == 0 }

    /// Throws `.invalidRoot` unless `root` names a rank.
    public func checkRoot(_ root: Int) throws(CommunicationError) {
        guard (0..<size).contains(root) else { throw .invalidRoot(root: root, size: size) }
    }
}
