import ArgumentParser
import Foundation

/// `text` followed by the default a configuration's default instance holds, so that `--help` shows the
/// value the run will use (options are optional; the configuration types are the one home of defaults).
func defaulted(_ text: String, _ value: Any) -> ArgumentHelp {
    ArgumentHelp("\(text) (default: \(value))")
}

/// `text` with an optional default: `none` when the configuration leaves it unset.
func defaulted<T>(_ text: String, _ value: T?, none: String) -> ArgumentHelp {
    defaulted(text, value.map { "\($0)" } ?? none)
}

/// Refuses a `--threads` count below 1 or above the processors this machine reports: more OpenBLAS threads
/// than processors only compete for them (and a huge count would ask OpenBLAS for a pool it caps anyway).
func validateThreads(_ threads: Int?) throws {
    guard let threads else { return }
    let processors = Swift.max(ProcessInfo.processInfo.activeProcessorCount, 1)
    guard (1...processors).contains(threads) else {
        throw ValidationError("--threads \(threads) is invalid: use 1…\(processors) (the processors this machine has; "
                              + "more OpenBLAS threads than processors only compete for them)")
    }
}
