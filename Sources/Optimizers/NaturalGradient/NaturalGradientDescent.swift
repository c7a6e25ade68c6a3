import Linalg
import NeuralNet

/// Natural-gradient descent on the damped GGN, `x = (F + λI)⁻¹ ∇L`, handed to a first-order optimiser
/// (plain SGD gives `θ ← θ − η x`; Adam with β₁ = β₂ = 0 is TNGD-Adam's digital twin). REFERENCE.md §4.
///
/// The baseline and oracle for TNGD: `exact` and `woodbury` for tiny models, `cg` for anything the
/// forward-mode rules of `ForwardTangent` cover. Needs `observeCurvature` before every `update`
/// (without it the step falls back to the plain gradient and counts `missingCurvature`).
public final class NaturalGradientDescent<Scalar: NeuralScalar>: CurvatureOptimizer {
    public let configuration: NaturalGradientConfiguration
    public let inner: any Optimizer<Scalar>
    public private(set) var step = 0
    public private(set) var skippedSteps = 0
    public private(set) var missingCurvature = 0
    /// Steps whose solve failed (the plain gradient was used).
    public private(set) var failedSolves = 0
    /// CG iterations and residual of the last step, seconds of the last solve.
    public private(set) var lastIterations = 0
    public private(set) var lastResidual = 0.0
    public private(set) var lastSolveSeconds = 0.0
    private var batch: CurvatureBatch<Scalar>?
    private var previous: [Scalar]?

    public init(inner: any Optimizer<Scalar>, configuration: NaturalGradientConfiguration) throws(KFACError) {
        try configuration.validate()
        self.inner = inner
        self.configuration = configuration
    }

    public var schedule: LearningRateSchedule { inner.schedule }
    public var currentLearningRate: Double { inner.currentLearningRate }
    public var summary: String { "\(configuration), wrapping \(inner.summary)" }

    public func observeCurvature(_ batch: CurvatureBatch<Scalar>) { self.batch = batch }

    /// `(F + λI)⁻¹ g` on `batch` (flat, `namedParameters` order). Overwrites the parameter gradients.
    public func direction(for g: [Scalar], batch: CurvatureBatch<Scalar>) throws(KFACError) -> [Scalar] {
        let lambda = Scalar(configuration.damping)
        switch configuration.method {
        case .exact:
            let f = GeneralizedGaussNewton.dense(batch.model, input: batch.input, curvature: batch.curvature)
            lastIterations = 0
            return try NaturalGradientSolve.exact(curvature: f, gradient: g, damping: lambda)
        case .woodbury:
            let j = ModelJacobian.dense(batch.model, input: batch.input)
            let mj = GeneralizedGaussNewton.weightedRows(j, batch.curvature)
            lastIterations = 0
            return try NaturalGradientSolve.woodbury(jacobian: j, weightedJacobian: mj, gradient: g, damping: lambda)
        case .conjugateGradient:
            let start = configuration.warmStart && previous?.count == g.count ? previous : nil
            let r = try NaturalGradientSolve.conjugateGradient(
                gradient: g, damping: lambda, initial: start, tolerance: Scalar(configuration.cgTolerance),
                maxIterations: configuration.cgMaxIterations) { (v: [Scalar]) throws(KFACError) -> [Scalar] in
                    try GeneralizedGaussNewton.product(batch.model, input: batch.input, curvature: batch.curvature, v)
                }
            lastIterations = r.iterations
            lastResidual = Double(r.relativeResidual)
            return r.solution
        }
    }

    public func update(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome {
        let batch = self.batch
        self.batch = nil
        if let bad = firstNonFiniteGradient(parameters) {
            skippedSteps += 1
            return .skippedNonFinite(parameter: bad)
        }
        if let batch {
            let g = flatGradient(parameters)
            let (x, seconds) = measureSeconds { () -> [Scalar]? in try? direction(for: g, batch: batch) }
            lastSolveSeconds = seconds
            setFlatGradient(x ?? g, into: parameters)
            if x == nil { failedSolves += 1 } else { previous = x }
        } else {
            missingCurvature += 1
        }
        let outcome = inner.update(parameters)
        if outcome == .applied { step += 1 } else { skippedSteps += 1 }
        return outcome
    }

    public var stepMetrics: [(name: String, value: Double)] {
        [("ngd_solve_seconds", lastSolveSeconds), ("ngd_cg_iterations", Double(lastIterations)),
         ("ngd_cg_residual", lastResidual), ("ngd_failed_solves", Double(failedSolves)),
         ("ngd_skipped_steps", Double(skippedSteps))]
    }

    public func stateTensors() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (k, v) in inner.stateTensors() { out["inner.\(k)"] = v }
        if let previous { out["ngd.previous_solution"] = Matrix(column: previous) }
        return out
    }

    public func stateScalars() -> [String: String] {
        var out = ["step": String(step), "skipped_steps": String(skippedSteps)]
        for (k, v) in inner.stateScalars() { out["inner.\(k)"] = v }
        return out
    }

    public func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                          parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        guard let s = scalars["step"].flatMap(Int.init), let k = scalars["skipped_steps"].flatMap(Int.init) else {
            throw .stateMismatch("NGD step counters missing")
        }
        try inner.loadState(
            tensors: Dictionary(uniqueKeysWithValues: tensors.compactMap { $0.hasPrefix("inner.") ? (String($0.dropFirst(6)), $1) : nil }),
            scalars: Dictionary(uniqueKeysWithValues: scalars.compactMap { $0.hasPrefix("inner.") ? (String($0.dropFirst(6)), $1) : nil }),
            parameters: parameters)
        step = s
        skippedSteps = k
        previous = tensors["ngd.previous_solution"]?.storage
    }
}
