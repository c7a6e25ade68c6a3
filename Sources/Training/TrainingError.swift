/// A checkpoint that cannot be read or does not fit the run.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    case missing(path: String)
    /// Something is at the path but cannot be read as a file (a folder, no permission).
    case unreadable(path: String, reason: String)
    case malformed(path: String, detail: String)
    case mismatch(path: String, detail: String)

    public var description: String {
        switch self {
        case let .missing(path): return "no checkpoint at \(path); run without --resume to start a new run"
        case let .unreadable(path, reason):
            return "cannot read the checkpoint \(path): \(reason). Move it out of the way, or start a new run in another folder (--out)."
        case let .malformed(path, detail): return "checkpoint \(path) is damaged: \(detail). Delete it or resume from another run."
        case let .mismatch(path, detail):
            return "checkpoint \(path) does not fit this run: \(detail). Resume with the settings it was written with (see config.json in the run folder)."
        }
    }
}

/// A training run that cannot start or continue.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    case data(String)
    case output(String)
    /// The optimiser could not compute step `step` (1-based) and has no legitimate fallback.
    case optimizerFailed(step: Int, reason: String)
    /// A new run was asked for in a folder that holds one (`files` are its run files).
    case runExists(folder: String, files: [String])
    /// The training loss diverged (see `DivergenceGuard`): non-finite or above `threshold` from step `since` to `step`.
    case diverged(step: Int, since: Int, loss: Double, threshold: Double, learningRate: Double)

    public var description: String {
        switch self {
        case let .invalidConfiguration(detail): return "invalid training configuration: \(detail)"
        case let .data(detail): return detail
        case let .output(detail): return "cannot write the run's outputs: \(detail)"
        case let .optimizerFailed(step, reason): return "step \(step) failed, run stopped: \(reason)"
        case let .runExists(folder, files):
            return "\(folder) already holds a run (\(files.joined(separator: ", "))); continue it with --resume, "
                + "replace it with --overwrite, or choose another --out"
        case let .diverged(step, since, loss, threshold, rate):
            return "training diverged: the loss was \(loss.isFinite ? String(format: "%.3g", loss) : "\(loss)") at step \(step) "
                + "(non-finite or above \(String(format: "%.0f", threshold)) since step \(since)); the run is stopped and its last "
                + "checkpoint kept. Use a smaller learning rate (now \(rate); try \(rate / 10))"
        }
    }
}
