import Curvature
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Solvers

/// NGD-CG on the damped GGN with the products of `GaussNewtonOperator` (the factored `F v` that TNGD's
/// device realises), handed to a first-order optimiser: the TNGD experiments' digital baseline, warm-started
/// from the previous solution. Same solver (`NaturalGradientSolve.conjugateGradient`) and the same
/// `LinearizedModel` as `NaturalGradientDescent(method: .cg)`, which since this session also handles
/// convolutions; folding this class into it (a warm-start option there) is left open.
/// A failed solve fails the step (`.failed`), as in `NaturalGradientDescent`: no plain-gradient fallback.
public final class FactoredConjugateGradientDescent: CurvatureOptimizer {
    public typealias Scalar = Float
    public let inner: any Optimizer<Float>
    public let damping: Double
    public let tolerance: Double
    public let maxIterations: Int
    public private(set) var step = 0
    public private(set) var skippedSteps = 0
    public private(set) var failedSolves = 0
    public private(set) var lastIterations = 0
    public private(set) var lastResidual = 0.0
    public private(set) var lastSolveSeconds = 0.0
    private var batch: CurvatureBatch<Float>?
    private var previous: [Float]?

    public init(inner: any Optimizer<Float>, damping: Double, tolerance: Double = 1e-3, maxIterations: Int = 10) {
        self.inner = inner
        self.damping = damping
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    public var schedule: LearningRateSchedule { inner.schedule }
    public var currentLearningRate: Double { inner.currentLearningRate }
    public var summary: String {
        "NGD-CG(factored F v, λ \(damping), tolerance \(tolerance), ≤ \(maxIterations) iterations, warm start), wrapping \(inner.summary)"
    }
    public func observeCurvature(_ batch: CurvatureBatch<Float>) { self.batch = batch }

    public func update(_ parameters: [Parameter<Float>]) -> UpdateOutcome {
        let batch = self.batch
        self.batch = nil
        if let bad = firstNonFiniteGradient(parameters) { skippedSteps += 1; return .skippedNonFinite(parameter: bad) }
        if let batch {
            let clock = ContinuousClock(), start = clock.now
            let g = flatGradient(parameters)
            var failure = "the solution was not finite"
            var x: [Float]? = nil
            do {
                let lin = try LinearizedModel(batch.model, input: batch.input)
                let f = GaussNewtonOperator(linearization: lin, curvature: batch.curvature, damping: 0)
                let r = try NaturalGradientSolve.conjugateGradient(
                    gradient: g, damping: Float(damping), initial: previous?.count == g.count ? previous : nil,
                    tolerance: Float(tolerance), maxIterations: maxIterations) { (v: [Float]) throws(KFACError) -> [Float] in f.product(v) }
                if r.solution.allSatisfy(\.isFinite) {
                    x = r.solution
                    lastIterations = r.iterations
                    lastResidual = Double(r.relativeResidual)
                }
            } catch { failure = "\(error)" }
            guard let x else {
                failedSolves += 1
                return .failed(reason: "NGD-CG (factored) step \(step + 1): \(failure)")
            }
            previous = x
            setFlatGradient(x, into: parameters)
            let d = clock.now - start
            lastSolveSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        let outcome = inner.update(parameters)
        if outcome == .applied { step += 1 } else { skippedSteps += 1 }
        return outcome
    }

    public var stepMetrics: [(name: String, value: Double)] {
        [("ngd_solve_seconds", lastSolveSeconds), ("ngd_cg_iterations", Double(lastIterations)),
         ("ngd_cg_residual", lastResidual), ("ngd_failed_solves", Double(failedSolves))]
    }

    public func stateTensors() -> [String: Matrix<Float>] { inner.stateTensors() }
    public func stateScalars() -> [String: String] { inner.stateScalars() }
    public func loadState(tensors: [String: Matrix<Float>], scalars: [String: String],
                          parameters: [Parameter<Float>]) throws(OptimizerError) {
        try inner.loadState(tensors: tensors, scalars: scalars, parameters: parameters)
    }
}
