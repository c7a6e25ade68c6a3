import Curvature
import Linalg
import NeuralNet

/// What every preconditioned optimiser (K-FAC, natural gradient on any linear solver) does around its
/// preconditioner, written once:
/// - batch handling: the `CurvatureBatch` of `observeCurvature` is used by the next `update` only;
/// - non-finite gradients skip the whole step before anything is computed (counted in `skippedSteps`);
/// - a step without `observeCurvature` is counted (`missingCurvature`) and warned about once;
/// - failure policy: a preconditioner that cannot produce a trustworthy step fails it (`.failed`, counted in
///   `failedSteps`) after the parameter gradients are restored — never a silent plain-gradient step;
/// - the wrapped first-order optimiser applies the step (`step` counts applied updates) and its state is
///   saved with the prefix `inner.`, next to the step counters.
public struct PreconditionedCore<Scalar: NeuralScalar> {
    /// The first-order optimiser that applies the preconditioned gradient.
    public let inner: any Optimizer<Scalar>
    /// `"K-FAC"`, `"NGD"`, `"TNGD"`: the prefix of warnings and failure reasons.
    public let label: String
    public private(set) var step = 0
    /// Steps skipped for non-finite gradients or by the inner optimiser.
    public private(set) var skippedSteps = 0
    /// Steps whose preconditioning failed (`update` returned `.failed`; no parameter changed).
    public private(set) var failedSteps = 0
    /// Updates without a preceding `observeCurvature`.
    public private(set) var missingCurvature = 0
    private var batch: CurvatureBatch<Scalar>?
    private var warnings: [String] = []

    public init(inner: any Optimizer<Scalar>, label: String) {
        self.inner = inner
        self.label = label
    }

    /// Keeps `batch` for the next `update`.
    public mutating func observe(_ batch: CurvatureBatch<Scalar>) { self.batch = batch }

    /// The observed batch, once (nil when `observeCurvature` was not called since the last update).
    public mutating func takeBatch() -> CurvatureBatch<Scalar>? {
        defer { batch = nil }
        return batch
    }

    /// `.skippedNonFinite` (counted) when a gradient holds NaN/∞, else nil.
    public mutating func skipIfNonFinite(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome? {
        guard let bad = firstNonFiniteGradient(parameters) else { return nil }
        skippedSteps += 1
        return .skippedNonFinite(parameter: bad)
    }

    /// Counts a step without curvature; warns once with `consequence` (what the step does instead).
    public mutating func noteMissingCurvature(_ consequence: String) {
        if missingCurvature == 0 {
            warn("\(label): update without observeCurvature; \(consequence) (counted in \(label.lowercased())_missing_curvature)")
        }
        missingCurvature += 1
    }

    /// Fails the step (counted); `reason` says what failed and what to change.
    public mutating func fail(_ reason: String) -> UpdateOutcome {
        failedSteps += 1
        return .failed(reason: reason)
    }

    /// The inner optimiser's update; counts an applied step or a skip.
    public mutating func applyInner(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome {
        let outcome = inner.update(parameters)
        if outcome == .applied { step += 1 } else { skippedSteps += 1 }
        return outcome
    }

    /// Queues a warning for the training loop.
    public mutating func warn(_ message: String) { warnings.append(message) }

    /// The queued warnings, cleared.
    public mutating func takeWarnings() -> [String] {
        defer { warnings = [] }
        return warnings
    }

    /// The inner optimiser's tensors prefixed `inner.`.
    public func stateTensors() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (k, v) in inner.stateTensors() { out["inner.\(k)"] = v }
        return out
    }

    /// `step`, `skipped_steps` and the inner optimiser's scalars prefixed `inner.`.
    public func stateScalars() -> [String: String] {
        var out = ["step": String(step), "skipped_steps": String(skippedSteps)]
        for (k, v) in inner.stateScalars() { out["inner.\(k)"] = v }
        return out
    }

    /// Restores what `stateTensors`/`stateScalars` saved (the inner optimiser and the counters); drops any
    /// observed batch.
    public mutating func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                                   parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        guard let s = scalars["step"].flatMap(Int.init), let k = scalars["skipped_steps"].flatMap(Int.init) else {
            throw .stateMismatch("\(label) step counters missing")
        }
        try inner.loadState(tensors: Self.stripping("inner.", tensors), scalars: Self.stripping("inner.", scalars), parameters: parameters)
        step = s
        skippedSteps = k
        batch = nil
    }

    /// The entries of `dictionary` whose key starts with `prefix`, with the prefix removed.
    public static func stripping<V>(_ prefix: String, _ dictionary: [String: V]) -> [String: V] {
        Dictionary(uniqueKeysWithValues: dictionary.compactMap { k, v in k.hasPrefix(prefix) ? (String(k.dropFirst(prefix.count)), v) : nil })
    }
}

/// A `CurvatureOptimizer` built on a `PreconditionedCore`: the counters and the schedule come from the core and
/// the wrapped first-order optimiser, written once here for K-FAC and natural gradient descent.
public protocol PreconditionedOptimizer<Scalar>: CurvatureOptimizer {
    /// The shared step logic (counters, batch, failure policy); read-only outside the optimiser.
    var core: PreconditionedCore<Scalar> { get }
}

extension PreconditionedOptimizer {
    /// The first-order optimiser that applies the preconditioned gradient.
    public var inner: any Optimizer<Scalar> { core.inner }
    public var step: Int { core.step }
    public var skippedSteps: Int { core.skippedSteps }
    /// Steps whose preconditioning failed (`update` returned `.failed`: a layer without a usable inverse, a
    /// solver failure; no parameter changed).
    public var failedSteps: Int { core.failedSteps }
    /// Updates without a preceding `observeCurvature`.
    public var missingCurvature: Int { core.missingCurvature }
    public var schedule: LearningRateSchedule { inner.schedule }
    public var currentLearningRate: Double { inner.currentLearningRate }
}
