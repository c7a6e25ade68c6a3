import Linalg
import NeuralNet

/// An optimiser: updates parameters in place from their gradients (`Parameter.gradient`).
///
/// Contract:
/// - `update` applies one step to all of `parameters` (always the same list, in the same order, for a
///   run), or none of them when a gradient is not finite (then `skippedSteps` grows and the outcome says
///   which parameter); NaN/Inf never reach the weights or the optimiser state.
/// - State is keyed by parameter name, saved by `stateTensors`/`stateScalars` and restored by `loadState`,
///   so that a resumed run continues exactly.
/// - `summary` is one line with every hyper-parameter, printed at the start of each run.
public protocol Optimizer<Scalar>: AnyObject {
    associatedtype Scalar: BLASScalar

    /// Updates applied so far (skipped steps not counted); the schedule is evaluated at this step.
    var step: Int { get }
    /// Steps skipped because of non-finite gradients.
    var skippedSteps: Int { get }
    var schedule: LearningRateSchedule { get }
    /// The learning rate the next `update` uses.
    var currentLearningRate: Double { get }
    var summary: String { get }

    func update(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome
    /// Per-parameter state as tensors named `"<state>.<parameter name>"` (e.g. `"exp_avg.layers.0.weight"`).
    func stateTensors() -> [String: Matrix<Scalar>]
    /// Scalar state (step counters) as strings.
    func stateScalars() -> [String: String]
    /// Restores state saved by `stateTensors`/`stateScalars` for `parameters`.
    func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                   parameters: [Parameter<Scalar>]) throws(OptimizerError)
}

extension Optimizer {
    public var currentLearningRate: Double { schedule.rate(atStep: step) }
}

/// True when every gradient entry is finite, checked with one BLAS dot per parameter (`gᵀg` is finite
/// exactly when no entry is NaN/∞ and the squared norm does not overflow). Returns the first bad name.
@inlinable
public func firstNonFiniteGradient<S: BLASScalar>(_ parameters: [Parameter<S>]) -> String? {
    for p in parameters where p.isTrainable && p.count > 0 {
        let ss = p.gradient.withUnsafeBufferPointer { S.dot(Int32($0.count), $0.baseAddress!, 1, $0.baseAddress!, 1) }
        if !ss.isFinite { return p.name }
    }
    return nil
}

/// All gradients concatenated in parameter order: the flat vector `∇ℓ ∈ R^N` that whole-model
/// natural-gradient methods (NGD, TNGD) precondition.
public func flatGradient<S: BLASScalar>(_ parameters: [Parameter<S>]) -> [S] {
    var g: [S] = []
    g.reserveCapacity(parameters.reduce(0) { $0 + $1.count })
    for p in parameters { g.append(contentsOf: p.gradient.storage) }
    return g
}

/// Writes a flat vector laid out as `flatGradient` back into the parameters' gradients (each keeps its
/// shape), so that the inner first-order optimiser applies it.
public func setFlatGradient<S: BLASScalar>(_ flat: [S], into parameters: [Parameter<S>]) {
    precondition(flat.count == parameters.reduce(0) { $0 + $1.count },
                 "setFlatGradient: \(flat.count) values for \(parameters.reduce(0) { $0 + $1.count }) parameters")
    var offset = 0
    for p in parameters {
        p.gradient = Matrix(rows: p.value.rows, columns: p.value.columns, storage: Array(flat[offset..<(offset + p.count)]))
        offset += p.count
    }
}
