import Curvature
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import _TestSupport

/// K-FAC as an optimiser: the step it hands to SGD, KL clipping, LM damping, intervals, the NaN guard,
/// failures of a pluggable solver, and checkpoint state with exact resume.
@Suite("K-FAC optimiser")
struct KFACOptimizerTests {
    static func configuration(_ edit: (inout KFACConfiguration) -> Void = { _ in }) -> KFACConfiguration {
        var c = KFACConfiguration()
        c.fisherType = .exactGGN
        c.inverseUpdateInterval = 1
        c.klClip = nil
        edit(&c)
        return c
    }

    static func sgd(_ lr: Double, momentum: Double = 0) throws -> SGD<Double> {
        try SGD<Double>(schedule: .constant(lr), momentum: momentum)
    }

    /// Runs one K-FAC step on `model` with batch `seed`; returns the parameter change `θ_new − θ_old`.
    @discardableResult
    static func step(_ kfac: KFAC<Double>, _ model: Sequential<Double>, loss: TestLoss = .mse, examples: Int = 4,
                     seed: UInt64, poison: Bool = false) -> (delta: [Double], outcome: UpdateOutcome, gradient: [Double]) {
        let before = model.namedParameters.flatMap { $0.value.storage }
        let data = TestBatch(model: model, loss: loss, examples: examples, seed: seed)
        if poison { model.namedParameters[0].gradient[0, 0] = .nan }
        let gradient = model.namedParameters.flatMap { $0.gradient.storage }
        kfac.observeCurvature(data.batch)
        let outcome = kfac.update(model.namedParameters)
        let after = model.namedParameters.flatMap { $0.value.storage }
        return (zip(after, before).map { $0 - $1 }, outcome, gradient)
    }

    @Test("one step: SGD receives U = (G + λ_G I)⁻¹ ∇ (A + λ_A I)⁻¹ of the fresh factors")
    func stepIsPreconditionedGradient() throws {
        let model = makeNetwork([3, 4, 2], activation: .tanh, seed: 1)
        let kfac = try KFAC(model: model, inner: try Self.sgd(0.1), configuration: Self.configuration { $0.damping = 1e-2 })
        let (delta, outcome, gradient) = Self.step(kfac, model, seed: 2)
        #expect(outcome == .applied)
        // Recompute U from the factors K-FAC holds (T_inv = 1: the solver saw exactly these) by a dense solve.
        let offsets = parameterOffsets(model)
        for (name, layer) in model.kroneckerFactoredLayers {
            let f = try #require(kfac.factors[name])
            let d = FactorDamping.piCorrected(f, damping: 1e-2)
            let idx = combinedIndices(layer, offsets: offsets)
            let g = Matrix(rows: layer.weight.value.rows, columns: idx.count / layer.weight.value.rows, storage: idx.map { gradient[$0] })
            let u = try KFACSolverTests.denseSolve(f, d, g)
            let moved = Matrix(rows: g.rows, columns: g.columns, storage: idx.map { -delta[$0] / 0.1 })
            #expect(relativeError(moved, u) < 1e-10, "\(name)")
        }
    }

    @Test("KL clipping scales the step by ν = min(1, sqrt(c / (η² Σ⟨U, ∇⟩)))", arguments: [1e-4, 10.0])
    func klClipping(_ lr: Double) throws {
        let c = 1e-3
        let plain = makeNetwork([3, 4, 2], activation: .relu, seed: 3)
        let clipped = makeNetwork([3, 4, 2], activation: .relu, seed: 3)
        let k1 = try KFAC(model: plain, inner: try Self.sgd(lr), configuration: Self.configuration())
        let k2 = try KFAC(model: clipped, inner: try Self.sgd(lr), configuration: Self.configuration { $0.klClip = c })
        let (d1, _, g) = Self.step(k1, plain, seed: 4)
        let (d2, _, _) = Self.step(k2, clipped, seed: 4)
        // Σ⟨U, ∇⟩ from the unclipped step: U = −Δθ/η (all parameters here belong to K-FAC layers).
        let alignment = zip(d1, g).reduce(0.0) { $0 - $1.0 / lr * $1.1 }
        let nu = min(1, (c / (lr * lr * alignment)).squareRoot())
        #expect(abs(k2.lastStep.klScale - nu) < 1e-12)
        #expect(relativeError(d2, d1.map { $0 * nu }) < 1e-12)
        if lr > 1 { #expect(nu < 1) } else { #expect(nu == 1) }
    }

    @Test("LM damping: a good quadratic model lowers λ by ω, an overshooting step raises it by 1/ω")
    func levenbergMarquardt() throws {
        for (lr, expectLower) in [(1e-3, true), (50.0, false)] {
            let model = makeNetwork([3, 4, 2], activation: .none, seed: 5)
            let kfac = try KFAC(model: model, inner: try Self.sgd(lr), configuration: Self.configuration {
                $0.damping = 1e-1
                $0.adaptiveDamping = AdaptiveDamping(interval: 1, decrease: 0.5, minimum: 1e-6, maximum: 1e3)
            })
            Self.step(kfac, model, examples: 8, seed: 6)
            let rho = kfac.lastStep.reductionRatio
            if expectLower {
                #expect(rho > 0.75, "ρ = \(rho)")
                #expect(abs(kfac.damping - 0.05) < 1e-15)
            } else {
                // η = 50 overshoots so far that even the damped quadratic model predicts an increase
                // (q(δ) − q(0) > 0): K-FAC treats that like ρ < 1/4 and raises λ.
                #expect(abs(kfac.damping - 0.2) < 1e-15, "ρ = \(rho)")
            }
        }
    }

    @Test("factors update every T_cov steps as an EMA; the solver refreshes every T_inv steps")
    func intervalsAndEMA() throws {
        let model = makeNetwork([3, 4, 2], activation: .tanh, seed: 7)
        let kfac = try KFAC(model: model, inner: try Self.sgd(1e-2), configuration: Self.configuration {
            $0.factorUpdateInterval = 2
            $0.inverseUpdateInterval = 4
            $0.factorDecay = 0.9
        })
        var history: [KroneckerFactors<Double>] = []
        var fresh: [KroneckerFactors<Double>] = []
        for s in 0..<8 {
            // The factors this batch would give, computed on a copy of the batch before K-FAC sees it.
            let data = TestBatch(model: model, loss: .mse, examples: 4, seed: 100 + UInt64(s))
            var rng = Xoshiro256StarStar(seed: 0)
            fresh.append(KroneckerFactorComputation.batchFactors(blocks: model.kroneckerBlocks, model: model,
                                                                 curvature: data.curvature, fisher: .exactGGN, rng: &rng)["layers.0"]!)
            kfac.observeCurvature(data.batch)
            _ = kfac.update(model.namedParameters)
            history.append(kfac.factors["layers.0"]!)
        }
        #expect(history[1] == history[0] && history[3] == history[2])     // odd steps: no factor update
        // The EMA is updated in its lower triangles only; reading the factors completes the upper ones.
        for f in history { #expect(f.activation == f.activation.transposed() && f.gradient == f.gradient.transposed()) }
        var expected = fresh[0]
        expected.blend(with: fresh[2], decay: 0.9)
        #expect(relativeError(history[2].gradient, expected.gradient) < 1e-13)
        #expect(relativeError(history[2].activation, expected.activation) < 1e-13)
        #expect(kfac.solver.metrics.refreshes == 2 * 2)                   // steps 0 and 4, two layers
    }

    @Test("non-finite gradients skip the step, count it, and leave factors and weights untouched")
    func nonFiniteGradientsSkip() throws {
        let model = makeNetwork([3, 4, 2], activation: .tanh, seed: 8)
        let kfac = try KFAC(model: model, inner: try Self.sgd(1e-2), configuration: Self.configuration())
        Self.step(kfac, model, seed: 9)
        let factors = kfac.factors
        let (delta, outcome, _) = Self.step(kfac, model, seed: 10, poison: true)
        #expect(outcome == .skippedNonFinite(parameter: "layers.0.weight"))
        #expect(kfac.skippedSteps == 1 && kfac.step == 1)
        #expect(kfac.factors == factors)
        #expect(delta.allSatisfy { $0 == 0 })
        #expect(kfac.stepMetrics.first { $0.name == "kfac_skipped_steps" }?.value == 1)
        // A NaN input poisons activations and gradients alike: still skipped, factors still clean.
        let data = TestBatch(model: model, loss: .mse, input: Matrix(rows: 2, columns: 3, repeating: .nan), seed: 11)
        kfac.observeCurvature(data.batch)
        #expect(kfac.update(model.namedParameters) != .applied)
        #expect(kfac.factors == factors && kfac.factors.values.allSatisfy(\.isFinite))
        let (d3, o3, _) = Self.step(kfac, model, seed: 12)
        #expect(o3 == .applied && d3.allSatisfy(\.isFinite))
    }

    /// A solver that fails on demand (and shows that any `FactorSolver` plugs into K-FAC); it forwards to the
    /// Cholesky solver but not its factored path, so `KFAC` always takes the dense preconditioning with it.
    final class FlakySolver: FactorSolver {
        let base = CholeskyFactorSolver<Double>()
        var failNext = false
        var name: String { "flaky" }
        var metrics: FactorSolverMetrics { base.metrics }
        func refresh(layer: String, factors: KroneckerFactors<Double>, damping: FactorDamping<Double>) throws(KFACError) {
            if failNext {
                throw .factorInversionFailed(layer: layer, factor: "A", attempts: 1,
                                             lastError: .notPositiveDefinite(routine: "dpotrf", leadingMinor: 1))
            }
            try base.refresh(layer: layer, factors: factors, damping: damping)
        }
        func precondition(layer: String, gradient: Matrix<Double>) throws(KFACError) -> Matrix<Double> {
            try base.precondition(layer: layer, gradient: gradient)
        }
        func exportState() -> [String: Matrix<Double>] { base.exportState() }
        func importState(_ state: [String: Matrix<Double>]) throws(KFACError) { try base.importState(state) }
    }

    @Test("a failing solver refresh is counted and the previous inverses stay in use")
    func failedRefreshKeepsPrevious() throws {
        let model = makeNetwork([3, 4, 2], activation: .tanh, seed: 13)
        let solver = FlakySolver()
        let kfac = try KFAC(model: model, inner: try Self.sgd(1e-2), configuration: Self.configuration(), solver: solver)
        Self.step(kfac, model, seed: 14)
        let state = solver.exportState()
        solver.failNext = true
        let (_, outcome, _) = Self.step(kfac, model, seed: 15)
        #expect(outcome == .applied)
        #expect(kfac.failedRefreshes == 2)
        #expect(solver.exportState() == state)
        #expect(kfac.stepMetrics.first { $0.name == "kfac_failed_refreshes" }?.value == 2)
    }

    @Test("a layer that never gets an inverse: raw gradient with one warning for T_inv steps, then .failed")
    func layerWithoutInverseFailsAfterTInv() throws {
        let model = makeNetwork([3, 4, 2], activation: .tanh, seed: 13)
        let solver = FlakySolver()
        solver.failNext = true
        let kfac = try KFAC(model: model, inner: try Self.sgd(0.1), configuration: Self.configuration { $0.inverseUpdateInterval = 3 },
                            solver: solver)
        let (delta, outcome, gradient) = Self.step(kfac, model, seed: 14)
        // Step 1: no inverse for either layer → both use −η ∇ (plain SGD), visibly.
        #expect(outcome == .applied)
        #expect(zip(delta, gradient).allSatisfy { abs($0 + 0.1 * $1) < 1e-12 })
        let warnings = kfac.takeWarnings()
        #expect(warnings.filter { $0.contains("has no inverse yet") }.count == 2, "\(warnings)")
        #expect(kfac.takeWarnings().isEmpty)
        for seed in 15...16 { #expect(Self.step(kfac, model, seed: UInt64(seed)).outcome == .applied) }
        #expect(kfac.unpreconditionedLayerSteps == 6)
        #expect(kfac.takeWarnings().allSatisfy { !$0.contains("has no inverse yet") })  // one warning per episode
        // Step 4 (> T_inv = 3 steps without an inverse): the step fails and nothing moves.
        let (d4, o4, _) = Self.step(kfac, model, seed: 17)
        guard case let .failed(reason) = o4 else { Issue.record("expected .failed, got \(o4)"); return }
        #expect(reason.contains("layers.0") && reason.contains("no usable inverse"))
        #expect(d4.allSatisfy { $0 == 0 })
        #expect(kfac.stepMetrics.first { $0.name == "kfac_unpreconditioned_layer_steps" }?.value == 7)
    }

    /// A solver whose preconditioned gradient has the wrong shape for the model (a wrong pairing).
    final class MismatchedSolver: FactorSolver {
        let base = CholeskyFactorSolver<Double>()
        var name: String { "mismatched" }
        var metrics: FactorSolverMetrics { base.metrics }
        func refresh(layer: String, factors: KroneckerFactors<Double>, damping: FactorDamping<Double>) throws(KFACError) {}
        func precondition(layer: String, gradient: Matrix<Double>) throws(KFACError) -> Matrix<Double> {
            throw .shapeMismatch(layer: layer, detail: "test")
        }
        func exportState() -> [String: Matrix<Double>] { [:] }
        func importState(_ state: [String: Matrix<Double>]) throws(KFACError) {}
    }

    @Test("a solver error other than a missing inverse fails the step at once (no raw-gradient fallback)")
    func solverErrorFailsStep() throws {
        let model = makeNetwork([3, 4, 2], activation: .tanh, seed: 13)
        let kfac = try KFAC(model: model, inner: try Self.sgd(0.1), configuration: Self.configuration(), solver: MismatchedSolver())
        let (delta, outcome, _) = Self.step(kfac, model, seed: 14)
        #expect(outcome == .failed(reason: KFACError.shapeMismatch(layer: "layers.0", detail: "test").description))
        #expect(delta.allSatisfy { $0 == 0 })
    }

    @Test("invalid settings are rejected with a message naming the field")
    func validation() {
        let bad: [(String, (inout KFACConfiguration) -> Void)] = [
            ("damping", { $0.damping = 0 }), ("factorDecay", { $0.factorDecay = 1 }),
            ("inverseUpdateInterval", { $0.factorUpdateInterval = 3; $0.inverseUpdateInterval = 10 }),
            ("klClip", { $0.klClip = -1 }), ("adaptiveDamping bounds", { $0.adaptiveDamping = AdaptiveDamping(minimum: 1, maximum: 2) }),
        ]
        for (field, edit) in bad {
            var c = KFACConfiguration()
            edit(&c)
            #expect(throws: KFACError.self) { try c.validate() }
            do { try c.validate() } catch { #expect(error.description.contains(field), "\(error)") }
        }
        #expect(KFACConfiguration().description.contains("T_inv 10"))
    }

    @Test("state round-trips and a resumed run reproduces the uninterrupted one bit for bit",
          arguments: FactorSolverKind.allCases)
    func resumeReproduces(_ kind: FactorSolverKind) throws {
        func configuration() -> KFACConfiguration {
            Self.configuration {
                $0.fisherType = .trueFisher
                $0.factorUpdateInterval = 1
                $0.inverseUpdateInterval = 3
                $0.klClip = 1e-2
                $0.weightDecay = 1e-3
                $0.solver = kind
                $0.adaptiveDamping = AdaptiveDamping(interval: 2)
                $0.seed = 17
            }
        }
        func run(_ model: Sequential<Double>, _ kfac: KFAC<Double>, steps: Range<Int>) {
            for s in steps { Self.step(kfac, model, loss: .crossEntropy, examples: 5, seed: 200 + UInt64(s)) }
        }
        let straight = makeNetwork([3, 5, 3], activation: .tanh, seed: 19)
        let k0 = try KFAC(model: straight, inner: try Adam<Double>(schedule: .constant(1e-2)), configuration: configuration())
        run(straight, k0, steps: 0..<9)

        let first = makeNetwork([3, 5, 3], activation: .tanh, seed: 19)
        let k1 = try KFAC(model: first, inner: try Adam<Double>(schedule: .constant(1e-2)), configuration: configuration())
        run(first, k1, steps: 0..<5)
        let (tensors, scalars) = (k1.stateTensors(), k1.stateScalars())
        #expect(tensors.keys.contains("kfac.layers.0.activation_factor") && tensors.keys.contains { $0.hasPrefix("inner.exp_avg.") })
        #expect(tensors.keys.contains { $0.hasPrefix("solver.layers.2.") })

        let resumed = makeNetwork([3, 5, 3], activation: .tanh, seed: 99)
        for (p, q) in zip(resumed.namedParameters, first.namedParameters) { p.value = q.value }
        let k2 = try KFAC(model: resumed, inner: try Adam<Double>(schedule: .constant(1e-2)), configuration: configuration())
        try k2.loadState(tensors: tensors, scalars: scalars, parameters: resumed.namedParameters)
        #expect(k2.stateScalars() == scalars)
        run(resumed, k2, steps: 5..<9)
        for (p, q) in zip(resumed.namedParameters, straight.namedParameters) { #expect(p.value == q.value, "\(p.name)") }
        #expect(k2.damping == k0.damping && k2.factors == k0.factors)
    }
}

/// The factored preconditioning `(G⁻¹gᵀ)(āA⁻¹)` (taken when the batch has fewer rows than the layers are
/// wide) gives the same step as `G⁻¹∇A⁻¹`.
@Suite("K-FAC factored preconditioning")
struct KFACFactoredPreconditioningTests {
    @Test("same parameters after 3 steps (true Fisher, momentum, KL clip) with and without the factored path")
    func factoredEqualsDense() throws {
        // 3 examples through 20-16-12 layers: the factored form is cheaper for both layers.
        #expect(KFAC<Double>.factoredIsCheaper(rows: 3, out: 16, k: 21) && KFAC<Double>.factoredIsCheaper(rows: 3, out: 12, k: 17))
        #expect(!KFAC<Double>.factoredIsCheaper(rows: 1024, out: 512, k: 785))
        let fast = makeNetwork([20, 16, 12], activation: .tanh, seed: 51)
        let slow = makeNetwork([20, 16, 12], activation: .tanh, seed: 51)
        var c = KFACConfiguration()
        c.fisherType = .trueFisher
        c.inverseUpdateInterval = 2
        c.damping = 1e-2
        c.klClip = 1e-2
        let kf = try KFAC(model: fast, inner: try SGD<Double>(schedule: .constant(0.1), momentum: 0.9), configuration: c)
        let ks = try KFAC(model: slow, inner: try SGD<Double>(schedule: .constant(0.1), momentum: 0.9), configuration: c,
                          solver: KFACOptimizerTests.FlakySolver())
        for seed in 60..<63 {
            for (model, kfac) in [(fast, kf), (slow, ks)] {
                let data = TestBatch(model: model, loss: .crossEntropy, examples: 3, seed: UInt64(seed))
                kfac.observeCurvature(data.batch)
                #expect(kfac.update(model.namedParameters) == .applied)
            }
        }
        #expect(kf.factoredPreconditions == 6 && ks.factoredPreconditions == 0)
        let a = fast.namedParameters.flatMap { $0.value.storage }, b = slow.namedParameters.flatMap { $0.value.storage }
        let moved = zip(a, makeNetwork([20, 16, 12], activation: .tanh, seed: 51).namedParameters.flatMap { $0.value.storage }).map { $0 - $1 }
        #expect(moved.contains { abs($0) > 1e-3 })   // the runs did move
        #expect(relativeError(a, b) < 1e-12)
    }
}
