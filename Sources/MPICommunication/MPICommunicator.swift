import CMPI
import Communication
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `Communicator` on Open MPI's `MPI_COMM_WORLD` (docs/multi-process.md): all-reduce in place
/// (`MPI_IN_PLACE`), broadcast, gather, barrier. Errors are returned, not fatal (`MPI_ERRORS_RETURN`), and
/// become `CommunicationError.mpi` with MPI's message; `abort` is `MPI_Abort`, which makes `mpirun` end
/// every rank.
///
/// MPI may be initialised once per process: `MPICommunicator.world()` does it on first use, `finalize()`
/// ends it (call it once, after the last collective). Handles are `OpaquePointer`s kept inside this type.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public private(set) var traffic = CommunicationTraffic()
    private let world: MPI_Comm
    private var finalized = false
    private let clock = ContinuousClock()

    nonisolated(unsafe) private static var shared: MPICommunicator?

    /// The world communicator, initialising MPI on the first call. Run under `mpirun -np N`; started
    /// directly, the process is a world of one rank (MPI's singleton mode).
    public static func world() throws(CommunicationError) -> MPICommunicator {
        if let s = shared { return s }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 { try check(MPI_Init(nil, nil), "MPI_Init") }
        guard let comm = cmpi_comm_world() else { throw .mpi(call: "MPI_COMM_WORLD", code: -1, message: "no world communicator") }
        try check(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, n: Int32 = 0
        try check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &n), "MPI_Comm_size")
        let c = MPICommunicator(world: comm, rank: Int(r), size: Int(n))
        shared = c
        return c
    }

    private init(world: MPI_Comm, rank: Int, size: Int) {
        self.world = world
        self.rank = rank
        self.size = size
    }

    /// Whether this process was started by `mpirun`/`mpiexec` (Open MPI sets `OMPI_COMM_WORLD_SIZE`).
    public static var launchedByMPIRun: Bool { getenv("OMPI_COMM_WORLD_SIZE") != nil }

    /// `MPI_Finalize`, once; no collective may follow.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    private static func check(_ code: Int32, _ call: String) throws(CommunicationError) {
        guard code != cmpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw .mpi(call: call, code: code, message: String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    private static func datatype(_ s: CommunicatedScalar) -> MPI_Datatype {
        switch s {
        case .float32: return cmpi_float()
        case .float64: return cmpi_double()
        case .int64: return cmpi_int64()
        case .byte: return cmpi_byte()
        }
    }

    private func checkedCount(_ count: Int, _ operation: String) throws(CommunicationError) -> Int32 {
        guard count >= 0, count <= Int(Int32.max) else {
            throw .invalidCount(operation: operation, detail: "count \(count) is outside 0…\(Int32.max) (MPI counts are Int32); split the buffer")
        }
        return Int32(count)
    }

    /// Runs one MPI call, timing it and counting `bytes`.
    private func timed(_ bytes: Int, _ body: () throws(CommunicationError) -> Void) throws(CommunicationError) {
        let start = clock.now
        try body()
        let d = clock.now - start
        traffic.record(bytes: bytes, seconds: Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, scalar: CommunicatedScalar,
                          operation: ReductionOperation) throws(CommunicationError) {
        let n = try checkedCount(count, "MPI_Allreduce")
        let op = operation == .sum ? cmpi_sum() : cmpi_max()
        try timed(count * scalar.byteCount) { () throws(CommunicationError) in
            try Self.check(MPI_Allreduce(cmpi_in_place(), buffer, n, Self.datatype(scalar), op, world), "MPI_Allreduce")
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, count: Int, scalar: CommunicatedScalar, root: Int) throws(CommunicationError) {
        try checkRoot(root)
        let n = try checkedCount(count, "MPI_Bcast")
        try timed(count * scalar.byteCount) { () throws(CommunicationError) in
            try Self.check(MPI_Bcast(buffer, n, Self.datatype(scalar), Int32(root), world), "MPI_Bcast")
        }
    }

    public func gather(_ send: UnsafeRawPointer, count: Int, scalar: CommunicatedScalar, into receive: UnsafeMutableRawPointer?,
                       root: Int) throws(CommunicationError) {
        try checkRoot(root)
        let n = try checkedCount(count, "MPI_Gather")
        if rank == root && receive == nil { throw .invalidCount(operation: "MPI_Gather", detail: "the root needs a receive buffer") }
        let type = Self.datatype(scalar)
        try timed(count * scalar.byteCount) { () throws(CommunicationError) in
            try Self.check(MPI_Gather(send, n, type, receive, n, type, Int32(root), world), "MPI_Gather")
        }
    }

    public func barrier() throws(CommunicationError) {
        try timed(0) { () throws(CommunicationError) in try Self.check(MPI_Barrier(world), "MPI_Barrier") }
    }

    public func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("thermograd: \(message)\n".utf8))
        MPI_Abort(world, code)
        exit(code)
    }
}
