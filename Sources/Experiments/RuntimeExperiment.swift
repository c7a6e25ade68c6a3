import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting
import Training

/// The TNGD paper's Fig. 2 (docs/tngd.md#runtime-per-iteration): runtime per iteration of NGD (dense solve), NGD-CG,
/// NGD-Woodbury and TNGD against the parameter count `N`, the batch `b` and the output dimension `d_z`, each swept
/// with the other two held at their base values. The digital methods and the TNGD simulator are timed on this CPU
/// (a full training step on random data: forward, backward, curvature solve, update; median of repeats); the
/// caller adds the cost model's prediction for each method and for the device.
///
/// The model is an MLP `inputs → h → d_z` (ReLU) whose hidden width is chosen so that its parameter count
/// `h (inputs + 1 + d_z) + d_z` is as close as possible to the requested `N`.
public struct RuntimeExperiment: Sendable {
    public enum Axis: String, Sendable, CaseIterable { case parameters, batch, outputs }

    /// The four methods of the figure, by the cost model's names.
    public enum Method: String, Sendable, CaseIterable {
        case ngdExact = "ngd-exact", ngdCG = "ngd-cg", ngdWoodbury = "ngd-woodbury", tngd
    }

    /// One point of a sweep: the model's actual shape.
    public struct Point: Sendable, Equatable {
        public var axis: Axis
        public var hidden: Int
        public var parameters: Int
        public var batch: Int
        public var outputs: Int
        /// The swept value (parameters, batch or outputs).
        public var value: Int {
            switch axis {
            case .parameters: return parameters
            case .batch: return batch
            case .outputs: return outputs
            }
        }
    }

    /// One measured (and predicted) runtime.
    public struct Record: Sendable {
        public var point: Point
        public var method: Method
        /// Median wall seconds of one training step on this CPU (the simulator's, for TNGD).
        public var measuredSeconds: Double
        /// The cost model's seconds per iteration for this CPU (digital methods) or for the device (TNGD); nil if
        /// the caller gave none.
        public var predictedSeconds: Double?
    }

    /// Input features of the MLP.
    public var inputs = 64
    public var parameterSweep = [1_000, 2_000, 4_000, 8_000]
    public var batchSweep = [8, 16, 32, 64]
    public var outputSweep = [2, 5, 10, 20]
    /// The values held fixed while another axis is swept.
    public var baseParameters = 2_000
    public var baseBatch = 16
    public var baseOutputs = 10
    public var axes: [Axis] = Axis.allCases
    public var methods: [Method] = Method.allCases
    /// Timed steps per method and point (after two warm-up steps); the median is kept.
    public var repeats = 3
    /// CG iterations per NGD-CG step (fixed: tolerance below reach), as the cost model counts them.
    public var cgIterations = 10
    /// Tikhonov damping λ of every method.
    public var damping = 0.01
    /// TNGD's settings (analog time, δt, noise, integrator).
    public var tngd = ThermodynamicNaturalGradientSettings()
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws(ExperimentError) {
        func require(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws(ExperimentError) {
            if !ok { throw .invalidSetting(name: name, value: "\(value)", requirement: rule) }
        }
        try require(inputs >= 1, "inputs", inputs, "at least 1 input feature")
        try require((parameterSweep + [baseParameters]).allSatisfy { (100...20_000).contains($0) }, "--parameters",
                    parameterSweep + [baseParameters],
                    "parameter counts in 100…20000 (above, the dense NGD matrix outgrows 1.6 GB)")
        try require((batchSweep + [baseBatch]).allSatisfy { (1...4096).contains($0) }, "--batches", batchSweep + [baseBatch], "batches in 1…4096")
        try require((outputSweep + [baseOutputs]).allSatisfy { (2...1000).contains($0) }, "--outputs", outputSweep + [baseOutputs],
                    "output dimensions (classes) in 2…1000")
        try require(repeats >= 1, "--repeats", repeats, "at least 1 timed step")
        try require(cgIterations >= 1, "cgIterations", cgIterations, "at least 1")
        try require(damping > 0 && damping.isFinite, "damping", damping, "a positive λ")
        try require(!axes.isEmpty && !methods.isEmpty, "axes/methods", "\(axes)/\(methods)", "choose at least one of each")
    }

    /// The hidden width whose MLP `inputs → h → d_z` has the parameter count closest to `n` (at least 1).
    public func hiddenWidth(parameters n: Int, outputs: Int) -> Int {
        max(1, Int((Double(n - outputs) / Double(inputs + 1 + outputs)).rounded()))
    }

    /// Every point of the sweeps, in order.
    public var points: [Point] {
        axes.flatMap { axis -> [Point] in
            let values: [Int] = switch axis {
            case .parameters: parameterSweep
            case .batch: batchSweep
            case .outputs: outputSweep
            }
            return values.map { v in
                let n = axis == .parameters ? v : baseParameters
                let b = axis == .batch ? v : baseBatch
                let dz = axis == .outputs ? v : baseOutputs
                let h = hiddenWidth(parameters: n, outputs: dz)
                return Point(axis: axis, hidden: h, parameters: h * (inputs + 1 + dz) + dz, batch: b, outputs: dz)
            }
        }
    }

    /// The model of a point (initialised from `seed`).
    public func model(_ p: Point) -> Sequential<Float> {
        var c = TrainingConfiguration()
        c.model = .mlp
        c.mlpSizes = [inputs, p.hidden, p.outputs]
        c.seed = seed
        return ModelFactory.model(c, inputFeatures: inputs, classes: p.outputs)
    }

    func optimizer(_ m: Method, batch: Int) throws -> any Optimizer<Float> {
        let sgd = try SGD<Float>(schedule: LearningRateSchedule(baseRate: 0.01, decay: .constant, warmupSteps: 0, totalSteps: 1_000_000))
        var c = NaturalGradientConfiguration()
        c.damping = damping
        switch m {
        case .ngdExact: c.method = .exact
        case .ngdWoodbury: c.method = .woodbury
        case .ngdCG:
            c.method = .conjugateGradient
            c.cgTolerance = 1e-30
            c.cgMaxIterations = cgIterations
        case .tngd:
            var t = tngd
            t.damping = damping
            return NaturalGradientDescent<Float>.thermodynamic(inner: sgd, configuration: try t.configuration(seed: seed))
        }
        return try NaturalGradientDescent<Float>(inner: sgd, configuration: c)
    }

    /// Times every method at every point; `predict(model, point)` gives the cost model's seconds per method name
    /// (digital methods on this CPU, TNGD on the device). `log` receives one line per record.
    public func run(predict: (Sequential<Float>, Point) throws -> [String: Double],
                    log: (String) -> Void = { _ in }) throws -> [Record] {
        try validate()
        var records: [Record] = []
        for p in points {
            let predictions = try predict(model(p), p)
            var rng = Xoshiro256StarStar(seed: seed, stream: 11)
            let x: Matrix<Float> = rng.normalMatrix(rows: p.batch, columns: inputs)
            let labels = (0..<p.batch).map { _ in rng.nextInt(below: p.outputs) }
            for m in methods {
                let net = model(p)
                let step = TrainingStep(model: net, optimizer: try optimizer(m, batch: p.batch))
                for _ in 0..<2 { step.run(x, labels: labels) }
                let times = (0..<repeats).map { _ in BenchmarkTiming.seconds { step.run(x, labels: labels) } }
                let r = Record(point: p, method: m, measuredSeconds: BenchmarkTiming.median(times), predictedSeconds: predictions[m.rawValue])
                records.append(r)
                log("\(p.axis.rawValue) = \(p.value) (N \(p.parameters), b \(p.batch), d_z \(p.outputs)) \(m.rawValue): "
                    + String(format: "measured %.4g s", r.measuredSeconds) + (r.predictedSeconds.map { String(format: ", predicted %.4g s", $0) } ?? ""))
            }
        }
        return records
    }

    public var description: String {
        "MLP \(inputs) → h → d_z (ReLU), softmax cross-entropy, λ \(damping); N sweep \(parameterSweep) (b \(baseBatch), d_z \(baseOutputs)), "
            + "b sweep \(batchSweep) (N ≈ \(baseParameters), d_z \(baseOutputs)), d_z sweep \(outputSweep) (N ≈ \(baseParameters), b \(baseBatch)); "
            + "NGD-CG \(cgIterations) iterations; TNGD \(tngd); median of \(repeats) timed steps after 2 warm-up steps, seed \(seed)"
    }
}
