import Curvature
import Foundation
import Linalg
import Reporting
import Solvers
import ThermoDevice

/// TK-FAC Method 1 against Method 2 over layer widths at equal device time and at equal energy (the TK-FAC
/// paper's open question 2, docs/tkfac.md#method-1-or-method-2): `thermograd experiment methods-width`.
///
/// For each width `n` one square layer (`A`, `G` both `n × n`) is built from synthetic data — `A` the Gram
/// matrix of `2n` activation-like rows (entries `N(0.5, 1)`, non-negative mean as after a ReLU), `G` that of
/// `2n` zero-mean rows, each damped by `damping` times its mean diagonal — and one K-FAC cycle is simulated:
/// one refresh, then `inverseInterval` preconditioned gradients `∇_t = ∇_0 + drift · ξ_t` (slowly varying, as
/// consecutive mini-batch gradients, so that Method 2's warm start matters). Each method runs at several
/// budgets (Method 1: target errors of each inverse, `N ∝ (n+1)/ε²`; Method 2: analog time per right-hand
/// side) on the simulated device, whose `DeviceCost` is the cost model ([cost-model.md](cost-model.md)); the
/// update error is measured against digital K-FAC (Cholesky) on the same factors, averaged over the cycle.
/// Device time and energy are per optimiser step (the cycle's critical path and energy / `inverseInterval`).
///
/// Comparison: per width, each method's (device time, error) points are interpolated linearly in
/// (log time, log error); at the geometric mean of the overlapping time range the two errors are compared
/// (likewise for energy). Points outside a method's range are not extrapolated.
public struct MethodsWidthExperiment: Sendable, CustomStringConvertible {
    public var widths: [Int] = [64, 128, 256, 512]
    /// Method 1 target relative errors of each inverse.
    public var targetErrors: [Double] = [1, 0.5, 0.25]
    /// Method 2 analog time per right-hand side, in relaxation times.
    public var analogTimes: [Double] = [0.25, 1, 4]
    /// Steps between refreshes (`T_inv`).
    public var inverseInterval = 10
    /// Damping as a fraction of each factor's mean diagonal.
    public var damping = 1e-2
    /// Relative size of the step-to-step change of the gradient.
    public var drift = 0.1
    /// TK-FAC settings other than method and budget (β, converters, seed; Method 2 readouts, burn-ins).
    public var device = ThermodynamicKFACOptions()
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws(ExperimentError) {
        guard !widths.isEmpty, widths.allSatisfy({ (2...4096).contains($0) }) else {
            throw .invalidSetting(name: "widths", value: "\(widths)", requirement: "2…4096 (the device's size)")
        }
        guard !targetErrors.isEmpty, targetErrors.allSatisfy({ $0 >= CovarianceSampling.smallestTargetError && $0.isFinite }) else {
            throw .invalidSetting(name: "targetErrors", value: "\(targetErrors)",
                                  requirement: "at least one, each ≥ \(CovarianceSampling.smallestTargetError)")
        }
        guard !analogTimes.isEmpty, analogTimes.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw .invalidSetting(name: "analogTimes", value: "\(analogTimes)", requirement: "at least one positive time")
        }
        guard inverseInterval >= 1 else { throw .invalidSetting(name: "inverseInterval", value: "\(inverseInterval)", requirement: "≥ 1") }
        guard damping > 0, damping.isFinite else { throw .invalidSetting(name: "damping", value: "\(damping)", requirement: "> 0") }
        guard drift >= 0, drift.isFinite else { throw .invalidSetting(name: "drift", value: "\(drift)", requirement: "≥ 0") }
        do { _ = try device.configuration() } catch { throw .invalidSetting(name: "tkfac", value: "\(device)", requirement: error.description) }
    }

    /// One simulated cycle.
    public struct Point: Sendable, Equatable {
        public var width: Int
        /// 1 or 2.
        public var method: Int
        /// Method 1: target error; Method 2: analog time per right-hand side (relaxation times).
        public var budget: Double
        public var deviceSecondsPerStep: Double
        public var energyJoulesPerStep: Double
        /// `‖U − U_K-FAC‖_F / ‖U_K-FAC‖_F`, mean over the cycle's steps.
        public var updateError: Double
        /// Digital multiply-adds ×2 per step outside the device: Method 1's `Ĝ⁻¹ ∇ Â⁻¹` (`4n³`), Method 2 none.
        public var digitalFlopsPerStep: Double
        public var wallSeconds: Double

        public init(width: Int, method: Int, budget: Double, deviceSecondsPerStep: Double, energyJoulesPerStep: Double,
                    updateError: Double, digitalFlopsPerStep: Double, wallSeconds: Double) {
            self.width = width
            self.method = method
            self.budget = budget
            self.deviceSecondsPerStep = deviceSecondsPerStep
            self.energyJoulesPerStep = energyJoulesPerStep
            self.updateError = updateError
            self.digitalFlopsPerStep = digitalFlopsPerStep
            self.wallSeconds = wallSeconds
        }
    }

    /// The layer of width `n`: damped factors and the cycle's gradients.
    func layer(_ n: Int) -> (factors: KroneckerFactors<Double>, damping: FactorDamping<Double>, gradients: [Matrix<Double>]) {
        var rng = Xoshiro256StarStar(seed: seed &+ UInt64(n), stream: 0x4D57)
        let rows = 2 * n
        var x: Matrix<Double> = rng.normalMatrix(rows: rows, columns: n)
        x.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] += 0.5 } }
        let y: Matrix<Double> = rng.normalMatrix(rows: rows, columns: n)
        var a = Matrix<Double>(rows: n, columns: n), g = Matrix<Double>(rows: n, columns: n)
        BLAS.syrk(x, transpose: true, alpha: 1 / Double(rows), into: &a)
        BLAS.syrk(y, transpose: true, alpha: 1 / Double(rows), into: &g)
        a.symmetrizeFromLower()
        g.symmetrizeFromLower()
        let d = FactorDamping(activation: damping * a.trace / Double(n), gradient: damping * g.trace / Double(n))
        let g0: Matrix<Double> = rng.normalMatrix(rows: n, columns: n)
        let gradients = (0..<inverseInterval).map { _ -> Matrix<Double> in
            var step = g0
            step.axpy(drift, rng.normalMatrix(rows: n, columns: n) as Matrix<Double>)
            return step
        }
        return (KroneckerFactors(activation: a, gradient: g), d, gradients)
    }

    /// Every (width, method, budget) point; `progress` is told each finished point.
    public func run(progress: (Point) -> Void = { _ in }) throws -> [Point] {
        try validate()
        var points: [Point] = []
        for n in widths {
            let (factors, damping, gradients) = layer(n)
            let reference = CholeskyFactorSolver<Double>()
            try reference.refresh(layer: "layer", factors: factors, damping: damping)
            let exact = try gradients.map { try reference.precondition(layer: "layer", gradient: $0) }
            let budgets = targetErrors.map { (1, $0) } + analogTimes.map { (2, $0) }
            for (method, budget) in budgets {
                var o = device
                o.method = method
                if method == 1 { o.targetError = budget; o.samples = nil } else { o.analogTime = budget }
                let clock = ContinuousClock(), start = clock.now
                let solver = try ThermodynamicFactorSolver<Double>(configuration: try o.configuration())
                try solver.refresh(layer: "layer", factors: factors, damping: damping)
                var error = 0.0
                for (t, grad) in gradients.enumerated() {
                    let u = try solver.precondition(layer: "layer", gradient: grad)
                    error += Double((u - exact[t]).frobeniusNorm / exact[t].frobeniusNorm)
                }
                let m = solver.metrics.extra, steps = Double(inverseInterval)
                let wall = clock.now - start
                let p = Point(width: n, method: method, budget: budget,
                              deviceSecondsPerStep: (m["device_seconds"] ?? .nan) / steps,
                              energyJoulesPerStep: (m["device_energy_joules"] ?? .nan) / steps,
                              updateError: error / steps, digitalFlopsPerStep: method == 1 ? 4 * pow(Double(n), 3) : 0,
                              wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18)
                points.append(p)
                progress(p)
            }
        }
        return points
    }

    /// Log-log interpolation of error against `cost` along one method's points at `x` (nil outside their range).
    static func interpolate(_ points: [(cost: Double, error: Double)], at x: Double) -> Double? {
        let s = points.filter { $0.cost > 0 && $0.error > 0 }.sorted { $0.cost < $1.cost }
        guard let first = s.first, let last = s.last, x >= first.cost, x <= last.cost else { return nil }
        if s.count == 1 { return first.error }
        for (l, r) in zip(s, s.dropFirst()) where x >= l.cost && x <= r.cost {
            let f = r.cost > l.cost ? (log(x) - log(l.cost)) / (log(r.cost) - log(l.cost)) : 0
            return exp(log(l.error) + f * (log(r.error) - log(l.error)))
        }
        return nil
    }

    /// Per width and axis (device time or energy): the comparison point (geometric mean of the overlap of the
    /// two methods' ranges) and both errors there; nil errors when the ranges do not overlap.
    public struct Comparison: Sendable, Equatable {
        public var width: Int
        public var axis: String
        public var at: Double
        public var method1Error: Double?
        public var method2Error: Double?
        public var winner: String {
            guard let a = method1Error, let b = method2Error else { return "no overlap" }
            return a < b ? "Method 1" : "Method 2"
        }
    }

    public static func compare(_ points: [Point]) -> [Comparison] {
        var out: [Comparison] = []
        for n in Array(Set(points.map(\.width))).sorted() {
            for (axis, cost) in [("device time", \Point.deviceSecondsPerStep), ("energy", \Point.energyJoulesPerStep)] {
                let m1 = points.filter { $0.width == n && $0.method == 1 }.map { (cost: $0[keyPath: cost], error: $0.updateError) }
                let m2 = points.filter { $0.width == n && $0.method == 2 }.map { (cost: $0[keyPath: cost], error: $0.updateError) }
                let lo = Swift.max(m1.map(\.cost).min() ?? .infinity, m2.map(\.cost).min() ?? .infinity)
                let hi = Swift.min(m1.map(\.cost).max() ?? 0, m2.map(\.cost).max() ?? 0)
                let at = lo <= hi ? (lo * hi).squareRoot() : .nan
                out.append(Comparison(width: n, axis: axis, at: at, method1Error: at.isNaN ? nil : interpolate(m1, at: at),
                                      method2Error: at.isNaN ? nil : interpolate(m2, at: at)))
            }
        }
        return out
    }

    /// `methods-width.csv` (every point), `methods-width.svg` (error against device time and against energy per
    /// step, one line per method and width, log-log, the settings in the title) and `methods-width-table.txt`
    /// (the equal-time and equal-energy comparison). Returns the table.
    public func write(_ points: [Point], to folder: String, settings: String) throws -> String {
        let csv = try CSVWriter(path: "\(folder)/methods-width.csv",
                                columns: ["width", "method", "budget", "device_seconds_per_step", "energy_joules_per_step",
                                          "update_error", "digital_flops_per_step", "wall_seconds"])
        for p in points {
            try csv.append([.number(Double(p.width)), .number(Double(p.method)), .number(p.budget), .number(p.deviceSecondsPerStep),
                            .number(p.energyJoulesPerStep), .number(p.updateError), .number(p.digitalFlopsPerStep),
                            .number(p.wallSeconds)])
        }
        func lines(_ cost: KeyPath<Point, Double>) -> [PlotSeries] {
            Array(Set(points.map(\.width))).sorted().flatMap { n in
                [1, 2].map { m in
                    PlotSeries(name: "M\(m) n=\(n)", points: points.filter { $0.width == n && $0.method == m }
                        .map { PlotPoint(x: log10($0[keyPath: cost]), y: $0.updateError) }.sorted { $0.x < $1.x },
                               dashed: m == 2, markers: true)
                }
            }
        }
        try LinePlot(title: "TK-FAC Method 1 (solid) vs Method 2 (dashed) over widths · \(settings)", panels: [
            PlotPanel(title: "Update error vs device time", xLabel: "log10 device seconds per step", yLabel: "‖U − U_K-FAC‖/‖U_K-FAC‖",
                      series: lines(\.deviceSecondsPerStep), logarithmicY: true),
            PlotPanel(title: "Update error vs energy", xLabel: "log10 device joules per step", yLabel: "‖U − U_K-FAC‖/‖U_K-FAC‖",
                      series: lines(\.energyJoulesPerStep), logarithmicY: true),
        ]).write(to: "\(folder)/methods-width.svg")
        var table = TextTable(title: "Method 1 vs Method 2 at equal device time and equal energy per step (\(settings))",
                              headers: ["width", "axis", "at (s or J per step)", "M1 error", "M2 error", "lower error"])
        for c in Self.compare(points) {
            table.append(["\(c.width)", c.axis, c.at.isNaN ? "–" : String(format: "%.3g", c.at),
                          c.method1Error.map { String(format: "%.3f", $0) } ?? "–",
                          c.method2Error.map { String(format: "%.3f", $0) } ?? "–", c.winner])
        }
        let text = table.render()
        try AtomicFile.write(text + "\n", to: "\(folder)/methods-width-table.txt")
        return text
    }

    public var description: String {
        "methods over widths \(widths): Method 1 target errors \(targetErrors), Method 2 analog times \(analogTimes) relaxation times, "
            + "T_inv \(inverseInterval), damping \(damping) × mean diagonal, gradient drift \(drift), seed \(seed); TK-FAC base \(device)"
    }
}
