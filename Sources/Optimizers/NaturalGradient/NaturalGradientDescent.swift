import Curvature
import Linalg
import NeuralNet
import Solvers

/// Natural-gradient descent on the damped GGN, `x = (F + λI)⁻¹ ∇L`, handed to a first-order optimiser
/// (plain SGD gives `θ ← θ − η x`; Adam with β₁ = β₂ = 0 is TNGD-Adam's digital twin). docs/tngd.md#digital-baselines.
///
/// The baseline and oracle for TNGD: `exact` and `woodbury` for tiny models, `cg` for anything the
/// forward-mode rules of `LinearizedModel` cover (Linear, Conv2d, activations, LayerNorm, pooling). Needs `observeCurvature` before every `update`
/// (without it the step falls back to the plain gradient, counts `missingCurvature` and warns once).
/// A failed solve (unsupported layer, dense matrices over `denseMemoryLimit`, a LAPACK failure) makes
/// `update` return `.failed` with the typed error's message: there is no natural gradient to fall back to,
/// and quietly taking the plain gradient would make the run an SGD run under an NGD label.
public final class NaturalGradientDescent<Scalar: NeuralScalar>: CurvatureOptimizer {
    public let configuration: NaturalGradientConfiguration
    public let inner: any Optimizer<Scalar>
    public private(set) var step = 0
    public private(set) var skippedSteps = 0
    public private(set) var missingCurvature = 0
    /// Steps whose solve failed (`update` returned `.failed`; no parameter changed).
    public private(set) var failedSolves = 0
    /// CG iterations and residual of the last step, seconds of the last solve.
    public private(set) var lastIterations = 0
    public private(set) var lastResidual = 0.0
    public private(set) var lastSolveSeconds = 0.0
    private var batch: CurvatureBatch<Scalar>?
    private var previous: [Scalar]?
    private var pendingWarnings: [String] = []

    public init(inner: any Optimizer<Scalar>, configuration: NaturalGradientConfiguration) throws(KFACError) {
        try configuration.validate()
        self.inner = inner
        self.configuration = configuration
    }

    public var schedule: LearningRateSchedule { inner.schedule }
    public var currentLearningRate: Double { inner.currentLearningRate }
    public var summary: String { "\(configuration), wrapping \(inner.summary)" }

    public func observeCurvature(_ batch: CurvatureBatch<Scalar>) { self.batch = batch }

    /// Largest dense matrices the `exact` and `woodbury` solves may allocate: 2 GiB. The exact GGN of the
    /// 670k-parameter Fashion-MNIST MLP would need 670k² × 4 B ≈ 1.6 TiB.
    public static var denseMemoryLimit: Int { 1 << 31 }

    /// Throws `.denseSolveTooLarge` when `method` would allocate more than `denseMemoryLimit` bytes for
    /// `parameters` trainable scalars and `jacobianRows = b·d` Jacobian rows: `exact` holds `F` (`N²`) and
    /// `J` (`b·d·N`), `woodbury` holds `J` and `M J` (`2 b·d·N`) and the `b·d × b·d` kernel. CG is matrix-free.
    public static func checkDenseSize(_ method: NaturalGradientConfiguration.Method, parameters: Int, jacobianRows: Int,
                                      scalarBytes: Int = MemoryLayout<Scalar>.size) throws(KFACError) {
        let (n, r) = (Double(parameters), Double(jacobianRows))
        let elements: Double
        switch method {
        case .exact: elements = n * n + r * n
        case .woodbury: elements = 2 * r * n + r * r
        case .conjugateGradient: return
        }
        let bytes = elements * Double(scalarBytes)
        guard bytes <= Double(denseMemoryLimit) else {
            throw .denseSolveTooLarge(method: method.rawValue, parameters: parameters, bytes: bytes, limit: denseMemoryLimit)
        }
    }

    /// `(F + λI)⁻¹ g` on `batch` (flat, `trainableParameters` order). Overwrites the parameter gradients.
    public func direction(for g: [Scalar], batch: CurvatureBatch<Scalar>) throws(KFACError) -> [Scalar] {
        let lambda = Scalar(configuration.damping)
        try Self.checkDenseSize(configuration.method, parameters: g.count,
                                jacobianRows: batch.examples * batch.curvature.outputDimension)
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
            // One linearisation (one forward pass) for all CG iterations of this step.
            let linearization: LinearizedModel<Scalar>
            do { linearization = try GeneralizedGaussNewton.linearize(batch.model, input: batch.input) } catch {
                switch error { case let .unsupportedLayer(summary): throw .unsupportedLayer(summary: summary, operation: "GGN-vector product") }
            }
            let r = NaturalGradientSolve.conjugateGradient(
                gradient: g, damping: lambda, initial: start, tolerance: Scalar(configuration.cgTolerance),
                maxIterations: configuration.cgMaxIterations) { (v: [Scalar]) -> [Scalar] in
                    GeneralizedGaussNewton.product(linearization, curvature: batch.curvature, v)
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
            let (result, seconds) = measureSeconds { () -> Result<[Scalar], KFACError> in
                do throws(KFACError) { return .success(try direction(for: g, batch: batch)) } catch { return .failure(error) }
            }
            lastSolveSeconds = seconds
            switch result {
            case let .success(x):
                setFlatGradient(x, into: parameters)
                previous = x
            case let .failure(error):
                // The GGN products overwrote the gradients; restore them so the caller sees the step's own.
                setFlatGradient(g, into: parameters)
                failedSolves += 1
                skippedSteps += 1
                return .failed(reason: error.description)
            }
        } else {
            if missingCurvature == 0 {
                pendingWarnings.append("NGD: update without observeCurvature; the plain gradient is used for such steps "
                    + "(counted in ngd_missing_curvature)")
            }
            missingCurvature += 1
        }
        let outcome = inner.update(parameters)
        if outcome == .applied { step += 1 } else { skippedSteps += 1 }
        return outcome
    }

    public var stepMetrics: [(name: String, value: Double)] {
        [("ngd_solve_seconds", lastSolveSeconds), ("ngd_cg_iterations", Double(lastIterations)),
         ("ngd_cg_residual", lastResidual), ("ngd_failed_solves", Double(failedSolves)),
         ("ngd_skipped_steps", Double(skippedSteps)), ("ngd_missing_curvature", Double(missingCurvature))]
    }

    public func takeWarnings() -> [String] {
        defer { pendingWarnings = [] }
        return pendingWarnings
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
