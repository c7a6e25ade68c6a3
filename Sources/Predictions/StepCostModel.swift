import Curvature
import Solvers

/// How K-FAC is run, as far as cost is concerned (docs/kfac.md#ema-and-update-intervals).
public struct KFACSchedule: Sendable, Equatable, Codable {
    /// Factors are rebuilt every `factorInterval` steps (T_cov).
    public var factorInterval: Int = 1
    /// Inverses (Method 1: device covariances; Method 2: reprogramming) every `inverseInterval` steps (T_inv).
    public var inverseInterval: Int = 10
    /// True Fisher: one extra backward with labels sampled from the model (input gradients only).
    public var trueFisher: Bool = true
    /// How TK-FAC feeds the device: explicit EMA factors (`n²` values) or raw activations/gradients
    /// (`b·positions·n` values whose outer products the resistor arrays realise; no EMA).
    public var feed: ThermodynamicKFACConfiguration.Feed = .factors
    /// Conjugate-gradient iterations per NGD-CG step.
    public var cgIterations: Int = 10
    /// TNGD analog time per step `t`, in τ (the paper: 50τ on MNIST).
    public var tngdAnalogTime: Double = 50
    /// For layers applied at several positions: K-FAC-expand (every position an example: factors from
    /// `b·positions` rows) or K-FAC-reduce (positions averaged first: factors from `b` rows);
    /// Eschenhagen et al., NeurIPS 2023 (docs/kfac.md#weight-sharing-expand-and-reduce).
    public var approximation: WeightSharingApproximation = .expand

    public init() {}

    public func validate() throws(PredictionError) {
        guard factorInterval >= 1, inverseInterval >= 1 else {
            throw .invalidParameter(name: "factorInterval/inverseInterval", value: "\(factorInterval)/\(inverseInterval)",
                                    requirement: "intervals are at least 1 step")
        }
        guard cgIterations >= 1 else { throw .invalidParameter(name: "cgIterations", value: "\(cgIterations)", requirement: "at least 1") }
        guard tngdAnalogTime >= 0, tngdAnalogTime.isFinite else {
            throw .invalidParameter(name: "tngdAnalogTime", value: "\(tngdAnalogTime)", requirement: "non-negative τ")
        }
    }
}

/// One named part of an optimiser's per-iteration cost.
public struct CostTerm: Sendable, Equatable, Codable {
    public enum Side: String, Sendable, Codable { case digital, analog, transfer }
    public var name: String
    public var side: Side
    public var seconds: Double
}

/// The predicted per-iteration runtime and memory of one optimiser on one workload.
public struct OptimizerPrediction: Sendable, Equatable, Codable {
    public var optimizer: String
    public var terms: [CostTerm]
    /// Optimiser state and curvature storage in bytes (weights and activations, common to all, excluded).
    public var memoryBytes: Double
    public var notes: [String] = []

    /// Sum of all terms: digital and device work are taken as sequential (the update waits for the device).
    public var totalSeconds: Double { terms.reduce(0) { $0 + $1.seconds } }
    /// The largest term, the bottleneck.
    public var bottleneck: CostTerm? { terms.max { $0.seconds < $1.seconds } }
    public func seconds(_ name: String) -> Double { terms.first { $0.name == name }?.seconds ?? 0 }
}

/// Per-layer cost of the curvature work only (factors, inversion/solves, preconditioning), where
/// K-FAC and TK-FAC differ: the papers' `O(n³)` against `O(n² κ)` comparison.
public struct LayerPrediction: Sendable, Equatable, Codable {
    public var layer: String
    public var count: Int
    public var kfacSeconds: Double
    public var tkfacMethod1Seconds: Double
    public var tkfacMethod2Seconds: Double
}

/// Per-iteration cost model for first-order, K-FAC, TK-FAC, NGD and TNGD steps (docs/cost-model.md).
///
/// Digital work is FLOPs (or bytes) over the rates of `DigitalHardware`; device work follows the
/// simulator's accounting (DAC transfer of programmed values, coupling programming, equilibration ≈
/// burn-in × κτ, sampling, ADC readout), spread over `AnalogHardware.devices` devices. Counts per layer
/// with `m = b·positions` rows, `n_A = inputs (+1 bias)`, `n_G = outputs`:
/// forward `2 m n_in n_out`, backward `4 m n_in n_out`; factor build `m (n_A² + n_G²)` (syrk);
/// inversion `(4/3) n³` per factor (potrf `n³/3` + potri `n³`… LAPACK's potri is `2n³/3`; docs/cost-model.md#digital-side
/// rounds the pair to `n³/3 + n³`, we use that); preconditioning `2 n_G² n_A + 2 n_G n_A²`.
public struct StepCostModel: Sendable {
    public var digital: DigitalHardware
    public var analog: AnalogHardware
    public var schedule: KFACSchedule
    /// Bytes per stored scalar (Float32).
    public var bytesPerScalar: Double = 4

    public init(digital: DigitalHardware, analog: AnalogHardware = AnalogHardware(),
                schedule: KFACSchedule = KFACSchedule()) throws(PredictionError) {
        try analog.validate()
        try schedule.validate()
        self.digital = digital
        self.analog = analog
        self.schedule = schedule
    }

    // MARK: Shared pieces

    func gemmSeconds(_ flops: Double) -> Double { flops / digital.gemmFLOPS }

    /// Forward + backward of the whole model (the gradient every optimiser needs).
    func gradientSeconds(_ w: Workload) -> Double {
        let b = Double(w.batch)
        var flops = 3 * w.extraForwardFLOPsPerExample * b
        for l in w.layers { flops += Double(l.count) * 6 * b * Double(l.positions) * Double(l.inputs) * Double(l.outputs) }
        return gemmSeconds(flops)
    }

    /// Forward cost alone (for Jacobian–vector products: one JVP ≈ one forward).
    func forwardFLOPs(_ w: Workload) -> Double {
        let b = Double(w.batch)
        var flops = w.extraForwardFLOPsPerExample * b
        for l in w.layers { flops += Double(l.count) * 2 * b * Double(l.positions) * Double(l.inputs) * Double(l.outputs) }
        return flops
    }

    /// Adam's element-wise update: read θ, g, m, v and write θ, m, v (7 scalars per parameter).
    func adamUpdateSeconds(_ w: Workload) -> Double {
        7 * bytesPerScalar * Double(w.parameterCount) / digital.memoryBandwidth
    }

    struct LayerFactorWork {
        var buildFLOPs = 0.0, emaBytes = 0.0, trueFisherFLOPs = 0.0, inversionFLOPs = 0.0, preconditionFLOPs = 0.0
        var factorOrders: [Int] = []
    }

    func factorWork(_ l: WorkloadLayer, batch: Int) -> LayerFactorWork {
        let m = Double(batch * l.positions)
        let nA = Double(l.inputFactorOrder), nG = Double(l.outputs)
        var f = LayerFactorWork()
        switch schedule.approximation {
        case .expand: f.buildFLOPs = m * (nA * nA + nG * nG)
        // Reduce: sum a and g over positions (m·(n_in + n_out) adds), then syrk over b rows.
        case .reduce: f.buildFLOPs = m * (nA + nG) + Double(batch) * (nA * nA + nG * nG)
        }
        f.emaBytes = 3 * bytesPerScalar * (nA * nA + nG * nG)
        f.trueFisherFLOPs = schedule.trueFisher ? 2 * m * Double(l.inputs) * nG : 0
        f.inversionFLOPs = (4.0 / 3.0) * (nA * nA * nA + nG * nG * nG)
        f.preconditionFLOPs = 2 * nG * nG * nA + 2 * nG * nA * nA
        f.factorOrders = [l.inputFactorOrder, l.outputs]
        return f
    }

    // MARK: Device pieces (per factor of order n; see AnalogHardware)

    /// Values sent to program one factor: its `n(n+1)/2` couplings, or the raw `m × n` array
    /// (`m = b` rows under K-FAC-reduce, `b·positions` under expand).
    func programmedValues(order n: Int, rows m: Int) -> Double {
        schedule.feed == .factors ? Double(n) * Double(n + 1) / 2 : Double(m) * Double(n)
    }

    /// Device time of one call or a group of calls, term by term, in seconds (the same five terms as
    /// the simulator's `ThermoDevice.DeviceCost`).
    public struct DeviceTerms: Sendable, Equatable {
        public var dac = 0.0, program = 0.0, equilibrate = 0.0, sample = 0.0, adc = 0.0
        public var sum: Double { dac + program + equilibrate + sample + adc }
        static func + (l: DeviceTerms, r: DeviceTerms) -> DeviceTerms {
            DeviceTerms(dac: l.dac + r.dac, program: l.program + r.program, equilibrate: l.equilibrate + r.equilibrate,
                        sample: l.sample + r.sample, adc: l.adc + r.adc)
        }
        func scaled(_ s: Double) -> DeviceTerms {
            DeviceTerms(dac: dac * s, program: program * s, equilibrate: equilibrate * s, sample: sample * s, adc: adc * s)
        }
    }

    /// Programming one factor: DAC transfer plus coupling writes.
    func programTerms(order n: Int, rows m: Int) -> DeviceTerms {
        let values = programmedValues(order: n, rows: m)
        return DeviceTerms(dac: values * Double(analog.inputBits) / analog.transferRate,
                           program: values * analog.programmingTimePerCoupling / Double(analog.parallelRows))
    }

    /// Method 1 on one factor: program, burn in, sample, read the samples out. The readouts are
    /// `analog.samples(order: n)`: `N = ⌈(n+1)/ε² · (1+ρ)/(1−ρ)⌉` for the target error ε unless fixed
    /// (docs/cost-model.md#analog-side), so sampling and readout grow with the factor's order.
    /// (The `n` input values `b = 0` go through the DAC too, as in the simulator.)
    public func inversionTerms(order n: Int, rows m: Int) -> DeviceTerms {
        var t = programTerms(order: n, rows: m)
        let samples = Double(analog.samples(order: n))
        t.dac += Double(n) * Double(analog.inputBits) / analog.transferRate
        t.equilibrate = analog.burnInRelaxationTimes * analog.relaxationSeconds
        t.sample = samples * analog.sampleSpacingRelaxationTimes * analog.relaxationSeconds
        t.adc = samples * Double(n) * Double(analog.outputBits) / analog.transferRate
        return t
    }

    /// Method 2: `rhs` warm-started solves of order `n` on an already programmed factor, by the simulator's
    /// protocol (`analog.method2`): per right-hand side the `n` inputs and one 32-bit gain word through the DAC,
    /// the warm-start burn-in, the averaging window `T`, and `R` readouts of `n` values through the ADC (`R`
    /// rounded up to a multiple of the chains, as the simulator reads; the sampling time is then `R · T/R_set`).
    public func solveTerms(order n: Int, rightHandSides rhs: Int) -> DeviceTerms {
        let r = Double(rhs), p = analog.method2
        let readouts = Double(p.convertedReadoutsPerRightHandSide)
        let window = readouts * p.analogRelaxationTimes / Double(p.readoutsPerRightHandSide)
        return DeviceTerms(dac: r * (Double(n) * Double(analog.inputBits) + 32) / analog.transferRate,
                           equilibrate: r * p.warmStartBurnInRelaxationTimes * analog.relaxationSeconds,
                           sample: r * window * analog.relaxationSeconds,
                           adc: r * readouts * Double(n) * Double(analog.outputBits) / analog.transferRate)
    }

    func deviceCostTerms(_ t: DeviceTerms, prefix: String) -> [CostTerm] {
        [CostTerm(name: "\(prefix) DAC transfer", side: .transfer, seconds: t.dac),
         CostTerm(name: "\(prefix) programming", side: .analog, seconds: t.program),
         CostTerm(name: "\(prefix) equilibration", side: .analog, seconds: t.equilibrate),
         CostTerm(name: "\(prefix) sampling", side: .analog, seconds: t.sample),
         CostTerm(name: "\(prefix) ADC readout", side: .transfer, seconds: t.adc)]
    }
}
