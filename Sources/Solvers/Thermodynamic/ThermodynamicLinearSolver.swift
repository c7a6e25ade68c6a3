import Curvature
import Linalg
import NeuralNet
import ThermoDevice

/// `(F + λI)⁻¹ b` read from the simulated TNGD device (`NaturalGradientDevice`, docs/tngd.md#device-dynamics): the
/// operator's arrays and `b` are programmed, the state relaxes for the analog time `t` and is read out
/// (`g̃ ≈ (F + λI)⁻¹ b` up to the finite time and the thermal noise). The device carries its own physical
/// state to the next solve (`ThermodynamicNaturalGradientConfiguration.InitialState`), so the caller's
/// `warmStart` is not used. Cost and device figures of each run are in `lastReadout` and `metrics`.
///
/// With `configuration.ensemble = K > 1` (docs/device.md#ensembles) `K` devices with their own seeds run the same
/// solve in parallel and the readouts are averaged: the cost is `DeviceCost.parallel` of theirs.
public final class ThermodynamicLinearSolver<Scalar: NeuralScalar>: LinearSolver {
    /// The device (the first member of an ensemble).
    public let device: NaturalGradientDevice<Scalar>
    /// Ensemble members beyond the first (empty without an ensemble).
    public let otherMembers: [NaturalGradientDevice<Scalar>]
    /// The last device run (nil before the first or after a failure).
    public private(set) var lastReadout: NaturalGradientReadout<Scalar>?
    /// Device cost summed over the solves so far.
    public private(set) var totalDeviceCost = DeviceCost()
    /// Seconds of the last solve's digital set-up (linearisation).
    public private(set) var lastLinearizationSeconds = 0.0

    public init(configuration: ThermodynamicNaturalGradientConfiguration) {
        device = NaturalGradientDevice(configuration: configuration)
        otherMembers = (1..<Swift.max(configuration.ensemble, 1)).map { k in
            NaturalGradientDevice(configuration: configuration.withSeed(configuration.device.seed ^ (UInt64(k) &* 0xD6E8_FEB8_6659_FD93)))
        }
    }

    /// Every member of the ensemble, the first one first.
    public var members: [NaturalGradientDevice<Scalar>] { [device] + otherMembers }

    public var configuration: ThermodynamicNaturalGradientConfiguration { device.configuration }
    public var name: String { "thermodynamic" }

    /// On several ranks (a sharded `f`, docs/multi-process.md#tngd-and-ngd-cg-on-several-ranks) every rank runs this same
    /// device with the same seed: Euler–Maruyama on an ideal device needs only products, which the sharded
    /// operator sums over the ranks; the exact integrator's eigenbasis and a non-ideal device's dense arrays
    /// pair examples of different ranks, so those runs take the whole batch (`wholeBatch()`).
    public func solve(_ sharded: GaussNewtonOperator<Scalar>, rhs: [Scalar], warmStart: [Scalar]?) throws(LinearSolverError) -> [Scalar] {
        lastReadout = nil
        let clock = ContinuousClock(), start = clock.now
        let c = configuration
        let f = sharded.shard != nil && (c.integrator == .exact || c.programsArrays) ? sharded.wholeBatch() : sharded
        try linearize(f)
        let d = clock.now - start
        lastLinearizationSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        var runs: [NaturalGradientReadout<Scalar>] = []
        do { for m in members { runs.append(try m.run(f, gradient: rhs)) } } catch { throw .device(detail: error.description) }
        let r = Self.average(runs)
        lastReadout = r
        totalDeviceCost = totalDeviceCost + r.cost
        return r.direction
    }

    /// Device time and its terms (s), resistors, transferred bits, integrator step (τ), λ_max bound, simulator
    /// seconds (linearisation included), relative programming errors of the arrays (largest of `J_f`, `J_fᵀ`,
    /// `H_L`) and of `∇ℓ` (0 on an ideal device), the rank of `F − λI` an exact run simulated (−1: Euler–Maruyama
    /// ran); NaN after a failed run.
    public var metrics: [(name: String, value: Double)] {
        let r = lastReadout
        return [("device_seconds", r?.cost.deviceSeconds ?? .nan),
                ("dac_seconds", r?.cost.dacTransferSeconds ?? .nan),
                ("programming_seconds", r?.cost.programmingSeconds ?? .nan),
                ("analog_seconds", r.map { $0.cost.equilibrationSeconds + $0.cost.samplingSeconds } ?? .nan),
                ("adc_seconds", r?.cost.adcReadoutSeconds ?? .nan),
                ("resistors", r.map { Double($0.resistors) } ?? .nan),
                ("transfer_bits", r.map { $0.bitsIn + $0.bitsOut } ?? .nan),
                ("integrator_step", r?.integratorStep ?? .nan),
                ("lambda_max_bound", r?.lambdaMaxBound ?? .nan),
                ("simulator_seconds", (r?.cost.wallSeconds ?? .nan) + lastLinearizationSeconds),
                ("array_error", r.map { Swift.max($0.programmingErrors.forward, $0.programmingErrors.transpose,
                                                   $0.programmingErrors.hessian) } ?? .nan),
                ("gradient_dac_error", r?.programmingErrors.gradient ?? .nan),
                ("exact_rank", r.map { $0.integrator == .exact ? Double($0.rank) : -1 } ?? .nan)]
    }

    /// The ensemble's readout: the members' directions averaged, their costs in parallel; the other fields are
    /// the first member's. One member is returned unchanged.
    static func average(_ runs: [NaturalGradientReadout<Scalar>]) -> NaturalGradientReadout<Scalar> {
        let first = runs[0]
        guard runs.count > 1 else { return first }
        var sum = [Double](repeating: 0, count: first.direction.count)
        for r in runs { for i in sum.indices { sum[i] += Double(r.direction[i]) } }
        let k = Double(runs.count)
        return NaturalGradientReadout(direction: sum.map { Scalar($0 / k) }, cost: DeviceCost.parallel(runs.map(\.cost)),
                                      resistors: first.resistors * runs.count, bitsIn: runs.map(\.bitsIn).reduce(0, +),
                                      bitsOut: runs.map(\.bitsOut).reduce(0, +), integratorStep: first.integratorStep,
                                      steps: first.steps, lambdaMaxBound: first.lambdaMaxBound,
                                      programmingErrors: first.programmingErrors, integrator: first.integrator,
                                      fallback: first.fallback, rank: first.rank)
    }

    /// The carried device state (`tngd.device_state`), the power-iteration vector (`tngd.power_vector`) and
    /// the run counter (`device_runs`, it mixes into the noise seed); ensemble member `k ≥ 1` adds `.k` to each key.
    public func exportState() -> (tensors: [String: Matrix<Scalar>], scalars: [String: String]) {
        var tensors: [String: Matrix<Scalar>] = [:], scalars: [String: String] = [:]
        for (k, m) in members.enumerated() {
            let suffix = k == 0 ? "" : ".\(k)"
            if let s = m.state { tensors["tngd.device_state" + suffix] = Matrix(column: s) }
            if let v = m.powerVector { tensors["tngd.power_vector" + suffix] = Matrix(column: v) }
            scalars["device_runs" + suffix] = String(m.runCount)
        }
        return (tensors, scalars)
    }

    public func importState(tensors: [String: Matrix<Scalar>], scalars: [String: String]) throws(LinearSolverError) {
        for (k, m) in members.enumerated() {
            let suffix = k == 0 ? "" : ".\(k)"
            guard let runs = scalars["device_runs" + suffix].flatMap(UInt64.init) else {
                throw .stateMismatch("TNGD device run counter\(k == 0 ? "" : " of ensemble member \(k)") missing")
            }
            m.restore(state: tensors["tngd.device_state" + suffix]?.storage, runs: runs,
                      powerVector: tensors["tngd.power_vector" + suffix]?.storage)
        }
    }
}
