import Curvature
import Linalg
import NeuralNet
import Solvers

/// Kronecker-factored approximate curvature (Martens & Grosse 2015; docs/kfac.md#factors) as a preconditioner
/// in front of any first-order optimiser of the engine (SGD-momentum, Adam): for every Kronecker block `ℓ`
/// (a trainable weight with all the modules that apply it, `Sequential.kroneckerBlocks`) it replaces `[∇W_ℓ, ∇b_ℓ]` by
///
///     U_ℓ = ν (G_ℓ + λ_G I)⁻¹ [∇W_ℓ + wW_ℓ, ∇b_ℓ + wb_ℓ] (A_ℓ + λ_A I)⁻¹
///
/// and hands the parameters to the wrapped optimiser's `update`. Other parameters (LayerNorm, embeddings)
/// pass through unpreconditioned.
///
/// Per step, in order:
/// 1. `observeCurvature` (every `T_cov` steps): `A_ℓ` from the forward's activations, `G_ℓ` from the
///    gradients of the configured `FisherType` (an extra backward for the true Fisher / GGN), finite
///    factors blended into the EMA. Without that call, factors fall back to the empirical Fisher of the
///    ordinary backward (counted in `empiricalFallbacks`).
/// 2. `update`: non-finite gradients skip the whole step (factors untouched); every `T_inv` steps the
///    `FactorSolver` is refreshed with the EMA factors and the (π-corrected) damping; the solver
///    preconditions; KL clipping scales by `ν = min(1, sqrt(c / (η² Σ_ℓ ⟨U_ℓ, ∇_ℓ⟩)))`; the wrapped
///    optimiser steps; every LM interval `λ` adapts (`AdaptiveDamping`).
///
/// The solver is any `FactorSolver` (Cholesky, eigen, or a thermodynamic device), so TK-FAC plugs in
/// here without a change to this type.
public final class KFAC<Scalar: NeuralScalar>: PreconditionedOptimizer {
    public let configuration: KFACConfiguration
    public let solver: any FactorSolver<Scalar>
    /// The preconditioned blocks, named by the path of each weight's first use (`"layers.0"`).
    public let blocks: [KroneckerBlock<Scalar>]
    /// EMA factors per layer path, symmetric. The factor update of a step writes only their lower triangles
    /// (one `syrk` each, no transposed copy); the upper ones are completed here, when the factors are read
    /// (every refresh, every LM adaptation, checkpoints) — the same numbers as mirroring every step.
    public var factors: [String: KroneckerFactors<Scalar>] {
        for name in staleUpperTriangles { emaFactors[name]?.mirrorLowerTriangles() }
        staleUpperTriangles = []
        return emaFactors
    }
    private var emaFactors: [String: KroneckerFactors<Scalar>] = [:]
    /// Layers whose EMA factors' upper triangles lag their lower ones.
    private var staleUpperTriangles: Set<String> = []
    /// Current damping `λ` (changes only with adaptive damping).
    public private(set) var damping: Double
    /// Factor updates made from the empirical Fisher because `observeCurvature` was not called.
    public private(set) var empiricalFallbacks = 0
    /// Fresh factors discarded because they held NaN/∞.
    public private(set) var nonFiniteFactorUpdates = 0
    /// Solver refreshes that failed (the previous inverses stay in use).
    public private(set) var failedRefreshes = 0
    /// Layer-steps that used the raw gradient because the layer had no inverse yet (see `update`).
    public private(set) var unpreconditionedLayerSteps = 0
    public private(set) var lastStep = KFACStepMetrics()

    private var rng: Xoshiro256StarStar
    /// Batch handling, non-finite skips, failures, warnings and the inner optimiser's state.
    public private(set) var core: PreconditionedCore<Scalar>
    private var factorsObservedAtStep = -1
    private var needsRefresh = true
    /// Consecutive steps each layer went without an inverse (absent: preconditioned last step).
    private var unpreconditionedRun: [String: Int] = [:]
    /// Real-label captures of the current step (set by `observeCurvature`, cleared by `update`).
    private var gradientCaptures: [String: KroneckerCapture<Scalar>] = [:]
    /// Layer-steps preconditioned in factored form, `(G⁻¹gᵀ)(āA⁻¹)` (see `update`).
    public private(set) var factoredPreconditions = 0
    /// The model, for the empirical-Fisher fallback (no extra backward is run on it then).
    private let modelForFallback: Sequential<Scalar>

    /// K-FAC over the Kronecker blocks of `model` (turns their capture on), wrapping `inner`.
    /// `solver` defaults to `configuration.solver`'s digital strategy.
    public init(model: Sequential<Scalar>, inner: any Optimizer<Scalar>, configuration: KFACConfiguration,
                solver: (any FactorSolver<Scalar>)? = nil) throws(KFACError) {
        try configuration.validate()
        self.configuration = configuration
        self.core = PreconditionedCore(inner: inner, label: "K-FAC")
        self.solver = solver ?? configuration.solver.makeSolver(Scalar.self, retry: configuration.choleskyRetry)
        self.blocks = model.kroneckerBlocks
        self.damping = configuration.damping
        self.rng = Xoshiro256StarStar(seed: configuration.seed, stream: 0x4B46_4143)
        self.modelForFallback = model
        model.setCapture(true)
    }

    public var summary: String { "\(configuration), solver \(solver.name), wrapping \(inner.summary)" }

    // MARK: Factors

    public func observeCurvature(_ batch: CurvatureBatch<Scalar>) {
        core.observe(batch)
        // The captures of the real-label backward, before the true-Fisher/GGN passes replace them: the
        // factored preconditioning (`update`) rebuilds the step's gradient from these.
        gradientCaptures = Dictionary(uniqueKeysWithValues: blocks.compactMap { b in b.capture.map { (b.name, $0) } })
        guard step % configuration.factorUpdateInterval == 0,
              firstNonFiniteGradient(batch.model.namedParameters) == nil else { return }
        let (_, seconds) = measureSeconds { updateFactors(fisher: configuration.fisherType, batch: batch) }
        lastStep.factorSeconds = seconds
        factorsObservedAtStep = step
    }

    /// Fresh factors of every layer from the current captures (plus the extra backward passes that
    /// `fisher` needs), blended into the EMA when finite.
    private func updateFactors(fisher: FisherType, batch: CurvatureBatch<Scalar>?) {
        guard let model = batch?.model ?? (blocks.isEmpty ? nil : modelForFallback) else { return }
        var fresh = KroneckerFactorComputation.batchFactors(
            blocks: blocks, model: model, curvature: batch?.curvature, fisher: batch == nil ? .empirical : fisher,
            approximation: configuration.approximation(forLayer:), rng: &rng, shard: batch?.shard, lowerOnly: true)
        // Several ranks: the global batch's factors, Σ_r (b_r / b) F_r (docs/multi-process.md#k-fac-on-several-ranks).
        if let shard = batch?.shard, shard.communicator.size > 1 { fresh = Self.sumOverRanks(fresh, blocks: blocks, shard: shard) }
        let decay = Scalar(configuration.factorDecay)
        for (name, f) in fresh {
            guard f.isFinite else { nonFiniteFactorUpdates += 1; continue }
            // In place (no copy of the old factors); entry-wise, so the stale upper triangles do not matter.
            if emaFactors[name] != nil { emaFactors[name]!.blend(with: f, decay: decay) } else { emaFactors[name] = f }
            staleUpperTriangles.insert(name)
        }
    }

    // MARK: Update

    public func update(_ parameters: [Parameter<Scalar>]) -> UpdateOutcome {
        let batch = core.takeBatch()
        var metrics = KFACStepMetrics()
        metrics.damping = damping
        if step == factorsObservedAtStep { metrics.factorSeconds = lastStep.factorSeconds }
        if let skipped = core.skipIfNonFinite(parameters) {
            metrics.skipped = true
            metrics.factorSeconds = 0
            lastStep = metrics
            return skipped
        }
        if step % configuration.factorUpdateInterval == 0 && factorsObservedAtStep != step {
            let (_, seconds) = measureSeconds { updateFactors(fisher: .empirical, batch: nil) }
            if configuration.fisherType != .empirical {
                if empiricalFallbacks == 0 {
                    core.warn("K-FAC: no observeCurvature before update; factors use the empirical Fisher "
                        + "instead of \(configuration.fisherType) (counted in kfac_empirical_fallbacks)")
                }
                empiricalFallbacks += 1
            }
            metrics.factorSeconds = seconds
        }
        if step % configuration.inverseUpdateInterval == 0 || needsRefresh {
            (_, metrics.inversionSeconds) = measureSeconds { refreshSolver() }
        }

        // Precondition every layer: U = ν (G + λ_G I)⁻¹ ∇ (A + λ_A I)⁻¹.
        let clock = ContinuousClock()
        let start = clock.now
        let w = Scalar(configuration.weightDecay)
        var gradients: [String: Matrix<Scalar>] = [:]
        var directions: [String: Matrix<Scalar>] = [:]
        var alignment: Scalar = 0
        var failure: String? = nil
        let captures = batch != nil ? gradientCaptures : [:]
        gradientCaptures = [:]
        for block in blocks {
            let name = block.name
            let g = Self.combined(block, \.gradient, weightDecay: w)
            gradients[name] = g
            do {
                // Factored form when the batch has fewer rows than the layer is wide: the gradient of
                // the step is exactly gᵀā of the real-label capture taken in `observeCurvature` (only
                // used then, and without weight decay, whose wW term is not of that form), and
                // (G⁻¹gᵀ)(āA⁻¹) costs 2·rows·(out² + k² + out·k) instead of 2·(out²k + out·k²), k = in + 1.
                var factored: Matrix<Scalar>? = nil
                if w == 0, let c = captures[name],
                   Self.factoredIsCheaper(rows: c.activations.rows, out: g.rows, k: g.columns) {
                    factored = try solver.precondition(layer: name, outputGradients: c.outputGradients,
                                                       activations: c.augmentedActivations())
                    if factored != nil { factoredPreconditions += 1 }
                }
                let u: Matrix<Scalar>
                if let factored { u = factored } else { u = try solver.precondition(layer: name, gradient: g) }
                directions[name] = u
                unpreconditionedRun[name] = nil
                alignment += g.storage.withUnsafeBufferPointer { gp in
                    u.storage.withUnsafeBufferPointer { Scalar.dot(Int32(gp.count), gp.baseAddress!, 1, $0.baseAddress!, 1) }
                }
            } catch .layerNotRefreshed {
                // The layer has no inverse yet: every factor update so far was non-finite, or its first
                // refresh failed even after the solver's retries. Until the next scheduled refresh (at most
                // T_inv steps away) there is nothing to precondition with, so the raw gradient is used for
                // this layer — counted, and warned about once per episode. If the layer is still without an
                // inverse after T_inv steps, the refresh had its chance and failed: continuing would be plain
                // SGD/Adam on that layer under a K-FAC label, so the step fails instead.
                let run = (unpreconditionedRun[name] ?? 0) + 1
                unpreconditionedRun[name] = run
                unpreconditionedLayerSteps += 1
                if run > configuration.inverseUpdateInterval {
                    failure = "K-FAC: layer \(name) has had no usable inverse for \(run) steps (failed refreshes: "
                        + "\(failedRefreshes), non-finite factor updates: \(nonFiniteFactorUpdates)); raise --kfac-damping, "
                        + "lower the learning rate, or use --kfac-solver eigen"
                    break
                }
                if run == 1 {
                    core.warn("K-FAC step \(step): layer \(name) has no inverse yet (failed refreshes "
                        + "\(failedRefreshes), non-finite factor updates \(nonFiniteFactorUpdates)); its raw gradient is "
                        + "used until the next refresh (≤ \(configuration.inverseUpdateInterval) steps)")
                }
            } catch {
                // Shape mismatch or a device failure: a wrong solver/model pairing or a broken device, not a
                // transient state — no fallback is meaningful.
                failure = error.description
                break
            }
        }
        if let failure {
            metrics.skipped = true
            lastStep = metrics
            return core.fail(failure)
        }
        var nu: Scalar = 1
        if let c = configuration.klClip, alignment > 0 {
            let eta = Scalar(currentLearningRate)
            nu = Swift.min(1, (Scalar(c) / (eta * eta * alignment)).squareRoot())
        }
        for block in blocks {
            guard var u = directions[block.name] ?? gradients[block.name] else { continue }
            if directions[block.name] != nil && nu != 1 { u.scale(by: nu) }
            Self.split(u, into: block)
        }
        metrics.klScale = Double(nu)
        let d = clock.now - start
        metrics.preconditionSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18

        let adaptDamping = configuration.adaptiveDamping.map { step % $0.interval == $0.interval - 1 } ?? false
        let before: [String: Matrix<Scalar>]? = adaptDamping && batch != nil
            ? Dictionary(uniqueKeysWithValues: blocks.map { ($0.name, Self.combined($0, \.value, weightDecay: 0)) })
            : nil
        let (outcome, innerSeconds) = measureSeconds { self.core.applyInner(parameters) }
        metrics.innerUpdateSeconds = innerSeconds
        if outcome != .applied {
            metrics.skipped = true
            lastStep = metrics
            return outcome
        }
        if let before, let batch, let lm = configuration.adaptiveDamping {
            metrics.reductionRatio = adapt(lm, before: before, gradients: gradients, batch: batch)
        }
        lastStep = metrics
        return .applied
    }

    /// Whether `(G⁻¹gᵀ)(āA⁻¹)` with `rows` gradient rows needs fewer flops than `G⁻¹∇A⁻¹` (`out × k`).
    public static func factoredIsCheaper(rows: Int, out: Int, k: Int) -> Bool {
        rows * (out * out + k * k + out * k) < out * k * (out + k)
    }

    /// Refreshes the solver for every layer with factors; a failure keeps that layer's previous state.
    private func refreshSolver() {
        let lambda = Scalar(damping)
        let factors = self.factors
        for name in blocks.map(\.name) {
            guard let f = factors[name] else { continue }
            let d = configuration.piCorrection ? FactorDamping.piCorrected(f, damping: lambda) : .uniform(lambda)
            do { try solver.refresh(layer: name, factors: f, damping: d) } catch {
                failedRefreshes += 1
                core.warn("K-FAC step \(step): refreshing \(name) failed (\(error)); its previous inverse stays in use")
            }
        }
        needsRefresh = emaFactors.count < blocks.count
    }

    /// LM step on `λ` from the reduction ratio `ρ`; returns `ρ`.
    private func adapt(_ lm: AdaptiveDamping, before: [String: Matrix<Scalar>], gradients: [String: Matrix<Scalar>],
                       batch: CurvatureBatch<Scalar>) -> Double {
        var linear = 0.0, curvature = 0.0, squaredNorm = 0.0, decayChange = 0.0
        let factors = self.factors
        for block in blocks {
            guard let old = before[block.name], let g = gradients[block.name] else { continue }
            let new = Self.combined(block, \.value, weightDecay: 0)
            let delta = new - old
            linear += Double(zip(g.storage, delta.storage).reduce(Scalar(0)) { $0 + $1.0 * $1.1 })
            squaredNorm += Double(delta.frobeniusNorm * delta.frobeniusNorm)
            decayChange += 0.5 * Double(new.frobeniusNorm * new.frobeniusNorm - old.frobeniusNorm * old.frobeniusNorm)
            if let f = factors[block.name] {
                let gda = BLAS.matmul(BLAS.matmul(f.gradient, delta), f.activation)
                curvature += Double(zip(delta.storage, gda.storage).reduce(Scalar(0)) { $0 + $1.0 * $1.1 })
            }
        }
        let predicted = linear + 0.5 * curvature + 0.5 * (damping + configuration.weightDecay) * squaredNorm
        let actual = Double(batch.evaluateLoss() - batch.lossValue) + configuration.weightDecay * decayChange
        let rho = actual / predicted
        if predicted < 0 && rho.isFinite {
            if rho > 0.75 { damping *= lm.decrease } else if rho < 0.25 { damping /= lm.decrease }
        } else {
            damping /= lm.decrease  // no predicted decrease or non-finite loss: be more careful
        }
        damping = Swift.min(Swift.max(damping, lm.minimum), lm.maximum)
        // The new λ enters at the next scheduled refresh (every T_inv steps), as in kfac-pytorch.
        return rho
    }

    // MARK: Layout of [W, b]

    /// `[X_W + w W, X_b + w b]` (`out × (in + 1)`, or `out × in` without bias) for `X` = value or gradient.
    static func combined(_ block: KroneckerBlock<Scalar>, _ field: KeyPath<Parameter<Scalar>, Matrix<Scalar>>,
                         weightDecay w: Scalar) -> Matrix<Scalar> {
        let weight = block.weight[keyPath: field]
        var wg = weight
        if w != 0 { wg.axpy(w, block.weight.value) }
        guard let bias = block.bias else { return wg }
        var bg = bias[keyPath: field]
        if w != 0 { bg.axpy(w, bias.value) }
        let (m, k) = (weight.rows, weight.columns)
        var out = Matrix<Scalar>(rows: m, columns: k + 1)
        out.withUnsafeMutableBufferPointer { o in
            wg.withUnsafeBufferPointer { src in
                for i in 0..<m { (o.baseAddress! + i * (k + 1)).update(from: src.baseAddress! + i * k, count: k) }
            }
            bg.withUnsafeBufferPointer { b in for i in 0..<m { o[i * (k + 1) + k] = b[i] } }
        }
        return out
    }

    /// Writes `U = [U_W, U_b]` into the block's weight and (trainable) bias gradients.
    static func split(_ u: Matrix<Scalar>, into block: KroneckerBlock<Scalar>) {
        let (m, k) = (block.weight.value.rows, block.weight.value.columns)
        guard let bias = block.bias else { block.weight.gradient = u; return }
        u.withUnsafeBufferPointer { src in
            block.weight.gradient.withUnsafeMutableBufferPointer { w in
                for i in 0..<m { (w.baseAddress! + i * k).update(from: src.baseAddress! + i * (k + 1), count: k) }
            }
            bias.gradient.withUnsafeMutableBufferPointer { b in for i in 0..<m { b[i] = src[i * (k + 1) + k] } }
        }
    }

    // MARK: Metrics and state

    /// The label-sampling RNG's state (checkpoints).
    var samplingState: [UInt64] { rng.state }
    /// Whether the solver must be refreshed at the next update regardless of `T_inv`.
    var refreshPending: Bool { needsRefresh }

    /// The core's state: the inner optimiser (`inner.…`) and the step counters.
    var coreTensors: [String: Matrix<Scalar>] { core.stateTensors() }
    var coreScalars: [String: String] { core.stateScalars() }
    func loadCore(tensors: [String: Matrix<Scalar>], scalars: [String: String], parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        try core.loadState(tensors: tensors, scalars: scalars, parameters: parameters)
    }

    /// Restores everything `KFAC+State` saves besides the core (inner optimiser, counters) and the solver.
    func restore(damping: Double, rng words: [UInt64], factors: [String: KroneckerFactors<Scalar>],
                 needsRefresh: Bool, counters: (Int, Int, Int)) throws {
        rng = try Xoshiro256StarStar(state: words)
        self.damping = damping
        emaFactors = factors
        staleUpperTriangles = []
        self.needsRefresh = needsRefresh
        (empiricalFallbacks, nonFiniteFactorUpdates, failedRefreshes) = counters
        factorsObservedAtStep = -1
    }

    public func takeWarnings() -> [String] { core.takeWarnings() }

    public var stepMetrics: [(name: String, value: Double)] {
        let s = solver.metrics
        return [("kfac_factor_seconds", lastStep.factorSeconds), ("kfac_inversion_seconds", lastStep.inversionSeconds),
                ("kfac_precondition_seconds", lastStep.preconditionSeconds),
                ("kfac_inner_update_seconds", lastStep.innerUpdateSeconds),
                ("kfac_damping", lastStep.damping), ("kfac_kl_scale", lastStep.klScale),
                ("kfac_reduction_ratio", lastStep.reductionRatio), ("kfac_skipped_steps", Double(skippedSteps)),
                ("kfac_failed_steps", Double(failedSteps)),
                ("kfac_cholesky_retries", Double(s.choleskyRetries)),
                ("kfac_double_fallbacks", Double(s.doublePrecisionFallbacks)),
                ("kfac_failed_refreshes", Double(failedRefreshes)),
                ("kfac_nonfinite_factor_updates", Double(nonFiniteFactorUpdates)),
                ("kfac_empirical_fallbacks", Double(empiricalFallbacks)),
                ("kfac_unpreconditioned_layer_steps", Double(unpreconditionedLayerSteps))]
            // Solver-specific cumulative figures (a device solver's analog time, energy, …), sorted by name.
            + s.extra.sorted { $0.key < $1.key }.map { ("solver_\($0.key)", $0.value) }
    }
}
