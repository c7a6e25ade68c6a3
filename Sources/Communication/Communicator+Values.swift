import Linalg

/// An element type with a `CommunicatedScalar` tag (Float, Double, Int64).
public protocol CommunicableScalar {
    static var communicated: CommunicatedScalar { get }
}

extension Float: CommunicableScalar { public static var communicated: CommunicatedScalar { .float32 } }
extension Double: CommunicableScalar { public static var communicated: CommunicatedScalar { .float64 } }
extension Int64: CommunicableScalar { public static var communicated: CommunicatedScalar { .int64 } }

/// Typed collectives over arrays and matrices (shapes are the caller's: every rank passes the same count).
extension Communicator {
    /// `values ← Σ_r values^(r)` (or the maximum) on every rank.
    public func allReduce<S: CommunicableScalar>(_ values: inout [S], _ operation: ReductionOperation = .sum) throws(CommunicationError) {
        try inPlace(&values) { (p, n) throws(CommunicationError) in try allReduce(p, count: n, scalar: S.communicated, operation: operation) }
    }

    /// `m ← Σ_r m^(r)` on every rank (same shape everywhere).
    public func allReduce<S: BLASScalar & CommunicableScalar>(_ m: inout Matrix<S>, _ operation: ReductionOperation = .sum)
        throws(CommunicationError) {
        try inPlace(&m) { (p, n) throws(CommunicationError) in try allReduce(p, count: n, scalar: S.communicated, operation: operation) }
    }

    /// `root`'s `values` on every rank; the other ranks' arrays must already have the same count.
    public func broadcast<S: CommunicableScalar>(_ values: inout [S], root: Int) throws(CommunicationError) {
        try checkRoot(root)
        try inPlace(&values) { (p, n) throws(CommunicationError) in try broadcast(p, count: n, scalar: S.communicated, root: root) }
    }

    /// `root`'s `m` on every rank (same shape everywhere).
    public func broadcast<S: BLASScalar & CommunicableScalar>(_ m: inout Matrix<S>, root: Int) throws(CommunicationError) {
        try checkRoot(root)
        try inPlace(&m) { (p, n) throws(CommunicationError) in try broadcast(p, count: n, scalar: S.communicated, root: root) }
    }

    /// Runs an in-place collective on the `n` elements of `values` (skipped when there is nothing to send or
    /// one rank); a failure inside the buffer closure is thrown afterwards.
    private func inPlace<S>(_ values: inout [S], _ collective: (UnsafeMutableRawPointer, Int) throws(CommunicationError) -> Void)
        throws(CommunicationError) {
        let n = values.count
        guard n > 0, size > 1 else { return }
        var caught: CommunicationError?
        values.withUnsafeMutableBytes { p in
            do throws(CommunicationError) { try collective(p.baseAddress!, n) } catch { caught = error }
        }
        if let caught { throw caught }
    }

    /// As above for a matrix's storage.
    private func inPlace<S: BLASScalar>(_ m: inout Matrix<S>, _ collective: (UnsafeMutableRawPointer, Int) throws(CommunicationError) -> Void)
        throws(CommunicationError) {
        let n = m.count
        guard n > 0, size > 1 else { return }
        var caught: CommunicationError?
        m.withUnsafeMutableBufferPointer { p in
            do throws(CommunicationError) { try collective(UnsafeMutableRawPointer(p.baseAddress!), n) } catch { caught = error }
        }
        if let caught { throw caught }
    }

    /// Every rank's `values` (the same count on every rank) concatenated in rank order on `root`; `[]` elsewhere.
    public func gather<S: CommunicableScalar & Numeric>(_ values: [S], root: Int) throws(CommunicationError) -> [S] {
        try checkRoot(root)
        let n = values.count
        var out = [S](repeating: 0, count: rank == root ? n * size : 0)
        guard n > 0 else { return out }
        try rethrowing { failure in
            values.withUnsafeBytes { send in
                out.withUnsafeMutableBytes { receive in
                    failure { () throws(CommunicationError) in
                        try gather(send.baseAddress!, count: n, scalar: S.communicated, into: receive.baseAddress, root: root)
                    }
                }
            }
        }
        return out
    }

    /// `Σ_r value^(r)` (or the maximum) on every rank.
    public func allReduce(_ value: Double, _ operation: ReductionOperation = .sum) throws(CommunicationError) -> Double {
        var v = [value]
        try allReduce(&v, operation)
        return v[0]
    }

    /// Ends the job on every rank when `body` throws: the message names this rank, the job exits with 1.
    /// For call sites that cannot return an error (a non-throwing hook of a library type).
    public func orAbort<R>(_ what: String, _ body: () throws(CommunicationError) -> R) -> R {
        do { return try body() } catch { abort(message: "rank \(rank) of \(size): \(what): \(error)", code: 1) }
    }
}

/// Runs `body`, which reports a `CommunicationError` raised inside a non-throwing buffer closure through the
/// function it is handed, and throws that error afterwards (`withUnsafe…Pointer` is untyped `rethrows`).
func rethrowing(_ body: (_ failure: (() throws(CommunicationError) -> Void) -> Void) -> Void) throws(CommunicationError) {
    var caught: CommunicationError?
    body { (operation: () throws(CommunicationError) -> Void) in
        do throws(CommunicationError) { try operation() } catch { caught = error }
    }
    if let caught { throw caught }
}
