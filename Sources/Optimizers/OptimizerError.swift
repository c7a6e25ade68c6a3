/// A failure of an optimiser, with what to do about it.
public enum OptimizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A hyper-parameter is out of range.
    case invalidConfiguration(String)
    /// Saved state does not fit the model or the optimiser (wrong checkpoint, changed model).
    case stateMismatch(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(detail): return "invalid optimiser configuration: \(detail)"
        case let .stateMismatch(detail):
            return "optimiser state does not match: \(detail). Resume with the same model and optimiser, or start a new run."
        }
    }
}

/// What one call of `Optimizer.update` did.
public enum UpdateOutcome: Equatable, Sendable {
    /// The parameters were updated.
    case applied
    /// No parameter changed because a gradient held NaN or ±∞ (or overflowed, `‖g‖² > greatestFiniteMagnitude`);
    /// the optimiser's `skippedSteps` counter was incremented.
    case skippedNonFinite(parameter: String)
    /// No parameter changed because the optimiser could not compute a trustworthy step and has no
    /// legitimate fallback (e.g. a natural-gradient solve failed, a K-FAC layer stayed without an
    /// inverse). `reason` says what failed and what to change; a training loop must stop with it.
    case failed(reason: String)
}
