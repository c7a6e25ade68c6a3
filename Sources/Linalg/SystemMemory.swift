import Foundation
#if canImport(Glibc)
/// glibc's `int mallopt(int param, int value)` (declared in <malloc.h>, which the Glibc module does not include).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// The memory this machine can still give a process, and a check made before a large allocation so that
/// a request far beyond it is refused with numbers instead of killing the process (Swift traps when
/// `malloc` fails).
public enum SystemMemory {
    /// `MemAvailable` from `/proc/meminfo` in bytes (the kernel's estimate of memory available to new work
    /// without swapping); nil where the file or the field is missing.
    public static var availableBytes: Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = Double(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    /// Throws when `bytes` (an estimate of what `what` will allocate) exceeds the available memory.
    /// `advice` says how to ask for less (an option to lower).
    public static func require(_ bytes: Double, for what: String, advice: String) throws(InsufficientMemory) {
        let available = availableBytes
        let limit = available ?? Double(ProcessInfo.processInfo.physicalMemory)
        guard !(bytes <= limit) else { return }
        throw InsufficientMemory(what: what, neededBytes: bytes, availableBytes: limit,
                                 source: available == nil ? "physical memory" : "MemAvailable in /proc/meminfo", advice: advice)
    }

    /// Keeps freed blocks of up to 32 MiB in the process heap for reuse instead of returning them to the system
    /// (glibc `mallopt`: `M_MMAP_THRESHOLD` 32 MiB, the largest glibc accepts, and `M_TRIM_THRESHOLD` 1 GiB).
    /// By default every block above 128 kB is a fresh `mmap`, so a step that allocates and frees the same
    /// multi-megabyte buffers each time (the simulator's readout blocks and moment sums, a layer's activations)
    /// pays a page fault and a zeroed page for every 4 kB of them, every step: ≈ 10 % of a TK-FAC Method 1 step
    /// (docs/tkfac.md#simulator-wall-time). Peak memory barely changes (the blocks are reused, not added: a TK-FAC
    /// bench 100.5 → 101.0 MB); memory freed at the end of a run stays with the process until it exits. The
    /// command-line tool calls this once at start; a no-op where glibc is absent. Returns whether both settings
    /// were accepted.
    @discardableResult
    public static func reuseLargeAllocations() -> Bool {
        #if canImport(Glibc)
        // <malloc.h> is not part of the Glibc module: its parameter numbers M_TRIM_THRESHOLD = −1, M_MMAP_THRESHOLD = −3.
        let mmap = glibcMallopt(-3, 32 << 20), trim = glibcMallopt(-1, 1 << 30)
        return mmap == 1 && trim == 1
        #else
        return false
        #endif
    }

    /// The process's peak resident set size so far (`getrusage` `ru_maxrss`, kB on Linux) in bytes.
    public static var peakResidentBytes: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// `3.1 TB`-style size.
    public static func format(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "more than can be counted" }
        let units: [(Double, String)] = [(1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        for (scale, unit) in units where bytes >= scale { return String(format: "%.3g %@", bytes / scale, unit) }
        return String(format: "%.0f bytes", bytes)
    }
}

/// A request for more memory than the machine has available.
public struct InsufficientMemory: Error, CustomStringConvertible, Equatable, Sendable {
    public var what: String
    public var neededBytes: Double
    public var availableBytes: Double
    /// Where `availableBytes` comes from.
    public var source: String
    public var advice: String

    public var description: String {
        "\(what) needs about \(SystemMemory.format(neededBytes)) of memory, but this machine has "
            + "\(SystemMemory.format(availableBytes)) available (\(source)); \(advice)"
    }
}
