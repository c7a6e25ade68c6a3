import Curvature
import Linalg
import NeuralNet
import Solvers

/// Natural-gradient descent on the damped GGN, `x = (F + λI)⁻¹ ∇L`, handed to a first-order optimiser
/// (plain SGD gives `θ ← θ − η x`; Adam with β₁ = β₂ = 0 is TNGD-Adam's digital twin). docs/tngd.md#digital-baselines.
///
/// One optimiser for every way of solving the system: the step builds the batch's `GaussNewtonOperator`
/// (damping `λ`, mean- or sum-normalised) and hands it with `∇L` to a `LinearSolver` — dense (`exact`), CG,
/// Woodbury, or the simulated thermodynamic device (TNGD, see `thermodynamic(inner:configuration:)`).
/// Batch handling, non-finite skips, the failure policy and the inner optimiser's state are the
/// `PreconditionedCore`'s: without `observeCurvature` the plain gradient is used (counted, warned once); a
/// failed solve (unsupported layer, a dense size over the limit, a LAPACK failure, a diverged device run,
/// a non-finite solution) makes `update` return `.failed` with the gradients restored — quietly taking the
/// plain gradient would make the run an SGD run under an NGD label.
public final class NaturalGradientDescent<Scalar: NeuralScalar>: PreconditionedOptimizer {
    public let solver: any LinearSolver<Scalar>
    /// Tikhonov damping `λ` of `F + λI`.
    public let damping: Double
    /// Mean (`F = JᵀHJ/b`, `∇L` of the mean loss) or sum (`b` times both) normalisation.
    public let lossNormalization: LossNormalization
    /// Whether an iterative solver starts from the previous solution.
    public let warmStart: Bool
    /// The settings line of `summary` (the configuration it was made from).
    public let settings: String
    /// Seconds of the last solve.
    public private(set) var lastSolveSeconds = 0.0
    public private(set) var core: PreconditionedCore<Scalar>
    private var previous: [Scalar]?

    /// NGD on `solver`; `label` names it in warnings, failures and metric columns (`ngd_…`, `tngd_…`).
    public init(inner: any Optimizer<Scalar>, solver: any LinearSolver<Scalar>, damping: Double,
                lossNormalization: LossNormalization = .mean, warmStart: Bool = true, label: String = "NGD", settings: String) {
        self.solver = solver
        self.damping = damping
        self.lossNormalization = lossNormalization
        self.warmStart = warmStart
        self.settings = settings
        core = PreconditionedCore(inner: inner, label: label)
    }

    /// Digital NGD as `configuration` says (`exact`, `cg` or `woodbury` solver).
    public convenience init(inner: any Optimizer<Scalar>, configuration: NaturalGradientConfiguration) throws(KFACError) {
        try configuration.validate()
        self.init(inner: inner, solver: configuration.makeSolver(Scalar.self), damping: configuration.damping,
                  warmStart: configuration.warmStart, settings: configuration.description)
    }

    public var summary: String { "\(settings), wrapping \(inner.summary)" }

    public func observeCurvature(_ batch: CurvatureBatch<Scalar>) { core.observe(batch) }

    /// Throws `.denseSolveTooLarge` when `method` would allocate more than `denseSolveMemoryLimit` bytes for
    /// `parameters` trainable scalars and `jacobianRows = b·d` Jacobian rows. CG is matrix-free.
    public static func checkDenseSize(_ method: NaturalGradientConfiguration.Method, parameters: Int, jacobianRows: Int,
                                      scalarBytes: Int = MemoryLayout<Scalar>.size) throws(LinearSolverError) {
        switch method {
        case .exact: try DenseLinearSolver<Scalar>.checkSize(parameters: parameters, jacobianRows: jacobianRows, scalarBytes: scalarBytes)
        case .woodbury: try WoodburyLinearSolver<Scalar>.checkSize(parameters: parameters, jacobianRows: jacobianRows, scalarBytes: scalarBytes)
        case .conjugateGradient: return
        }
    }

    /// `(F + λI)⁻¹ g` on `batch` (flat, `trainableParameters` order), sum-normalised when configured.
    /// Overwrites the parameter gradients.
    public func direction(for g: [Scalar], batch: CurvatureBatch<Scalar>) throws(LinearSolverError) -> [Scalar] {
        // Mean loss: F = JᵀHJ/b + λ, ∇ℓ as given; summed loss: b times the data term and the gradient
        // (b of the global batch on several ranks: `g` is already the global mean gradient).
        let scale = Scalar(lossNormalization == .sum ? batch.shard?.globalCount ?? batch.examples : 1)
        let f = GaussNewtonOperator(batch: batch, damping: Scalar(damping), dataScale: scale)
        let x = try solver.solve(f, rhs: scale == 1 ? g : g.map { $0 * scale }, warmStart: warmStart ? previous : nil)
        guard x.allSatisfy(\.isFinite) else { throw .nonFinite(solver: solver.name) }
        return x
    }

    public func update(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome {
        let batch = core.takeBatch()
        if let skipped = core.skipIfNonFinite(parameters) { return skipped }
        if let batch {
            let g = flatGradient(parameters)
            let (result, seconds) = measureSeconds { () -> Result<[Scalar], LinearSolverError> in
                do throws(LinearSolverError) { return .success(try direction(for: g, batch: batch)) } catch { return .failure(error) }
            }
            lastSolveSeconds = seconds
            switch result {
            case let .success(x):
                setFlatGradient(x, into: parameters)
                if warmStart && solver.usesWarmStart { previous = x }
            case let .failure(error):
                // The GGN products overwrote the gradients; restore them so the caller sees the step's own.
                setFlatGradient(g, into: parameters)
                return core.fail("\(core.label) step \(core.step + 1): \(error)")
            }
        } else {
            core.noteMissingCurvature("the plain gradient is used for such steps")
        }
        return core.applyInner(parameters)
    }

    /// `<label>_solve_seconds`, the solver's figures, failed and skipped steps, steps without curvature.
    public var stepMetrics: [(name: String, value: Double)] {
        let p = core.label.lowercased()
        var out: [(name: String, value: Double)] = [(name: "\(p)_solve_seconds", value: lastSolveSeconds)]
        for m in solver.metrics { out.append((name: "\(p)_\(m.name)", value: m.value)) }
        out.append((name: "\(p)_failed_solves", value: Double(failedSteps)))
        out.append((name: "\(p)_skipped_steps", value: Double(skippedSteps)))
        out.append((name: "\(p)_missing_curvature", value: Double(missingCurvature)))
        return out
    }

    public func takeWarnings() -> [String] { core.takeWarnings() }

    /// The core's state (`inner.…`, counters), the previous solution (`ngd.previous_solution`, warm starts)
    /// and the solver's own state.
    public func stateTensors() -> [String: Matrix<Scalar>] {
        var out = core.stateTensors()
        if let previous { out["ngd.previous_solution"] = Matrix(column: previous) }
        out.merge(solver.exportState().tensors) { a, _ in a }
        return out
    }

    public func stateScalars() -> [String: String] {
        core.stateScalars().merging(solver.exportState().scalars) { a, _ in a }
    }

    public func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                          parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        try core.loadState(tensors: tensors, scalars: scalars, parameters: parameters)
        do { try solver.importState(tensors: tensors, scalars: scalars) } catch { throw .stateMismatch(error.description) }
        previous = tensors["ngd.previous_solution"]?.storage
    }
}
