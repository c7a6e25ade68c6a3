import Curvature
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// TK-FAC's device factor solver against digital K-FAC (Cholesky) on small Kronecker factors, with
/// tolerances from the sampling theory of docs/device.md#statistical-error:
/// - Method 1: `Σ̂ = β α Ĉov` from `N` independent readouts has relative Frobenius error
///   `ε(Σ) ≈ sqrt(((tr Σ)²/‖Σ‖²_F + 1)/N)` (Wishart), so the update error falls as `1/sqrt(N)`;
/// - Method 2: the mean of `R` independent readouts has variance `Var(x)/R = β⁻¹A⁻¹/R`, so with the
///   readout spacing fixed the error falls as `1/sqrt(T)` in the analog time `T`;
/// - conservative quantisation gives `Q(M) ⪰ M ≻ 0`, so programming a damped PSD factor never fails.
@Suite("Thermodynamic K-FAC")
struct ThermodynamicKFACTests {
    static let layer = "layers.0"

    /// A damped layer problem: `A` (`nA × nA`) and `G` (`nG × nG`) Gram matrices of `rows` random rows
    /// (rank-deficient when `rows < n`), a gradient, and the damping.
    struct Problem {
        let factors: KroneckerFactors<Double>
        let damping: FactorDamping<Double>
        let gradient: Matrix<Double>

        init(nA: Int = 8, nG: Int = 5, rows: Int = 16, damping: Double = 0.1, seed: UInt64) {
            var rng = Xoshiro256StarStar(seed: seed, stream: 11)
            let xa: Matrix<Double> = rng.normalMatrix(rows: rows, columns: nA)
            let xg: Matrix<Double> = rng.normalMatrix(rows: rows, columns: nG)
            var a = Matrix<Double>(rows: nA, columns: nA), g = Matrix<Double>(rows: nG, columns: nG)
            BLAS.syrk(xa, transpose: true, alpha: 1 / Double(rows), into: &a)
            BLAS.syrk(xg, transpose: true, alpha: 0.5 / Double(rows), into: &g)
            factors = KroneckerFactors(activation: a, gradient: g)
            self.damping = FactorDamping(activation: damping, gradient: damping)
            gradient = rng.normalMatrix(rows: nG, columns: nA)
        }

        init(factors: KroneckerFactors<Double>, damping: FactorDamping<Double>, gradient: Matrix<Double>) {
            self.factors = factors
            self.damping = damping
            self.gradient = gradient
        }

        /// Digital K-FAC's update (Cholesky inverses).
        func digital() throws -> Matrix<Double> {
            let s = CholeskyFactorSolver<Double>()
            try s.refresh(layer: layer, factors: factors, damping: damping)
            return try s.precondition(layer: layer, gradient: gradient)
        }

        /// `ε(Σ) = sqrt(((tr Σ)²/‖Σ‖²_F + 1)/N)` for `Σ = (F + λI)⁻¹` of both factors, summed: the first-order
        /// bound on the relative error of `Ĝ⁻¹ ∇ Â⁻¹` from `N` independent samples per factor.
        func predictedMethod1Error(samples n: Int) throws -> Double {
            func eps(_ f: Matrix<Double>, _ l: Double) throws -> Double {
                var d = f
                d.addDiagonal(l)
                let s = try LAPACK.inverseSPD(d)
                let r = s.trace / s.frobeniusNorm
                return ((r * r + 1) / Double(n)).squareRoot()
            }
            return try eps(factors.activation, damping.activation) + eps(factors.gradient, damping.gradient)
        }
    }

    static func device(beta: Double = 1, inputBits: Int? = nil, outputBits: Int? = nil,
                       quantization: QuantizationScheme = .conservative, seed: UInt64 = 7) throws -> DeviceConfiguration {
        try ThermodynamicKFACConfiguration.defaultDevice(beta: beta, inputBits: inputBits, outputBits: outputBits,
                                                         quantization: quantization, seed: seed)
    }

    /// TK-FAC's update for `problem` (one refresh, one precondition).
    static func update(_ problem: Problem, _ configuration: ThermodynamicKFACConfiguration) throws -> Matrix<Double> {
        let s = try ThermodynamicFactorSolver<Double>(configuration: configuration)
        try s.refresh(layer: layer, factors: problem.factors, damping: problem.damping)
        return try s.precondition(layer: layer, gradient: problem.gradient)
    }

    @Test("Method 1 converges to digital K-FAC as 1/sqrt(samples)")
    func method1Convergence() throws {
        // Readouts 3 relaxation times apart: the slowest mode's correlation e^{-3} ≈ 0.05, effectively independent.
        var errors: [Int: Double] = [:]
        let counts = [2048, 32768]
        let seeds: [UInt64] = Array(1...10)
        for n in counts {
            var sum = 0.0
            for seed in seeds {
                let p = Problem(seed: seed)
                let c = try ThermodynamicKFACConfiguration(method: .inversion, device: Self.device(seed: seed), samples: n,
                                                           sampleSpacing: .relaxationTimes(3))
                let e = relativeError(try Self.update(p, c), try p.digital())
                #expect(e < 2 * (try p.predictedMethod1Error(samples: n)), "seed \(seed), N = \(n): error \(e)")
                sum += e
            }
            errors[n] = sum / Double(seeds.count)
        }
        // 16× the samples: 4× smaller error. One seed's error norm fluctuates by ~±30 % (the error of U is
        // dominated by the few slowest, most variable modes), the mean of 10 by ~±10 %, their ratio by
        // ~±14 %: accept 4 ± 2σ. (1/N would give 16, no convergence 1.)
        let ratio = errors[counts[0]]! / errors[counts[1]]!
        #expect(ratio > 2.9 && ratio < 5.5, "error ratio \(ratio) for 16× samples (theory 4): \(errors)")
    }

    @Test("Method 2 converges to digital K-FAC as 1/sqrt(analog time)")
    func method2Convergence() throws {
        // Fixed readout spacing (3 relaxation times), cold start with a 20-relaxation-time burn-in (bias e^{-20}).
        var errors: [Double] = []
        for (time, readouts) in [(48.0, 16), (768.0, 256)] {
            var sum = 0.0
            for seed: UInt64 in [1, 2, 3] {
                let p = Problem(seed: seed)
                let c = try ThermodynamicKFACConfiguration(
                    method: .linearSystems, device: Self.device(beta: 1, seed: seed), analogTime: .relaxationTimes(time),
                    readoutsPerRightHandSide: readouts, warmStart: false, burnIn: .relaxationTimes(20))
                sum += relativeError(try Self.update(p, c), try p.digital())
            }
            errors.append(sum / 3)
        }
        let ratio = errors[0] / errors[1]
        #expect(ratio > 3 && ratio < 5.3, "error ratio \(ratio) for 16× the analog time (theory 4): \(errors)")
    }

    @Test("Methods 1 and 2 agree in the limit (many samples; cold device, long averaging)")
    func methodsAgree() throws {
        let p = Problem(seed: 5)
        let n = 65536
        let m1 = try Self.update(p, try ThermodynamicKFACConfiguration(method: .inversion, device: Self.device(seed: 5),
                                                                      samples: n, sampleSpacing: .relaxationTimes(3)))
        let m2 = try Self.update(p, try ThermodynamicKFACConfiguration(method: .linearSystems, device: Self.device(beta: 1e8, seed: 5),
                                                                      analogTime: .relaxationTimes(20), warmStart: false,
                                                                      burnIn: .relaxationTimes(20)))
        let digital = try p.digital()
        let bound = 2 * (try p.predictedMethod1Error(samples: n))
        #expect(relativeError(m2, digital) < 1e-3, "Method 2 at β = 1e8 is essentially exact")
        #expect(relativeError(m1, digital) < bound)
        #expect(relativeError(m1, m2) < bound + 1e-3)
    }

    @Test("Conservative input quantisation never makes a damped PSD factor fail; plain rounding does", arguments: [4, 6, 8])
    func conservativeQuantizationIsSafe(bits: Int) throws {
        var plainFailures = 0
        for seed: UInt64 in 0..<16 {
            // Rank-deficient factors (4 rows for n = 12) with a small damping: condition number ~1e3.
            let p = Problem(nA: 12, nG: 6, rows: 4, damping: 1e-3, seed: seed)
            let safe = try ThermodynamicKFACConfiguration(method: .linearSystems,
                                                          device: Self.device(inputBits: bits, quantization: .conservative, seed: seed))
            let solver = try ThermodynamicFactorSolver<Double>(configuration: safe)
            try solver.refresh(layer: Self.layer, factors: p.factors, damping: p.damping)
            #expect(solver.metrics.extra["device_errors"] == 0)

            let plain = try ThermodynamicKFACConfiguration(method: .linearSystems,
                                                           device: Self.device(inputBits: bits, quantization: .plainRounding, seed: seed))
            do { _ = try ThermodynamicFactorSolver<Double>(configuration: plain).refresh(layer: Self.layer, factors: p.factors, damping: p.damping) }
            catch {
                guard case .device(_, _, .notPositiveDefinite) = error else { Issue.record("unexpected \(error)"); continue }
                plainFailures += 1
            }
        }
        // Negative control: at 4 bits (grid step 1/8 of λ_max against λ_min ~ 1e-3) plain rounding breaks PSD.
        if bits == 4 { #expect(plainFailures > 0, "plain 4-bit rounding should make some factors indefinite") }
    }

    @Test("Raw feed: quantised batch arrays realise a PSD factor even with plain rounding")
    func rawFeedIsPSD() throws {
        var rng = Xoshiro256StarStar(seed: 3)
        let model = Sequential<Double>(inputFeatures: 10, [Linear<Double>(10, 4, rng: &rng)])
        model.setCapture(true)
        let x: Matrix<Double> = rng.normalMatrix(rows: 6, columns: 10)
        let loss = MeanSquaredError<Double>()
        let t: Matrix<Double> = rng.normalMatrix(rows: 6, columns: 4)
        _ = loss.forward(model.forward(x, training: true), targets: t)
        model.zeroGradients()
        model.backward(loss.gradient(targets: t))
        let layers = model.kroneckerFactoredLayers
        let capture = try #require(layers[0].layer.capture)
        let factors = KroneckerFactors(activation: KroneckerFactorComputation.activationFactor(capture, approximation: .expand),
                                       gradient: KroneckerFactorComputation.gradientFactor(capture.outputGradients, examples: 6,
                                                                                           approximation: .expand))
        let damping = FactorDamping<Double>(activation: 1e-3, gradient: 1e-3)
        let c = try ThermodynamicKFACConfiguration(method: .linearSystems, feed: .raw,
                                                   device: Self.device(inputBits: 3, quantization: .plainRounding))
        let solver = try ThermodynamicFactorSolver<Double>(configuration: c, rawSources: model.kroneckerBlocks)
        try solver.refresh(layer: layers[0].name, factors: factors, damping: damping)
        // 6 rows × (11 + 4) values plus the two diagonals, instead of 11·12/2 + 4·5/2 couplings.
        #expect(solver.metrics.extra["device_values_sent"] == Double(6 * 11 + 6 * 4 + 11 + 4))
    }

    @Test("Device time: per-layer critical path, parallel ≤ serial, warm start shortens Method 2")
    func deviceTimeAccounting() throws {
        let p = Problem(seed: 9)
        func run(warm: Bool) throws -> (parallel: Double, serial: Double, steps: Double, error: Double) {
            let c = try ThermodynamicKFACConfiguration(method: .linearSystems, device: Self.device(beta: 1e6),
                                                       analogTime: .relaxationTimes(1), warmStart: warm,
                                                       burnIn: .relaxationTimes(7), warmStartBurnIn: .relaxationTimes(1))
            let s = try ThermodynamicFactorSolver<Double>(configuration: c)
            try s.refresh(layer: Self.layer, factors: p.factors, damping: p.damping)
            var u = Matrix<Double>(rows: 1, columns: 1)
            for _ in 0..<3 { u = try s.precondition(layer: Self.layer, gradient: p.gradient) }
            let m = s.metrics.extra
            return (m["device_seconds"]!, m["device_seconds_serial"]!, m["device_steps"]!, relativeError(u, try p.digital()))
        }
        let cold = try run(warm: false), warm = try run(warm: true)
        #expect(cold.parallel > 0 && cold.parallel <= cold.serial + 1e-15)
        #expect(cold.steps == 2, "three preconditions close two steps (the third is open)")
        #expect(warm.parallel < cold.parallel, "a warm start needs 1 instead of 7 relaxation times of burn-in")
        // The warm start begins at the previous (identical) answer: no worse than a cold start.
        #expect(warm.error < max(2 * cold.error, 1e-3))
    }

    @Test("TK-FAC inside K-FAC: trains a small network and reports device time in the step metrics")
    func insideKFAC() throws {
        var rng = Xoshiro256StarStar(seed: 4)
        let model = Sequential<Double>(inputFeatures: 6, [Linear<Double>(6, 8, rng: &rng), Tanh<Double>(), Linear<Double>(8, 3, rng: &rng)])
        let x: Matrix<Double> = rng.normalMatrix(rows: 32, columns: 6)
        let targets = (0..<32).map { i in Int(abs(x[i, 0] + x[i, 1]) * 2) % 3 }
        var configuration = KFACConfiguration()
        configuration.damping = 1e-2
        configuration.inverseUpdateInterval = 5
        let solver = try ThermodynamicFactorSolver<Double>(configuration: try ThermodynamicKFACConfiguration(
            method: .inversion, device: Self.device(inputBits: 8, outputBits: 8), samples: 1024))
        let kfac = try KFAC(model: model, inner: try SGD<Double>(schedule: try LearningRateSchedule(baseRate: 0.1)),
                            configuration: configuration, solver: solver)
        let loss = SoftmaxCrossEntropy<Double>()
        var first = 0.0, last = 0.0
        for step in 0..<20 {
            let value = loss.forward(model.forward(x, training: true), targets: targets)
            model.zeroGradients()
            model.backward(loss.gradient(targets: targets))
            kfac.observeCurvature(CurvatureBatch(model: model, input: x, loss: loss, targets: targets, lossValue: value))
            #expect(kfac.update(model.namedParameters) == .applied)
            if step == 0 { first = value }
            last = value
        }
        #expect(last < first)
        let metrics = Dictionary(uniqueKeysWithValues: kfac.stepMetrics.map { ($0.name, $0.value) })
        #expect((metrics["solver_device_seconds"] ?? 0) > 0)
        #expect(metrics["solver_device_errors"] == 0)
        #expect(kfac.failedRefreshes == 0)
    }
}
