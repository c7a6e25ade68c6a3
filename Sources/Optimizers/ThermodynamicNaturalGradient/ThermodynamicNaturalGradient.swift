import Curvature
import Foundation
import Linalg
import NeuralNet
import Solvers
import ThermoDevice

/// Thermodynamic natural gradient descent (TNGD, docs/tngd.md#device-dynamics): each step the simulated device
/// (`NaturalGradientDevice`) turns the batch gradient `∇ℓ` into `g̃ ≈ (F + λI)⁻¹∇ℓ`, which is handed to a
/// first-order optimiser as the gradient:
/// - `tngd`: plain SGD, `θ ← θ − η g̃` (optionally with momentum);
/// - `tngd-adam`: Adam on `g̃` (the paper: β₁ = β₂ = 0).
///
/// `t = 0` with `InitialState.gradient` passes `∇ℓ` through unchanged, so the step is exactly the inner
/// optimiser's (bit for bit); `t → ∞` approaches natural-gradient descent on the damped GGN.
/// Needs `observeCurvature` before every `update` (without it the plain gradient is used and
/// `missingCurvature` counts the step), like `NaturalGradientDescent`.
public final class ThermodynamicNaturalGradient<Scalar: NeuralScalar>: CurvatureOptimizer {
    public let configuration: ThermodynamicNaturalGradientConfiguration
    public let inner: any Optimizer<Scalar>
    public let device: NaturalGradientDevice<Scalar>
    public private(set) var step = 0
    public private(set) var skippedSteps = 0
    public private(set) var missingCurvature = 0
    /// Steps whose device run failed (diverged, unsupported layer, unprogrammable array): the step was not
    /// taken and `update` returned `.failed` (a training loop stops there).
    public private(set) var failedRuns = 0
    /// The last device run (nil before the first or after a failure).
    public private(set) var lastReadout: NaturalGradientReadout<Scalar>?
    /// Device cost summed over the run so far.
    public private(set) var totalDeviceCost = DeviceCost()
    /// Seconds of the last step's digital set-up (linearisation) and of the whole device simulation.
    public private(set) var lastLinearizationSeconds = 0.0
    /// The error of the last failed run, for the log.
    public private(set) var lastError: ThermodynamicNaturalGradientError?
    private var batch: CurvatureBatch<Scalar>?

    public init(inner: any Optimizer<Scalar>, configuration: ThermodynamicNaturalGradientConfiguration) {
        self.inner = inner
        self.configuration = configuration
        self.device = NaturalGradientDevice(configuration: configuration)
    }

    public var schedule: LearningRateSchedule { inner.schedule }
    public var currentLearningRate: Double { inner.currentLearningRate }
    public var summary: String { "\(configuration), wrapping \(inner.summary)" }

    public func observeCurvature(_ batch: CurvatureBatch<Scalar>) { self.batch = batch }

    /// `g̃` for gradient `g` (flat) on `batch`: linearise, build `F`, run the device.
    /// Overwrites the parameter gradients (the VJPs run the model's backward).
    public func direction(for g: [Scalar], batch: CurvatureBatch<Scalar>) throws(ThermodynamicNaturalGradientError)
        -> NaturalGradientReadout<Scalar> {
        let clock = ContinuousClock(), start = clock.now
        let linearization: LinearizedModel<Scalar>
        do { linearization = try LinearizedModel(batch.model, input: batch.input) } catch {
            switch error { case let .unsupportedLayer(summary): throw .unsupportedLayer(summary: summary) }
        }
        // Mean loss: F = JᵀHJ/b + λ, ∇ℓ as given; summed loss: b times the data term and the gradient.
        let scale = Scalar(configuration.lossNormalization == .sum ? linearization.examples : 1)
        let f = GaussNewtonOperator(linearization: linearization, curvature: batch.curvature,
                                    damping: Scalar(configuration.damping), dataScale: scale)
        let d = clock.now - start
        lastLinearizationSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        return try device.run(f, gradient: scale == 1 ? g : g.map { $0 * scale })
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
            do {
                let r = try direction(for: g, batch: batch)
                lastReadout = r
                totalDeviceCost = totalDeviceCost + r.cost
                setFlatGradient(r.direction, into: parameters)
            } catch {
                // No silent fallback to the plain gradient: that would be an SGD/Adam step reported as TNGD
                // (the same policy as NGD's failed solves). Nothing is updated; the caller stops the run.
                lastReadout = nil
                lastError = error
                failedRuns += 1
                return .failed(reason: "TNGD step \(step + 1): the device run failed: \(error)")
            }
        } else {
            missingCurvature += 1
        }
        let outcome = inner.update(parameters)
        if outcome == .applied { step += 1 } else { skippedSteps += 1 }
        return outcome
    }

    /// Per-step figures for the metrics CSV: device time and its terms (s), resistors, transferred bits,
    /// integrator step (τ), λ_max bound, simulator seconds, relative programming errors of the arrays (largest
    /// of `J_f`, `J_fᵀ`, `H_L`) and of `∇ℓ` (0 on an ideal device), the rank of `F − λI` an exact run simulated
    /// (−1: Euler–Maruyama ran), failures.
    public var stepMetrics: [(name: String, value: Double)] {
        let r = lastReadout
        return [("tngd_device_seconds", r?.cost.deviceSeconds ?? .nan),
                ("tngd_dac_seconds", r?.cost.dacTransferSeconds ?? .nan),
                ("tngd_programming_seconds", r?.cost.programmingSeconds ?? .nan),
                ("tngd_analog_seconds", r.map { $0.cost.equilibrationSeconds + $0.cost.samplingSeconds } ?? .nan),
                ("tngd_adc_seconds", r?.cost.adcReadoutSeconds ?? .nan),
                ("tngd_resistors", r.map { Double($0.resistors) } ?? .nan),
                ("tngd_transfer_bits", r.map { $0.bitsIn + $0.bitsOut } ?? .nan),
                ("tngd_integrator_step", r?.integratorStep ?? .nan),
                ("tngd_lambda_max_bound", r?.lambdaMaxBound ?? .nan),
                ("tngd_simulator_seconds", (r?.cost.wallSeconds ?? .nan) + lastLinearizationSeconds),
                ("tngd_array_error", r.map { Swift.max($0.programmingErrors.forward, $0.programmingErrors.transpose,
                                                        $0.programmingErrors.hessian) } ?? .nan),
                ("tngd_gradient_dac_error", r?.programmingErrors.gradient ?? .nan),
                ("tngd_exact_rank", r.map { $0.integrator == .exact ? Double($0.rank) : -1 } ?? .nan),
                ("tngd_failed_runs", Double(failedRuns))]
    }

    public func stateTensors() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (k, v) in inner.stateTensors() { out["inner.\(k)"] = v }
        if let s = device.state { out["tngd.device_state"] = Matrix(column: s) }
        if let v = device.powerVector { out["tngd.power_vector"] = Matrix(column: v) }
        return out
    }

    public func stateScalars() -> [String: String] {
        var out = ["step": String(step), "skipped_steps": String(skippedSteps), "device_runs": String(device.runCount)]
        for (k, v) in inner.stateScalars() { out["inner.\(k)"] = v }
        return out
    }

    public func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                          parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        guard let s = scalars["step"].flatMap(Int.init), let k = scalars["skipped_steps"].flatMap(Int.init),
              let runs = scalars["device_runs"].flatMap(UInt64.init) else {
            throw .stateMismatch("TNGD step counters missing")
        }
        try inner.loadState(
            tensors: Dictionary(uniqueKeysWithValues: tensors.compactMap { $0.hasPrefix("inner.") ? (String($0.dropFirst(6)), $1) : nil }),
            scalars: Dictionary(uniqueKeysWithValues: scalars.compactMap { $0.hasPrefix("inner.") ? (String($0.dropFirst(6)), $1) : nil }),
            parameters: parameters)
        step = s
        skippedSteps = k
        device.restore(state: tensors["tngd.device_state"]?.storage, runs: runs,
                       powerVector: tensors["tngd.power_vector"]?.storage)
    }
}
