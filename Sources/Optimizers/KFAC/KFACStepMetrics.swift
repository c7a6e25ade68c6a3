/// What the last K-FAC step did, for the metrics CSV (the cost split of docs/cost-model.md#digital-side).
public struct KFACStepMetrics: Sendable, Equatable {
    /// Seconds building the factors (incl. the extra true-Fisher / GGN backward passes) and their EMA.
    public var factorSeconds = 0.0
    /// Seconds in the solver's `refresh` (inversions), 0 on steps without one.
    public var inversionSeconds = 0.0
    /// Seconds preconditioning the gradients (`solver.precondition`) and applying KL clipping.
    public var preconditionSeconds = 0.0
    /// Seconds in the wrapped optimiser's update.
    public var innerUpdateSeconds = 0.0
    /// KL-clipping factor `ν` applied to `U` (1 when off or not binding).
    public var klScale = 1.0
    /// `λ` used at this step.
    public var damping = 0.0
    /// LM reduction ratio `ρ` when adapted at this step, else NaN.
    public var reductionRatio = Double.nan
    /// Whether this step was skipped (non-finite gradient).
    public var skipped = false

    public init() {}
}
