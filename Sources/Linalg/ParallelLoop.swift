import Dispatch

/// Data-parallel loops for the element-wise and gather/scatter kernels that surround the BLAS calls
/// (activations, pooling, im2col/col2im, optimiser updates), so that a `--threads 2` step uses both cores
/// outside the GEMMs too.
///
/// The thread count is OpenBLAS's (`BLASThreads.current`): one setting (`--threads`,
/// `OPENBLAS_NUM_THREADS`) governs both, and a test process run with one OpenBLAS thread stays serial.
/// Each chunk is a contiguous index range; the result never depends on the split as long as `body`
/// writes disjoint memory per index (the caller's obligation) and reduces nothing across indices.
public enum ParallelLoop {
    /// Below this many scalar operations a loop runs on the calling thread: waking a worker costs a few
    /// microseconds, about what 16k element-wise operations take on one core.
    public static let minimumWork = 16_384

    /// Threads the loops may use: OpenBLAS's current setting.
    public static var threads: Int { BLASThreads.current }

    /// Runs `body` over `0..<count` split into at most `threads` contiguous ranges, concurrently when
    /// `count · workPerIndex ≥ minimumWork` and more than one thread is configured; otherwise once
    /// over the whole range on the calling thread. `body` must write disjoint memory for distinct indices.
    @inlinable
    public static func forEachChunk(_ count: Int, workPerIndex: Int = 1, threads: Int = ParallelLoop.threads,
                                    _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let parts = min(threads, count, max(1, (count * max(workPerIndex, 1)) / minimumWork))
        if parts <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedSendableClosure(body: escapable)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                box.body((count * part / parts)..<(count * (part + 1) / parts))
            }
        }
    }
}

/// Carries a closure that captures thread-confined pointers into `concurrentPerform`; sound only because
/// every `ParallelLoop` chunk writes memory no other chunk touches.
@usableFromInline
struct UncheckedSendableClosure: @unchecked Sendable {
    @usableFromInline let body: (Range<Int>) -> Void
    @usableFromInline init(body: @escaping (Range<Int>) -> Void) { self.body = body }
}
