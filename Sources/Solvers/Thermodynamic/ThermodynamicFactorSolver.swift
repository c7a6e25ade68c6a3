import Curvature
import Linalg
import NeuralNet
import ThermoDevice

/// Thermodynamic K-FAC (TK-FAC, docs/tkfac.md#the-idea): a `FactorSolver` whose factor work runs on simulated
/// thermodynamic devices — one per factor per layer, all in parallel — so that `KFAC` becomes TK-FAC without
/// a change to its logic.
///
/// - **Method 1** (`refresh`, every `T_inv` steps): program `A + λ_A I` and `G + λ_G I`, burn in, estimate
///   `Â⁻¹ = α β Ĉov(readouts)` and `Ĝ⁻¹` likewise (`ThermodynamicDevice.inverse`); `precondition` forms
///   `U = Ĝ⁻¹ ∇ Â⁻¹` digitally (two gemms, as the Cholesky solver).
/// - **Method 2** (`refresh` programs both damped factors; `precondition` every step): solve
///   `(G + λ_G I) X = ∇` with the `n_A` columns of `∇` as right-hand sides, then `(A + λ_A I) Uᵀ = Xᵀ` with
///   the `n_G` columns of `Xᵀ`, each from the device mean (`ThermodynamicDevice.solve(_:rightHandSides:…)`),
///   warm-started from the previous step's `X` and `U`.
///
/// Nothing is computed digitally that the device should answer: the inverses and solutions come from
/// simulated trajectories, with the configured noise, DAC/ADC quantisation and mismatch.
///
/// Metrics (`metrics.extra`, cumulative, also in `KFAC.stepMetrics` as `solver_<key>`): `device_seconds`
/// (critical path, see `DeviceCostLedger`), `device_seconds_serial`, the five device terms
/// (`device_dac_seconds`, `device_program_seconds`, `device_equilibrate_seconds`, `device_sample_seconds`,
/// `device_adc_seconds`), `device_energy_joules`, `device_wall_seconds` (simulator), `device_readouts`,
/// `device_values_sent` (DAC values), `device_errors`, `device_steps`, `device_last_step_seconds`,
/// `device_relative_error_bar` (mean statistical error bar of the last call); with a quantised DAC on the
/// factor feed also `device_dac_zeroed_fraction`, `device_dac_diagonal_shift` (mean) and
/// `device_dac_diagonal_shift_max` over the latest programming of every factor (see `DACStatistics`).
public final class ThermodynamicFactorSolver<Scalar: BLASScalar>: FactorSolver {
    public let configuration: ThermodynamicKFACConfiguration
    private var baseMetrics = FactorSolverMetrics()
    private var ledger = DeviceCostLedger()
    private var errors = 0
    private var valuesSent = 0
    private var lastErrorBar = 0.0
    /// The coupling DAC's effect on the latest programming of every factor (factor feed with a quantised DAC).
    private var dacStatistics: [String: DACStatistics] = [:]
    /// Diagnostics: digital K-FAC's inverses per layer (Cholesky of the same damped EMA factors) and the
    /// last relative error `‖U − U_K-FAC‖_F / ‖U_K-FAC‖_F` per layer. Never used for the update.
    private var referenceInverses: [String: (activation: Matrix<Scalar>, gradient: Matrix<Scalar>)] = [:]
    private var updateErrors: [String: Double] = [:]
    /// When true, every `precondition` also computes digital K-FAC's update from the same factors and damping
    /// and reports the relative difference as `update_relative_error` (mean over layers, last step). Costs a
    /// Cholesky inverse per factor per refresh and two gemms per step; off by default.
    public var measuresUpdateError = false

    /// A layer's two devices (their noise counters advance with every call).
    private struct Devices {
        var activation: ThermodynamicDevice<Scalar>
        var gradient: ThermodynamicDevice<Scalar>
    }
    /// What a refresh leaves for `precondition`.
    private struct LayerState {
        /// Method 1: the device inverses `Â⁻¹`, `Ĝ⁻¹`.
        var activationInverse: Matrix<Scalar>?
        var gradientInverse: Matrix<Scalar>?
        /// Method 2: the damped factors as handed over and as programmed.
        var activationDamped: Matrix<Scalar>?
        var gradientDamped: Matrix<Scalar>?
        var activationProgrammed: ProgrammedMatrix<Scalar>?
        var gradientProgrammed: ProgrammedMatrix<Scalar>?
        /// Method 2 warm starts: the previous `X` (`n_G × n_A`) and `Uᵀ` (`n_A × n_G`).
        var previousX: Matrix<Scalar>?
        var previousUTransposed: Matrix<Scalar>?
    }
    private var devices: [String: Devices] = [:]
    private var layers: [String: LayerState] = [:]
    /// Raw feed: per block name, the block's current (merged) capture, read at `refresh`.
    private let rawSources: [String: () -> KroneckerCapture<Scalar>?]

    /// A TK-FAC solver. For `configuration.feed == .raw`, `rawCaptures` gives each block's current capture
    /// by name (see the convenience initialiser taking `model.kroneckerBlocks`).
    public init(configuration: ThermodynamicKFACConfiguration,
                rawCaptures: [String: () -> KroneckerCapture<Scalar>?] = [:]) throws(KFACError) {
        try configuration.validate()
        if configuration.feed == .raw && rawCaptures.isEmpty {
            throw .invalidConfiguration(field: "tkfac.feed", value: "raw",
                                        requirement: "the raw feed reads the layers' captures: pass rawSources (model.kroneckerBlocks)")
        }
        self.configuration = configuration
        self.rawSources = rawCaptures
    }

    public var name: String { "thermo-\(configuration.method == .inversion ? "inversion" : "linear-systems")" }

    public var metrics: FactorSolverMetrics {
        var m = baseMetrics
        let s = ledger.serial
        m.extra = [
            "device_seconds": ledger.totalParallelSeconds, "device_seconds_serial": s.deviceSeconds,
            "device_dac_seconds": s.dacTransferSeconds, "device_program_seconds": s.programmingSeconds,
            "device_equilibrate_seconds": s.equilibrationSeconds, "device_sample_seconds": s.samplingSeconds,
            "device_adc_seconds": s.adcReadoutSeconds, "device_energy_joules": s.energyJoules,
            "device_wall_seconds": s.wallSeconds, "device_readouts": Double(s.readouts),
            "device_values_sent": Double(valuesSent), "device_errors": Double(errors),
            "device_steps": Double(ledger.closedSteps), "device_last_step_seconds": ledger.lastStepSeconds,
            "device_relative_error_bar": lastErrorBar,
        ]
        // The key set must not change during a run (the trainer's metrics CSV fixes its header at the first
        // row): keys that depend on the settings are always present, NaN until there is a value.
        if configuration.device.inputConverter.bits != nil && configuration.feed == .factors {
            // Why the DAC range matters (DeviceConfiguration.couplingDACRange): off-diagonals rounded to zero
            // and the conservative diagonal shift relative to the mean diagonal, over the latest factors.
            let d = Array(dacStatistics.values), k = Double(d.count)
            m.extra["device_dac_zeroed_fraction"] = d.isEmpty ? .nan : d.map(\.zeroedOffDiagonalFraction).reduce(0, +) / k
            m.extra["device_dac_diagonal_shift"] = d.isEmpty ? .nan : d.map(\.diagonalShiftOverMeanDiagonal).reduce(0, +) / k
            m.extra["device_dac_diagonal_shift_max"] = d.map(\.diagonalShiftOverMeanDiagonal).max() ?? .nan
        }
        if measuresUpdateError {
            m.extra["update_relative_error"] = updateErrors.isEmpty ? .nan
                : updateErrors.values.reduce(0, +) / Double(updateErrors.count)
        }
        return m
    }

    /// Device-time critical path of the last completed step (seconds).
    public var lastStepDeviceSeconds: Double { ledger.lastStepSeconds }

    // MARK: Devices

    /// The devices of `layer`: seeds from the configured device seed and a stable hash of the layer name,
    /// so each factor of each layer is its own physical device (own mismatch pattern).
    private func devicePair(_ layer: String) -> Devices {
        if let d = devices[layer] { return d }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in layer.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var rng = Xoshiro256StarStar(seed: configuration.device.seed ^ hash, stream: 0x544B_4641)
        let base = configuration.device
        let pair = Devices(activation: ThermodynamicDevice(configuration: base.withSeed(rng.next())),
                           gradient: ThermodynamicDevice(configuration: base.withSeed(rng.next())))
        devices[layer] = pair
        return pair
    }

    /// Programs a damped factor on `device`. With the raw feed the couplings are already the quantised
    /// arrays' Gram matrix, so the DAC is bypassed for the couplings (mismatch still applies) and the
    /// raw-array transfer cost replaces the coupling transfer cost.
    private func program(_ m: Matrix<Scalar>, on device: ThermodynamicDevice<Scalar>, layer: String, factor: String,
                         rawValues: Int?) throws(KFACError) -> (ProgrammedMatrix<Scalar>, DeviceCost) {
        do {
            guard let values = rawValues else {
                let p = try device.program(m)
                valuesSent += m.rows * (m.rows + 1) / 2
                if let d = p.dacStatistics { dacStatistics["\(layer) \(factor)"] = d }
                return (p, p.programmingCost)
            }
            let c = device.configuration
            let bypass = try DeviceConfiguration(
                maximumSize: c.maximumSize, couplingRange: c.couplingRange, spectralBound: c.spectralBound, beta: c.beta,
                timeStep: c.timeStep, integrator: c.integrator, dynamics: c.dynamics, inputConverter: .ideal,
                matrixQuantization: c.matrixQuantization, outputConverter: c.outputConverter, mismatch: c.mismatch,
                tau: c.tau, transferRate: c.transferRate, costModel: c.costModel, chains: c.chains,
                noiseStreams: c.noiseStreams, errorBarGroups: c.errorBarGroups,
                burnInRelaxationTimes: c.burnInRelaxationTimes, seed: c.seed)
            let p = try ThermodynamicDevice<Scalar>(configuration: bypass).program(m)
            valuesSent += values + m.rows
            return (p, RawFactorFeed.programmingCost(values: values, order: m.rows, device: c))
        } catch {
            errors += 1
            throw .device(layer: layer, operation: "programming \(factor)", error: error)
        }
    }

    /// The damped factors to program: `F + λI` from the EMA factors, or from the layer's raw arrays.
    private func dampedFactors(layer: String, factors: KroneckerFactors<Scalar>, damping: FactorDamping<Scalar>)
        throws(KFACError) -> (activation: Matrix<Scalar>, gradient: Matrix<Scalar>, raw: (Int, Int)?) {
        switch configuration.feed {
        case .factors:
            var a = factors.activation, g = factors.gradient
            a.addDiagonal(damping.activation)
            g.addDiagonal(damping.gradient)
            return (a, g, nil)
        case .raw:
            guard let source = rawSources[layer], let capture = source() else {
                throw .layerNotRefreshed(layer: layer, solver: "\(name) (raw feed: no capture of this layer; turn capture on)")
            }
            let r = RawFactorFeed.dampedFactors(capture, damping: damping, converter: configuration.device.inputConverter,
                                                seed: configuration.device.seed)
            return (r.activation, r.gradient, (r.activationValues, r.gradientValues))
        }
    }

    // MARK: FactorSolver

    public func refresh(layer: String, factors: KroneckerFactors<Scalar>, damping: FactorDamping<Scalar>) throws(KFACError) {
        ledger.begin(layer: layer, precondition: false)
        if measuresUpdateError {
            referenceInverses[layer] = try? (DampedFactorInverse.cholesky(factors.activation, damping: damping.activation,
                                                                           retry: CholeskyRetryPolicy()).inverse,
                                             DampedFactorInverse.cholesky(factors.gradient, damping: damping.gradient,
                                                                           retry: CholeskyRetryPolicy()).inverse)
        }
        let (_, seconds) = try measureSeconds { () throws(KFACError) in
            let damped = try dampedFactors(layer: layer, factors: factors, damping: damping)
            var pair = devicePair(layer)
            defer { devices[layer] = pair }
            let (pa, costA) = try program(damped.activation, on: pair.activation, layer: layer, factor: "A + λ_A I",
                                          rawValues: damped.raw?.0)
            let (pg, costG) = try program(damped.gradient, on: pair.gradient, layer: layer, factor: "G + λ_G I",
                                          rawValues: damped.raw?.1)
            var state = layers[layer] ?? LayerState()
            switch configuration.method {
            case .inversion:
                let ia = try invert(pa, on: &pair.activation, layer: layer, factor: "A + λ_A I")
                let ig = try invert(pg, on: &pair.gradient, layer: layer, factor: "G + λ_G I")
                let a = costA + ia.cost, g = costG + ig.cost
                ledger.add(layer: layer, criticalPath: Swift.max(a.deviceSeconds, g.deviceSeconds), serial: a + g)
                lastErrorBar = 0.5 * (ia.relativeErrorBar + ig.relativeErrorBar)
                state.activationInverse = Self.symmetrized(ia.estimate)
                state.gradientInverse = Self.symmetrized(ig.estimate)
            case .linearSystems:
                ledger.add(layer: layer, criticalPath: Swift.max(costA.deviceSeconds, costG.deviceSeconds), serial: costA + costG)
                state.activationDamped = damped.activation
                state.gradientDamped = damped.gradient
                state.activationProgrammed = pa
                state.gradientProgrammed = pg
            }
            layers[layer] = state
        }
        baseMetrics.refreshes += 1
        baseMetrics.refreshSeconds += seconds
    }

    /// Method 1 on one programmed factor: `β α Ĉov` from `c.samples(order:relaxationTime:)` readouts (a fixed
    /// count, or derived from the target error and the factor's order: docs/device.md#how-many-samples).
    private func invert(_ p: ProgrammedMatrix<Scalar>, on device: inout ThermodynamicDevice<Scalar>, layer: String,
                        factor: String) throws(KFACError) -> MatrixEstimate<Scalar> {
        let c = configuration
        do {
            return try device.inverse(p, samples: c.samples(order: p.size, relaxationTime: p.relaxationTime),
                                      sampleInterval: c.sampleSpacing.inTau(relaxationTime: p.relaxationTime),
                                      burnIn: c.burnIn.inTau(relaxationTime: p.relaxationTime))
        } catch {
            errors += 1
            throw .device(layer: layer, operation: "inversion of \(factor)", error: error)
        }
    }

    /// `(M + Mᵀ)/2`: the covariance accumulator's round-off asymmetry removed.
    private static func symmetrized(_ m: Matrix<Scalar>) -> Matrix<Scalar> {
        var s = m
        s.axpy(1, m.transposed())
        s.scale(by: 0.5)
        return s
    }

    public func precondition(layer: String, gradient: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar> {
        guard var state = layers[layer] else { throw .layerNotRefreshed(layer: layer, solver: name) }
        ledger.begin(layer: layer, precondition: true)
        let (u, seconds) = try measureSeconds { () throws(KFACError) -> Matrix<Scalar> in
            switch configuration.method {
            case .inversion:
                guard let ia = state.activationInverse, let ig = state.gradientInverse else {
                    throw .layerNotRefreshed(layer: layer, solver: name)
                }
                guard gradient.rows == ig.rows, gradient.columns == ia.rows else {
                    throw .shapeMismatch(layer: layer, detail: "gradient \(gradient.rows)×\(gradient.columns), "
                                            + "factors G \(ig.rows)², A \(ia.rows)²")
                }
                return sandwich(ig, gradient, ia)
            case .linearSystems:
                return try solveLinearSystems(layer: layer, gradient: gradient, state: &state)
            }
        }
        layers[layer] = state
        baseMetrics.preconditionSeconds += seconds
        if measuresUpdateError, let r = referenceInverses[layer] {
            let reference = sandwich(r.gradient, gradient, r.activation)
            updateErrors[layer] = Double((u - reference).frobeniusNorm / Swift.max(reference.frobeniusNorm, Scalar.leastNormalMagnitude))
        }
        return u
    }

    /// Method 2: `(G + λ_G I) X = ∇`, then `(A + λ_A I) Uᵀ = Xᵀ`, warm-started; returns `U`.
    private func solveLinearSystems(layer: String, gradient: Matrix<Scalar>, state: inout LayerState) throws(KFACError) -> Matrix<Scalar> {
        guard let pa = state.activationProgrammed, let pg = state.gradientProgrammed else {
            throw .layerNotRefreshed(layer: layer, solver: name)
        }
        guard gradient.rows == pg.size, gradient.columns == pa.size else {
            throw .shapeMismatch(layer: layer, detail: "gradient \(gradient.rows)×\(gradient.columns), "
                                    + "factors G \(pg.size)², A \(pa.size)²")
        }
        var pair = devicePair(layer)
        defer { devices[layer] = pair }
        let c = configuration
        func solve(_ p: ProgrammedMatrix<Scalar>, _ rhs: Matrix<Scalar>, warm: Matrix<Scalar>?,
                   device: inout ThermodynamicDevice<Scalar>, what: String) throws(KFACError) -> BatchedSolveResult<Scalar> {
            let useWarm = c.warmStart ? warm.flatMap { $0.rows == rhs.rows && $0.columns == rhs.columns ? $0 : nil } : nil
            let time = c.analogTime.inTau(relaxationTime: p.relaxationTime)
            let burn = (useWarm == nil ? c.burnIn : c.warmStartBurnIn).inTau(relaxationTime: p.relaxationTime)
            do {
                return try device.solve(p, rightHandSides: rhs, time: time,
                                        sampleInterval: time / Double(c.readoutsPerRightHandSide),
                                        burnIn: burn, warmStart: useWarm, chainsPerRightHandSide: c.chainsPerRightHandSide)
            } catch {
                errors += 1
                throw .device(layer: layer, operation: what, error: error)
            }
        }
        let x = try solve(pg, gradient, warm: state.previousX, device: &pair.gradient, what: "solve (G + λ_G I) X = ∇")
        let ut = try solve(pa, x.solutions.transposed(), warm: state.previousUTransposed, device: &pair.activation,
                           what: "solve (A + λ_A I) Uᵀ = Xᵀ")
        state.previousX = x.solutions
        state.previousUTransposed = ut.solutions
        // The two solves depend on each other: their device times add up on this layer's critical path.
        ledger.add(layer: layer, criticalPath: x.cost.deviceSeconds + ut.cost.deviceSeconds, serial: x.cost + ut.cost)
        valuesSent += gradient.count * 2
        lastErrorBar = 0.5 * (x.relativeErrorBar + ut.relativeErrorBar)
        return ut.solutions.transposed()
    }

    // MARK: State

    /// Method 1: the device inverses. Method 2: the damped factors (re-programmed on import: programming
    /// is deterministic for a device seed) and the warm starts. Both: each device's call counter (noise seeds).
    public func exportState() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (layer, s) in layers {
            if let m = s.activationInverse { out["\(layer).activation_inverse"] = m }
            if let m = s.gradientInverse { out["\(layer).gradient_inverse"] = m }
            if let m = s.activationDamped { out["\(layer).activation_damped"] = m }
            if let m = s.gradientDamped { out["\(layer).gradient_damped"] = m }
            if let m = s.previousX { out["\(layer).warm_x"] = m }
            if let m = s.previousUTransposed { out["\(layer).warm_ut"] = m }
        }
        for (layer, d) in devices {
            // Call counters as (low 20 bits, the rest) per device: each word exact in Float (< 2^24) up to 2^44 calls.
            func words(_ c: UInt64) -> [Scalar] { [Scalar(Double(c & 0xF_FFFF)), Scalar(Double(c >> 20))] }
            out["\(layer).device_calls"] = Matrix(rows: 1, columns: 4, storage: words(d.activation.calls) + words(d.gradient.calls))
        }
        // Cumulative device accounting, so that a resumed run's metrics continue the interrupted run's
        // (modelled device terms only: the simulator's wall time is this process's, not the device's).
        let s = ledger.serial
        out["device_ledger"] = Matrix(rows: 1, columns: 11, storage: [
            ledger.totalParallelSeconds, Double(ledger.closedSteps + (ledger.hasOpenStep ? 1 : 0)), s.dacTransferSeconds,
            s.programmingSeconds, s.equilibrationSeconds, s.samplingSeconds, s.adcReadoutSeconds, s.energyJoules,
            Double(s.readouts), Double(valuesSent), Double(errors),
        ].map { Scalar($0) })
        return out
    }

    public func importState(_ state: [String: Matrix<Scalar>]) throws(KFACError) {
        var restored: [String: LayerState] = [:]
        var names = Set<String>()
        let savedLedger = state["device_ledger"]
        for key in state.keys {
            for suffix in [".activation_inverse", ".activation_damped", ".device_calls"] where key.hasSuffix(suffix) {
                names.insert(String(key.dropLast(suffix.count)))
            }
        }
        devices = [:]
        for layer in names {
            var s = LayerState()
            s.activationInverse = state["\(layer).activation_inverse"]
            s.gradientInverse = state["\(layer).gradient_inverse"]
            s.activationDamped = state["\(layer).activation_damped"]
            s.gradientDamped = state["\(layer).gradient_damped"]
            s.previousX = state["\(layer).warm_x"]
            s.previousUTransposed = state["\(layer).warm_ut"]
            var pair = devicePair(layer)
            if let calls = state["\(layer).device_calls"] {
                // (low 20 bits, rest) per device; an older checkpoint stored one exact count per device.
                let w = calls.storage.map { UInt64(Double($0)) }
                guard w.count == 4 || w.count == 2 else {
                    throw .stateMismatch(key: "\(layer).device_calls", detail: "expected 4 (or 2) device call counts, found \(w.count)")
                }
                let (a, g) = w.count == 4 ? (w[0] | w[1] << 20, w[2] | w[3] << 20) : (w[0], w[1])
                pair.activation = ThermodynamicDevice(configuration: pair.activation.configuration, calls: a)
                pair.gradient = ThermodynamicDevice(configuration: pair.gradient.configuration, calls: g)
                devices[layer] = pair
            }
            if configuration.method == .linearSystems {
                // Raw feed: the saved couplings are the quantised arrays' Gram matrix; do not quantise again.
                let bypass: Int? = configuration.feed == .raw ? 0 : nil
                guard let a = s.activationDamped, let g = s.gradientDamped else {
                    if s.activationInverse == nil { continue }
                    throw .stateMismatch(key: layer, detail: "damped factors missing from the saved \(name) state")
                }
                s.activationProgrammed = try program(a, on: pair.activation, layer: layer, factor: "A + λ_A I", rawValues: bypass).0
                s.gradientProgrammed = try program(g, on: pair.gradient, layer: layer, factor: "G + λ_G I", rawValues: bypass).0
            }
            restored[layer] = s
        }
        layers = restored
        // After the re-programming above (which counts values and costs again): the saved totals win.
        if let l = savedLedger?.storage.map({ Double($0) }), l.count == 11 {
            var serial = DeviceCost()
            serial.dacTransferSeconds = l[2]; serial.programmingSeconds = l[3]; serial.equilibrationSeconds = l[4]
            serial.samplingSeconds = l[5]; serial.adcReadoutSeconds = l[6]; serial.energyJoules = l[7]
            serial.readouts = Int(l[8])
            ledger = DeviceCostLedger(restoring: l[0], closedSteps: Int(l[1]), serial: serial)
            valuesSent = Int(l[9])
            errors = Int(l[10])
        }
    }

}
