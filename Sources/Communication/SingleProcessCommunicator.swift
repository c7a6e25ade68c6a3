import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The default communicator: one rank, so every reduction and broadcast leaves the data as it is and a
/// gather copies this rank's part. Code written against `Communicator` runs unchanged in one process.
public final class SingleProcessCommunicator: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public private(set) var traffic = CommunicationTraffic()

    public func allReduce(_ buffer: UnsafeMutableRawPointer, count: Int, scalar: CommunicatedScalar,
                          operation: ReductionOperation) throws(CommunicationError) {
        guard count >= 0 else { throw .invalidCount(operation: "allReduce", detail: "count \(count) is negative") }
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, count: Int, scalar: CommunicatedScalar,
                          root: Int) throws(CommunicationError) {
        try checkRoot(root)
        guard count >= 0 else { throw .invalidCount(operation: "broadcast", detail: "count \(count) is negative") }
    }

    public func gather(_ send: UnsafeRawPointer, count: Int, scalar: CommunicatedScalar, into receive: UnsafeMutableRawPointer?,
                       root: Int) throws(CommunicationError) {
        try checkRoot(root)
        guard count >= 0 else { throw .invalidCount(operation: "gather", detail: "count \(count) is negative") }
        guard let receive else { throw .invalidCount(operation: "gather", detail: "the root needs a receive buffer") }
        receive.copyMemory(from: send, byteCount: count * scalar.byteCount)
    }

    public func barrier() throws(CommunicationError) {}

    public func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("thermograd: \(message)\n".utf8))
        exit(code)
    }
}
