import Linalg
import NeuralNet

/// Shared machinery of element-wise first-order optimisers (the mlx-swift `OptimizerBase` pattern): step
/// counting, the learning-rate schedule, the NaN/Inf guard, and per-parameter state tensors keyed by
/// `"<state name>.<parameter name>"`. A subclass lists `stateNames` and implements `apply`, the update of
/// one parameter with its own state buffers.
open class FirstOrderOptimizer<Scalar: BLASScalar>: Optimizer {
    public let schedule: LearningRateSchedule
    public private(set) var step = 0
    public private(set) var skippedSteps = 0
    /// State buffers per parameter name, in `stateNames` order, allocated (zero) at first use.
    private var state: [String: [Matrix<Scalar>]] = [:]

    public init(schedule: LearningRateSchedule) { self.schedule = schedule }

    /// Names of the per-parameter state tensors (`["momentum_buffer"]`, `["exp_avg", "exp_avg_sq"]`).
    open var stateNames: [String] { [] }
    open var summary: String { "first-order optimiser, \(schedule)" }

    /// Updates `parameter.value` from `parameter.gradient` with `learningRate` at update number
    /// `step` (1-based, for bias corrections), reading and writing its `state` buffers.
    open func apply(_ parameter: Parameter<Scalar>, state: inout [Matrix<Scalar>], learningRate: Scalar, step: Int) {
        fatalError("\(Self.self) must override apply(_:state:learningRate:step:)")
    }

    public func update(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome {
        if let bad = firstNonFiniteGradient(parameters) {
            skippedSteps += 1
            return .skippedNonFinite(parameter: bad)
        }
        let rate = Scalar(currentLearningRate)
        step += 1
        for p in parameters {
            var buffers = state.removeValue(forKey: p.name)
                ?? stateNames.map { _ in Matrix<Scalar>(rows: p.value.rows, columns: p.value.columns) }
            apply(p, state: &buffers, learningRate: rate, step: step)
            state[p.name] = buffers
        }
        return .applied
    }

    public func stateTensors() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (name, buffers) in state {
            for (stateName, buffer) in zip(stateNames, buffers) { out["\(stateName).\(name)"] = buffer }
        }
        return out
    }

    public func stateScalars() -> [String: String] { ["step": String(step), "skipped_steps": String(skippedSteps)] }

    public func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                          parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        guard let s = scalars["step"].flatMap(Int.init), let k = scalars["skipped_steps"].flatMap(Int.init), s >= 0 else {
            throw .stateMismatch("missing or malformed step counters")
        }
        var restored: [String: [Matrix<Scalar>]] = [:]
        if s > 0 {
            for p in parameters {
                var buffers: [Matrix<Scalar>] = []
                for stateName in stateNames {
                    guard let t = tensors["\(stateName).\(p.name)"] else { throw .stateMismatch("no \(stateName) for \(p.name)") }
                    guard t.rows == p.value.rows, t.columns == p.value.columns else {
                        throw .stateMismatch("\(stateName).\(p.name) is \(t.rows)×\(t.columns), parameter is \(p.value.rows)×\(p.value.columns)")
                    }
                    buffers.append(t)
                }
                restored[p.name] = buffers
            }
        }
        state = restored
        step = s
        skippedSteps = k
    }
}
