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
    var baseMetrics = FactorSolverMetrics()
    var ledger = DeviceCostLedger()
    var errors = 0
    var valuesSent = 0
    var lastErrorBar = 0.0
    /// The coupling DAC's effect on the latest programming of every factor (factor feed with a quantised DAC).
    var dacStatistics: [String: DACStatistics] = [:]
    /// Diagnostics: digital K-FAC's inverses per layer (Cholesky of the same damped EMA factors) and the
    /// last relative error `‖U − U_K-FAC‖_F / ‖U_K-FAC‖_F` per layer. Never used for the update.
    private var referenceInverses: [String: (activation: Matrix<Scalar>, gradient: Matrix<Scalar>)] = [:]
    private var updateErrors: [String: Double] = [:]
    /// When true, every `precondition` also computes digital K-FAC's update from the same factors and damping
    /// and reports the relative difference as `update_relative_error` (mean over layers, last step). Costs a
    /// Cholesky inverse per factor per refresh and two gemms per step; off by default.
    public var measuresUpdateError = false

    /// A layer's devices, `configuration.ensemble` per factor (their noise counters advance with every call).
    struct Devices {
        var activation: [ThermodynamicDevice<Scalar>]
        var gradient: [ThermodynamicDevice<Scalar>]
    }
    /// What a refresh leaves for `precondition`.
    struct LayerState {
        /// Method 1: the device inverses `Â⁻¹`, `Ĝ⁻¹`.
        var activationInverse: Matrix<Scalar>?
        var gradientInverse: Matrix<Scalar>?
        /// Method 2: the damped factors as handed over and as programmed (one per ensemble member).
        var activationDamped: Matrix<Scalar>?
        var gradientDamped: Matrix<Scalar>?
        var activationProgrammed: [ProgrammedMatrix<Scalar>]?
        var gradientProgrammed: [ProgrammedMatrix<Scalar>]?
        /// Method 2 with `configuration.equilibrate`: the scales the programmed factors were equilibrated with.
        var activationScales: DiagonalEquilibration<Scalar>?
        var gradientScales: DiagonalEquilibration<Scalar>?
        /// Method 2 warm starts, as the solves' rows: the previous `Xᵀ` (`n_A × n_G`) and `U` (`n_G × n_A`).
        var previousXRows: Matrix<Scalar>?
        var previousURows: Matrix<Scalar>?
    }
    var devices: [String: Devices] = [:]
    var layers: [String: LayerState] = [:]
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
    /// so each factor of each layer is its own physical device (own mismatch pattern). Ensemble members
    /// beyond the first take the next seeds of the same stream (member 0 is the single device's).
    func devicePair(_ layer: String) -> Devices {
        if let d = devices[layer] { return d }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in layer.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var rng = Xoshiro256StarStar(seed: configuration.device.seed ^ hash, stream: 0x544B_4641)
        let base = configuration.device
        var pair = Devices(activation: [ThermodynamicDevice(configuration: base.withSeed(rng.next()))],
                           gradient: [ThermodynamicDevice(configuration: base.withSeed(rng.next()))])
        for _ in 1..<configuration.ensemble {
            pair.activation.append(ThermodynamicDevice(configuration: base.withSeed(rng.next())))
            pair.gradient.append(ThermodynamicDevice(configuration: base.withSeed(rng.next())))
        }
        devices[layer] = pair
        return pair
    }

    /// The equilibration of a damped factor when `configuration.equilibrate` is on (docs/device.md#equilibrated-programming).
    func equilibration(of m: Matrix<Scalar>) -> DiagonalEquilibration<Scalar>? {
        configuration.equilibrate ? DiagonalEquilibration(diagonalOf: m) : nil
    }

    /// Programs `m` on every member of an ensemble: the programmed matrices and the members' costs.
    func programAll(_ m: Matrix<Scalar>, on members: [ThermodynamicDevice<Scalar>], layer: String, factor: String,
                    rawValues: Int?) throws(KFACError) -> (programmed: [ProgrammedMatrix<Scalar>], costs: [DeviceCost]) {
        var ps: [ProgrammedMatrix<Scalar>] = [], cs: [DeviceCost] = []
        for d in members {
            let (p, c) = try program(m, on: d, layer: layer, factor: factor, rawValues: rawValues)
            ps.append(p); cs.append(c)
        }
        return (ps, cs)
    }

    /// The ensemble average `(1/K) Σ_k M_k` (docs/device.md#ensembles); one member is returned unchanged.
    static func average(_ ms: [Matrix<Scalar>]) -> Matrix<Scalar> {
        guard ms.count > 1 else { return ms[0] }
        var sum = ms[0]
        for m in ms.dropFirst() { sum.axpy(1, m) }
        sum.scale(by: Scalar(1 / Double(ms.count)))
        return sum
    }

    /// Programs a damped factor on `device`. With the raw feed the couplings are already the quantised
    /// arrays' Gram matrix, so the DAC is bypassed for the couplings (mismatch still applies) and the
    /// raw-array transfer cost replaces the coupling transfer cost.
    func program(_ m: Matrix<Scalar>, on device: ThermodynamicDevice<Scalar>, layer: String, factor: String,
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
            let ea = equilibration(of: damped.activation), eg = equilibration(of: damped.gradient)
            let (pa, costA) = try programAll(ea?.congruence(damped.activation) ?? damped.activation, on: pair.activation,
                                             layer: layer, factor: "A + λ_A I", rawValues: damped.raw?.0)
            let (pg, costG) = try programAll(eg?.congruence(damped.gradient) ?? damped.gradient, on: pair.gradient,
                                             layer: layer, factor: "G + λ_G I", rawValues: damped.raw?.1)
            var state = layers[layer] ?? LayerState()
            // Every member of an ensemble is its own device, all running in parallel: the critical path is the
            // slowest member's, the serial time and energy add up.
            var criticalPath = 0.0, serial = DeviceCost()
            switch configuration.method {
            case .inversion:
                var ia: [Matrix<Scalar>] = [], ig: [Matrix<Scalar>] = [], bar = 0.0
                for k in pa.indices {
                    let a = try invert(pa[k], on: &pair.activation[k], layer: layer, factor: "A + λ_A I")
                    let g = try invert(pg[k], on: &pair.gradient[k], layer: layer, factor: "G + λ_G I")
                    let ca = costA[k] + a.cost, cg = costG[k] + g.cost
                    criticalPath = Swift.max(criticalPath, ca.deviceSeconds, cg.deviceSeconds)
                    serial = serial + ca + cg
                    bar += 0.5 * (a.relativeErrorBar + g.relativeErrorBar)
                    ia.append(ea?.congruence(a.estimate) ?? a.estimate); ig.append(eg?.congruence(g.estimate) ?? g.estimate)
                }
                ledger.add(layer: layer, criticalPath: criticalPath, serial: serial)
                // Independent members: the statistical error bar of the average shrinks by √K.
                lastErrorBar = bar / Double(pa.count) / Double(pa.count).squareRoot()
                state.activationInverse = Self.symmetrized(Self.average(ia))
                state.gradientInverse = Self.symmetrized(Self.average(ig))
            case .linearSystems:
                for k in pa.indices {
                    criticalPath = Swift.max(criticalPath, costA[k].deviceSeconds, costG[k].deviceSeconds)
                    serial = serial + costA[k] + costG[k]
                }
                ledger.add(layer: layer, criticalPath: criticalPath, serial: serial)
                state.activationDamped = damped.activation
                state.gradientDamped = damped.gradient
                state.activationProgrammed = pa
                state.gradientProgrammed = pg
                state.activationScales = ea
                state.gradientScales = eg
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
        guard gradient.rows == pg[0].size, gradient.columns == pa[0].size else {
            throw .shapeMismatch(layer: layer, detail: "gradient \(gradient.rows)×\(gradient.columns), "
                                    + "factors G \(pg[0].size)², A \(pa[0].size)²")
        }
        var pair = devicePair(layer)
        defer { devices[layer] = pair }
        let c = configuration
        /// Solves on every member (each warm-started from the previous ensemble average) and averages:
        /// (average, critical path = slowest member, serial cost, mean error bar / √K).
        /// With equilibration the device solves `(S M S) y = S b` and `x = S y`; warm starts are kept as `x`.
        func solve(_ ps: [ProgrammedMatrix<Scalar>], _ original: Matrix<Scalar>, warm: Matrix<Scalar>?,
                   scales: DiagonalEquilibration<Scalar>?,
                   members: inout [ThermodynamicDevice<Scalar>], what: String) throws(KFACError)
            -> (solutions: Matrix<Scalar>, seconds: Double, cost: DeviceCost, bar: Double) {
            let rhs = scales?.scaledRows(original) ?? original
            let useWarm = c.warmStart ? warm.flatMap { $0.rows == rhs.rows && $0.columns == rhs.columns
                ? (scales?.unscaledRows($0) ?? $0) : nil } : nil
            var xs: [Matrix<Scalar>] = [], seconds = 0.0, cost = DeviceCost(), bar = 0.0
            for k in ps.indices {
                let p = ps[k]
                let time = c.analogTime.inTau(relaxationTime: p.relaxationTime)
                let burn = (useWarm == nil ? c.burnIn : c.warmStartBurnIn).inTau(relaxationTime: p.relaxationTime)
                do {
                    let r = try members[k].solve(p, rightHandSideRows: rhs, time: time,
                                                 sampleInterval: time / Double(c.readoutsPerRightHandSide),
                                                 burnIn: burn, warmStartRows: useWarm, chainsPerRightHandSide: c.chainsPerRightHandSide,
                                                 adcCalibration: c.adcCalibration)
                    xs.append(r.solutions)
                    seconds = Swift.max(seconds, r.cost.deviceSeconds)
                    cost = cost + r.cost
                    bar += r.relativeErrorBar
                } catch {
                    errors += 1
                    throw .device(layer: layer, operation: what, error: error)
                }
            }
            let k = Double(ps.count), mean = Self.average(xs)
            return (scales?.scaledRows(mean) ?? mean, seconds, cost, bar / k / k.squareRoot())
        }
        // The solves take and return right-hand sides as rows: the columns of ∇ are the rows of ∇ᵀ, the solutions
        // come back as Xᵀ (n_A × n_G); the columns of Xᵀ are the rows of X, and the second solve returns U itself.
        let x = try solve(pg, gradient.transposed(), warm: state.previousXRows, scales: state.gradientScales, members: &pair.gradient,
                          what: "solve (G + λ_G I) X = ∇")
        let u = try solve(pa, x.solutions.transposed(), warm: state.previousURows, scales: state.activationScales, members: &pair.activation,
                          what: "solve (A + λ_A I) Uᵀ = Xᵀ")
        state.previousXRows = x.solutions
        state.previousURows = u.solutions
        // The two solves depend on each other: their device times add up on this layer's critical path.
        ledger.add(layer: layer, criticalPath: x.seconds + u.seconds, serial: x.cost + u.cost)
        valuesSent += gradient.count * 2
        lastErrorBar = 0.5 * (x.bar + u.bar)
        return u.solutions
    }
}
