import ArgumentParser
import Foundation
import Linalg

/// Where a command's `--threads` default comes from: OpenBLAS's own choice (one thread per core) for single
/// runs and benchmarks, or one thread for the experiments that run many arms on a shared machine.
protocol ThreadsDefault {
    /// The count applied when `--threads` is not passed (`nil`: leave OpenBLAS's setting alone).
    static var threads: Int? { get }
    /// How `--help` names that default.
    static var description: String { get }
}

/// `--threads` defaults to OpenBLAS's choice (`OPENBLAS_NUM_THREADS`, else one per core).
enum OpenBLASChoosesThreads: ThreadsDefault {
    static let threads: Int? = nil
    static let description = "OpenBLAS's choice, one per core"
}

/// `--threads` defaults to 1: experiments with many arms are meant to share the machine.
enum OneThread: ThreadsDefault {
    static let threads: Int? = 1
    static let description = "1: the machine is shared"
}

/// `--threads N`: the OpenBLAS threads of a command, declared once for every command (train, simulate, bench,
/// experiments). Validated against the processors this machine reports; `apply()` sets them before any work.
struct ThreadsOption<Defaults: ThreadsDefault>: ParsableArguments {
    @Option(help: ArgumentHelp("OpenBLAS threads (default: \(Defaults.description))."))
    var threads: Int?

    /// The count the command runs with, `nil` where OpenBLAS keeps its own setting.
    var resolved: Int? { threads ?? Defaults.threads }

    func validate() throws { try validateThreads(threads) }

    /// Sets the OpenBLAS threads to `resolved` (nothing when it is `nil`).
    func apply() {
        if let t = resolved { BLASThreads.set(t) }
    }
}
