import Curvature
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Solvers
import Testing
import ThermoDevice
import _TestSupport

/// TNGD (docs/tngd.md#curvature) against dense oracles built only here: the Jacobian operators against
/// `ModelJacobian.dense`, the device's Ornstein–Uhlenbeck mean against `e^{-Ft}(g̃₀ − F⁻¹∇ℓ) + F⁻¹∇ℓ`,
/// `t = 0` against SGD/Adam bit for bit, long `t` against exact NGD.
@Suite("ThermodynamicNaturalGradient")
struct ThermodynamicNaturalGradientTests {
    /// Conv → ReLU → MaxPool → Flatten → Linear → Tanh → Linear on 4×4 images: every tangent rule of
    /// `LinearizedModel` in one model.
    static func convolutionalModel(seed: UInt64) -> Sequential<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        let conv = Conv2d<Double>(input: ImageShape(height: 4, width: 4, channels: 1), outChannels: 2, kernelSize: 3,
                                  padding: 1, rng: &rng)
        let pool = MaxPool2d<Double>(input: conv.outputShape, kernelSize: 2)
        return Sequential(inputFeatures: 16, [conv, ReLU<Double>(), pool, Flatten<Double>(),
                                              Linear<Double>(pool.outputShape.features, 5, rng: &rng), Tanh<Double>(),
                                              Linear<Double>(5, 3, rng: &rng)])
    }

    /// A device configuration without noise (β = greatest finite: σ = sqrt(2δt/β) ≈ 1e-154).
    static func noiseless(timeStep: Double = 0.1) throws -> DeviceConfiguration {
        try DeviceConfiguration(beta: .greatestFiniteMagnitude, timeStep: timeStep)
    }

    /// `(I − hF)^k` (Euler–Maruyama) or `e^{-F s}` from the eigendecomposition of the dense `F`.
    static func propagator(_ f: Matrix<Double>, _ map: (Double) -> Double) throws -> Matrix<Double> {
        let (values, q) = try LAPACK.symmetricEigen(f)
        var qd = q
        for i in 0..<f.rows { for j in 0..<f.rows { qd[i, j] *= map(values[j]) } }
        return BLAS.matmul(qd, q, transposeB: true)
    }

    /// `P (g₀ − x*) + x*`.
    static func mean(_ p: Matrix<Double>, start g0: [Double], solution x: [Double]) -> [Double] {
        var d = g0
        BLAS.axpy(-1, x, &d)
        var out = x
        BLAS.gemv(p, d, alpha: 1, beta: 1, into: &out)
        return out
    }

    /// A cross-entropy batch of the small MLP with its dense damped GGN and exact natural gradient.
    struct Problem {
        let batch: TestBatch
        let gradient: [Double]
        let dampedGGN: Matrix<Double>
        let naturalGradient: [Double]
        let f: GaussNewtonOperator<Double>

        init(damping: Double, seed: UInt64 = 11) throws {
            let model = makeNetwork([3, 4, 3], activation: .tanh, seed: seed)
            batch = TestBatch(model: model, loss: .crossEntropy, examples: 4, seed: seed)
            gradient = ModelJacobian.flattenedGradients(model)
            var f = GeneralizedGaussNewton.dense(model, input: batch.input, curvature: batch.curvature)
            f.addDiagonal(damping)
            dampedGGN = f
            naturalGradient = try LAPACK.cholesky(f).solve(gradient)
            self.f = GaussNewtonOperator(linearization: try LinearizedModel(model, input: batch.input),
                                         curvature: batch.curvature, damping: damping)
        }
    }

    @Test("F v in factored form equals the dense damped GGN times v, for a conv net")
    func factoredGaussNewton() throws {
        let model = Self.convolutionalModel(seed: 5)
        var rng = Xoshiro256StarStar(seed: 6)
        let x: Matrix<Double> = rng.normalMatrix(rows: 4, columns: 16)
        let loss = SoftmaxCrossEntropy<Double>()
        _ = loss.forward(model.forward(x, training: false), targets: [0, 1, 2, 1])
        let curvature = loss.outputCurvature()
        var dense = GeneralizedGaussNewton.dense(model, input: x, curvature: curvature)
        dense.addDiagonal(0.3)
        let f = GaussNewtonOperator(linearization: try LinearizedModel(model, input: x), curvature: curvature, damping: 0.3)
        let v: [Double] = (0..<f.dimension).map { _ in rng.nextNormal() }
        #expect(relativeError(f.product(v), BLAS.matvec(dense, v)) < 1e-12)
        let bd = 4 * 3
        #expect(f.resistorCount == bd * (bd + 2 * f.dimension))
    }

    @Test("Noise-free device: readout is the Euler–Maruyama mean (I − hF)^k(g̃₀ − x*) + x*, within the EM–OU gap of e^{-Ft}(…)")
    func noiseFreeMean() throws {
        let p = try Problem(damping: 0.2)
        let t = 3.0, h = 0.1
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: t, damping: 0.2, integrator: .eulerMaruyama,
                                                                   device: Self.noiseless(timeStep: h))
        let device = NaturalGradientDevice<Double>(configuration: config)
        var rng = Xoshiro256StarStar(seed: 9)
        let g0: [Double] = (0..<p.f.dimension).map { _ in rng.nextNormal() }
        device.restore(state: g0, runs: 0)
        let r = try device.run(p.f, gradient: p.gradient)
        #expect(abs(r.integratorStep - h) < 1e-12 && r.steps == 30)
        let k = Double(r.steps)
        let em = Self.mean(try Self.propagator(p.dampedGGN) { pow(1 - h * $0, k) }, start: g0, solution: p.naturalGradient)
        #expect(relativeError(r.direction, em) < 1e-10)
        // Continuous closed form: the gap is at most max_λ |(1 − hλ)^k − e^{-λt}| · ‖g̃₀ − x*‖ (λ over spec F).
        let ou = Self.mean(try Self.propagator(p.dampedGGN) { exp(-$0 * t) }, start: g0, solution: p.naturalGradient)
        let values = try LAPACK.symmetricEigen(p.dampedGGN).values
        let gap = values.map { abs(pow(1 - h * $0, k) - exp(-$0 * t)) }.max()!
        var offset = g0
        BLAS.axpy(-1, p.naturalGradient, &offset)
        var diff = r.direction
        BLAS.axpy(-1, ou, &diff)
        #expect(BLAS.norm(diff) <= 1.001 * gap * BLAS.norm(offset) + 1e-12)
        #expect(gap > 0 && BLAS.norm(diff) > 0) // the check above is not vacuous
    }

    @Test("With noise κ0 = 0.05: the mean over 400 runs is the OU mean within 4.5 standard errors per coordinate")
    func noisyMean() throws {
        let p = try Problem(damping: 0.5)
        let (t, h, kappa) = (2.0, 0.05, 0.05)
        let device = try DeviceConfiguration(beta: 1 / kappa, timeStep: h, seed: 21)
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: t, damping: 0.5, integrator: .eulerMaruyama, device: device)
        let dev = NaturalGradientDevice<Double>(configuration: config)
        let g0 = p.gradient.map { -$0 }
        let runs = 400
        let n = p.f.dimension
        var sum = [Double](repeating: 0, count: n)
        for r in 0..<runs {
            dev.restore(state: g0, runs: UInt64(r * 7))
            let out = try dev.run(p.f, gradient: p.gradient)
            BLAS.axpy(1, out.direction, &sum)
        }
        let k = t / h
        let em = Self.mean(try Self.propagator(p.dampedGGN) { pow(1 - h * $0, k) }, start: g0, solution: p.naturalGradient)
        // EM covariance after k steps: 2hκ0 Σ_j (I − hF)^{2j} = 2hκ0 (I − (I − hF)^{2k}) (2hF − h²F²)⁻¹.
        let cov = try Self.propagator(p.dampedGGN) { l in
            let a = 1 - h * l
            return 2 * h * kappa * (1 - pow(a, 2 * k)) / (1 - a * a)
        }
        var worst = 0.0
        for j in 0..<n {
            let se = (cov[j, j] / Double(runs)).squareRoot()
            worst = max(worst, abs(sum[j] / Double(runs) - em[j]) / se)
        }
        // 31 coordinates: P(max |z| > 4.5) ≈ 31 · 6.8e-6 ≈ 2e-4.
        #expect(worst < 4.5)
    }

    @Test("Delay t_d: the carried state is the mean after t + t_d; averaging: the readout is the mean over the window")
    func delayAndAveraging() throws {
        let p = try Problem(damping: 0.2)
        let h = 0.1
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: 2, damping: 0.2, delay: 0.5, averagingTime: 0.5,
                                                                   integrator: .eulerMaruyama, device: Self.noiseless(timeStep: h))
        let device = NaturalGradientDevice<Double>(configuration: config)
        let g0 = [Double](repeating: 0.1, count: p.f.dimension)
        device.restore(state: g0, runs: 0)
        let r = try device.run(p.f, gradient: p.gradient)
        var average = [Double](repeating: 0, count: g0.count)
        for k in 16...20 {
            BLAS.axpy(0.2, Self.mean(try Self.propagator(p.dampedGGN) { pow(1 - h * $0, Double(k)) }, start: g0,
                                     solution: p.naturalGradient), &average)
        }
        #expect(relativeError(r.direction, average) < 1e-10)
        let carried = Self.mean(try Self.propagator(p.dampedGGN) { pow(1 - h * $0, 25) }, start: g0, solution: p.naturalGradient)
        #expect(relativeError(device.state!, carried) < 1e-10)
        #expect(r.cost.readouts == 5)
        #expect(abs(r.cost.equilibrationSeconds + r.cost.samplingSeconds - 2 * config.device.tau) < 1e-18)
    }

    @Test("Long t approaches exact NGD: device readout and one optimiser step")
    func longTimeIsNaturalGradient() throws {
        let p = try Problem(damping: 0.5)
        // Slowest mode λ_min(F) ≥ 0.5: after t = 60τ the start's weight is e^{-30} ≈ 1e-13.
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: 60, damping: 0.5, initialState: .gradient,
                                                                   device: Self.noiseless())
        let r = try NaturalGradientDevice<Double>(configuration: config).run(p.f, gradient: p.gradient)
        #expect(relativeError(r.direction, p.naturalGradient) < 1e-9)

        // The same through the optimisers: TNGD(SGD) against NGD(exact, SGD) on identical models.
        let schedule = try LearningRateSchedule(baseRate: 0.1, decay: .constant, warmupSteps: 0, totalSteps: 1)
        var ngdConfig = NaturalGradientConfiguration()
        ngdConfig.method = .exact
        ngdConfig.damping = 0.5
        let a = try Problem(damping: 0.5), b = try Problem(damping: 0.5)
        let ngd = try NaturalGradientDescent<Double>(inner: SGD<Double>(schedule: schedule), configuration: ngdConfig)
        let tngd = NaturalGradientDescent<Double>.thermodynamic(inner: try SGD<Double>(schedule: schedule), configuration: config)
        // Problem() linearised the model; restore the gradients the batches computed.
        let pairs: [(Problem, any CurvatureOptimizer<Double>)] = [(a, ngd), (b, tngd)]
        for (problem, optimizer) in pairs {
            var o = 0
            for q in problem.batch.model.namedParameters {
                q.gradient = Matrix(rows: q.value.rows, columns: q.value.columns, storage: Array(problem.gradient[o..<(o + q.count)]))
                o += q.count
            }
            optimizer.observeCurvature(problem.batch.batch)
            #expect(optimizer.update(problem.batch.model.namedParameters) == .applied)
        }
        let wa = a.batch.model.namedParameters.flatMap { $0.value.storage }
        let wb = b.batch.model.namedParameters.flatMap { $0.value.storage }
        #expect(relativeError(wb, wa) < 1e-9)
    }

    /// A device run that cannot happen (here: a layer the linearisation has no rule for) fails the step
    /// with `.failed` and leaves every parameter untouched — never a plain-gradient step reported as TNGD.
    @Test func failedDeviceRunFailsTheStep() throws {
        var rng = Xoshiro256StarStar(seed: 21)
        let model = Sequential<Double>(inputFeatures: 1, [Embedding<Double>(vocabulary: 4, dimension: 3, rng: &rng),
                                                         Linear<Double>(3, 3, rng: &rng)])
        let x = Matrix<Double>(rows: 4, columns: 1, storage: [0, 1, 2, 3])
        let labels = [0, 1, 2, 0]
        let loss = SoftmaxCrossEntropy<Double>()
        let value = loss.forward(model.forward(x, training: true), targets: labels)
        model.zeroGradients()
        model.backward(loss.gradient(targets: labels))
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: 1, device: DeviceConfiguration(beta: 100))
        let tngd = NaturalGradientDescent<Double>.thermodynamic(inner: try SGD<Double>(schedule: .constant(0.1)), configuration: config)
        let before = model.namedParameters.map(\.value)
        tngd.observeCurvature(CurvatureBatch(model: model, input: x, loss: loss, targets: labels, lossValue: value))
        let outcome = tngd.update(model.namedParameters)
        guard case let .failed(reason) = outcome else { Issue.record("expected .failed, got \(outcome)"); return }
        #expect(reason.contains("Embedding"), "\(reason)")
        #expect(tngd.failedSteps == 1 && tngd.step == 0)
        #expect(model.namedParameters.map(\.value) == before)
    }

    /// Trains two copies of a model for `steps` steps, one with `reference`, one with TNGD(t = 0) around
    /// `wrapped`; returns both weight vectors.
    static func trainPair(reference: any Optimizer<Double>, wrapped: any Optimizer<Double>,
                          initialState: ThermodynamicNaturalGradientConfiguration.InitialState, steps: Int) throws -> ([Double], [Double]) {
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: 0, initialState: initialState,
                                                                   device: DeviceConfiguration(beta: 100))
        let tngd = NaturalGradientDescent<Double>.thermodynamic(inner: wrapped, configuration: config)
        var weights: [[Double]] = []
        for optimizer in [reference, tngd as any Optimizer<Double>] {
            let model = convolutionalModel(seed: 8)
            var rng = Xoshiro256StarStar(seed: 12)
            for _ in 0..<steps {
                let x: Matrix<Double> = rng.normalMatrix(rows: 5, columns: 16)
                let labels = (0..<5).map { _ in rng.nextInt(below: 3) }
                let loss = SoftmaxCrossEntropy<Double>()
                let value = loss.forward(model.forward(x, training: true), targets: labels)
                model.zeroGradients()
                model.backward(loss.gradient(targets: labels))
                (optimizer as? any CurvatureOptimizer<Double>)?.observeCurvature(
                    CurvatureBatch(model: model, input: x, loss: loss, targets: labels, lossValue: value))
                #expect(optimizer.update(model.namedParameters) == .applied)
            }
            weights.append(model.namedParameters.flatMap { $0.value.storage })
        }
        #expect(tngd.failedSteps == 0 && tngd.missingCurvature == 0)
        return (weights[0], weights[1])
    }

    @Test("t = 0 from the gradient reproduces SGD with momentum and Adam bit for bit")
    func zeroTimeIsFirstOrder() throws {
        let schedule = try LearningRateSchedule(baseRate: 0.05, decay: .constant, warmupSteps: 0, totalSteps: 4)
        let sgd = try Self.trainPair(reference: SGD<Double>(schedule: schedule, momentum: 0.9),
                                     wrapped: SGD<Double>(schedule: schedule, momentum: 0.9), initialState: .gradient, steps: 4)
        #expect(sgd.0 == sgd.1)
        let adam = try Self.trainPair(reference: Adam<Double>(schedule: schedule), wrapped: Adam<Double>(schedule: schedule),
                                      initialState: .gradient, steps: 4)
        #expect(adam.0 == adam.1)
        // With the warm start, t = 0 keeps the first gradient: only the first step is SGD's.
        let one = try Self.trainPair(reference: SGD<Double>(schedule: schedule), wrapped: SGD<Double>(schedule: schedule),
                                     initialState: .warmStart, steps: 1)
        #expect(one.0 == one.1)
        let two = try Self.trainPair(reference: SGD<Double>(schedule: schedule), wrapped: SGD<Double>(schedule: schedule),
                                     initialState: .warmStart, steps: 2)
        #expect(two.0 != two.1)
    }

    /// Long-t, noise-free readout of a device with the given converters and mismatch, started from ∇ℓ.
    static func programmedReadout(_ p: Problem, dac: DeviceConfiguration.Converter = .ideal, adc: DeviceConfiguration.Converter = .ideal,
                                  mismatch: Double = 0, analogTime: Double = 60) throws -> NaturalGradientReadout<Double> {
        let device = try DeviceConfiguration(beta: .greatestFiniteMagnitude, timeStep: 0.1, inputConverter: dac,
                                             outputConverter: adc, mismatch: mismatch, seed: 5)
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: analogTime, damping: p.f.damping, initialState: .gradient,
                                                                   device: device)
        return try NaturalGradientDevice<Double>(configuration: config).run(p.f, gradient: p.gradient)
    }

    /// Least-squares slope of `y` against `x`.
    static func slope(_ x: [Double], _ y: [Double]) -> Double {
        let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
        let sxy = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        return sxy / x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
    }

    @Test("DAC bits on J_f, H_L, J_fᵀ and ∇ℓ: the readout is the programmed system's solution, its error halves per bit")
    func dacQuantisation() throws {
        let p = try Problem(damping: 0.5)
        // Exactness: the device relaxes to F̃⁻¹ q(∇ℓ) for the arrays it realised (dense F̃ from unit vectors).
        let bitsList = [6, 8, 10, 12, 14]
        var errors: [Double] = []
        for bits in bitsList {
            let dac = DeviceConfiguration.Converter(bits: bits, range: 1)
            let r = try Self.programmedReadout(p, dac: dac)
            let programmed = ProgrammedGaussNewton(p.f, converter: dac, mismatch: 0, seed: 5, programming: 1)
            let n = p.f.dimension
            var dense = Matrix<Double>(rows: n, columns: n)
            for j in 0..<n {
                var e = [Double](repeating: 0, count: n)
                e[j] = 1
                let col = programmed.product(e)
                for i in 0..<n { dense[i, j] = col[i] }
            }
            // ∇ℓ through the same DAC (scaled to the range by γ = 1/max|∇ℓ|, rounded to nearest).
            let largest = p.gradient.map(abs).max()!
            let q = UniformQuantizer(bits: bits, range: 1)
            let g = p.gradient.map { q.quantize($0 / largest) * largest }
            let solved = try LAPACK.solve(dense, g)
            // Slowest mode ≥ λ = 0.5 (the quantised data term stays PSD to within its tiny error): e^{-30} left.
            #expect(relativeError(r.direction, solved) < 1e-9, "\(bits) bits")
            #expect(r.programmingErrors.forward > 0 && r.programmingErrors.gradient > 0)
            errors.append(relativeError(r.direction, p.naturalGradient))
        }
        // Theory: every entry error is ≤ Δ/2 with Δ ∝ 2^{-bits}, and the solution error is first order in
        // them, so log2(error) falls with slope −1 per bit (nearest rounding: the errors are pseudo-random,
        // hence the band rather than an exact −1).
        let s = Self.slope(bitsList.map(Double.init), errors.map { log2($0) })
        #expect(s > -1.25 && s < -0.75, "slope \(s), errors \(errors)")
    }

    @Test("ADC bits: each readout coordinate moves by at most Δ/2 = range/2^bits (auto range 2 max|g̃|)")
    func adcQuantisation() throws {
        let p = try Problem(damping: 0.5)
        let ideal = try Self.programmedReadout(p).direction
        let largest = ideal.map(abs).max()!
        for bits in [4, 8, 12] {
            let r = try Self.programmedReadout(p, adc: .init(bits: bits, range: nil)).direction
            let worst = zip(r, ideal).map { abs($0 - $1) }.max()!
            let bound = 2 * largest / pow(2, Double(bits))
            #expect(worst <= bound * (1 + 1e-12) && worst > 0, "\(bits) bits: \(worst) vs \(bound)")
        }
    }

    @Test("Resistor mismatch ε: the readout error grows linearly in ε (first-order perturbation), draws fixed per device")
    func mismatch() throws {
        let p = try Problem(damping: 0.5)
        let eps = [1e-4, 1e-3, 1e-2]
        let errors = try eps.map { relativeError(try Self.programmedReadout(p, mismatch: $0).direction, p.naturalGradient) }
        let s = Self.slope(eps.map { log10($0) }, errors.map { log10($0) })
        // δx = −F⁻¹ δF x + O(ε²) with δF linear in ε for fixed draws η: slope 1 up to the O(ε) correction.
        #expect(abs(s - 1) < 0.05, "slope \(s), errors \(errors)")
        // The same cells at every programming: two runs of one device realise the same arrays.
        let a = ProgrammedGaussNewton(p.f, converter: .ideal, mismatch: 1e-2, seed: 5, programming: 1)
        let b = ProgrammedGaussNewton(p.f, converter: .ideal, mismatch: 1e-2, seed: 5, programming: 2)
        #expect(a.forwardJacobian == b.forwardJacobian && a.forwardJacobian != a.transposeJacobian)
    }

    @Test("Summed-loss normalisation: long t gives (J_fᵀH_LJ_f/b + λ/b)⁻¹∇ℓ, the mean-loss natural gradient at damping λ/b")
    func summedLossNormalisation() throws {
        let p = try Problem(damping: 0.5)
        let config = try ThermodynamicNaturalGradientConfiguration(analogTime: 60, damping: 0.5, initialState: .gradient,
                                                                   lossNormalization: .sum, device: Self.noiseless())
        let tngd = NaturalGradientDescent<Double>.thermodynamic(inner: try SGD<Double>(schedule: .init(baseRate: 0.1)), configuration: config)
        let direction = try tngd.direction(for: p.gradient, batch: p.batch.batch)
        var f = p.dampedGGN
        let b = Double(p.batch.batch.examples)
        f.addDiagonal(0.5 / b - 0.5)
        // Slowest mode of F_sum = b·GGN + λ is ≥ λ = 0.5: e^{-30} of the start is left after 60 τ.
        #expect(relativeError(direction, try LAPACK.cholesky(f).solve(p.gradient)) < 1e-9)
        #expect(relativeError(direction, p.naturalGradient) > 1e-3)   // not the mean-normalised answer
    }

    @Test("Invalid settings are refused with the field named")
    func validation() throws {
        let device = try DeviceConfiguration()
        #expect(throws: ThermodynamicNaturalGradientError.self) {
            try ThermodynamicNaturalGradientConfiguration(analogTime: -1, device: device)
        }
        #expect(throws: ThermodynamicNaturalGradientError.self) {
            try ThermodynamicNaturalGradientConfiguration(damping: 0, device: device)
        }
        #expect(throws: ThermodynamicNaturalGradientError.self) {
            try ThermodynamicNaturalGradientConfiguration(device: DeviceConfiguration(integrator: .exact))
        }
        #expect(throws: ThermodynamicNaturalGradientError.self) {
            try ThermodynamicNaturalGradientConfiguration(analogTime: 1, averagingTime: 2, device: device)
        }
        #expect(throws: ThermodynamicNaturalGradientError.self) {
            try ThermodynamicNaturalGradientConfiguration.device(noise: 1e-3, mismatch: 1)
        }
    }
}
