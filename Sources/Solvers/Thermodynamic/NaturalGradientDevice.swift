import Curvature
import Foundation
import Linalg
import NeuralNet
import ThermoDevice

/// What one TNGD device run returned and cost.
public struct NaturalGradientReadout<Scalar: BLASScalar>: Sendable {
    /// `g̃`: the (averaged) readout of the device state, `N` values.
    public let direction: [Scalar]
    /// Modelled device time and energy term by term (`DeviceCost`): DAC transfer of the three resistor
    /// arrays and `∇ℓ`, programming of the resistors, analog time `t` (equilibration = run before the
    /// averaging window, sampling = the window), ADC transfer of the readouts; plus simulator wall time.
    public let cost: DeviceCost
    /// Resistors programmed, `b d_z (b d_z + 2N)`.
    public let resistors: Int
    /// Bits sent to the device (resistor values and `∇ℓ`) and read back (readouts).
    public let bitsIn: Double
    public let bitsOut: Double
    /// Integrator step actually used (τ) and the number of steps of the run (delay excluded).
    public let integratorStep: Double
    public let steps: Int
    /// The `λ_max(F)` bound used to choose the Euler–Maruyama step (NaN when `t = 0`); exact runs: `λ_max(F)`.
    public let lambdaMaxBound: Double
    /// Relative Frobenius programming errors of the arrays `J_f`, `J_fᵀ`, `H_L` and of `∇ℓ` (DAC quantisation
    /// and mismatch; all 0 on an ideal device).
    public let programmingErrors: (forward: Double, transpose: Double, hessian: Double, gradient: Double)
    /// The integrator that ran: `.exact`, or `.eulerMaruyama` (asked for, or the fallback for a non-symmetric
    /// realised drift — `fallback` then says why).
    public let integrator: ThermodynamicNaturalGradientConfiguration.Integrator
    public let fallback: String?
    /// Exact runs: the rank `r` of `F − λI` simulated in its eigenbasis (0 otherwise).
    public let rank: Int
}

/// The simulated TNGD device (docs/tngd.md#device-dynamics): holds the state `g̃` between optimiser steps and, at each
/// step, programs `F = J_fᵀ H_L J_f / b + λI` (as a `GaussNewtonOperator`) and `∇ℓ`, runs
///
///     dg̃ = −(F g̃ − ∇ℓ) dt + sqrt(2κ0) dW
///
/// for the analog time `t`, averages the readouts of the last `averagingTime` τ, then lets the state run on
/// for the delay `t_d`. Two integrators (`ThermodynamicNaturalGradientConfiguration.Integrator`):
/// - `.exact` (default): the law of the whole run sampled exactly in the eigenbasis of the realised `F`
///   (`GaussNewtonEigenbasis`, `ExactNaturalGradientRun`), a cost independent of `t`;
/// - `.eulerMaruyama`: `g̃ ← g̃ − h (F g̃ − ∇ℓ) + sqrt(2 h κ0) z` (the paper's v1 has the drift sign wrong)
///   with `LangevinChains` (one chain, a matrix-free drift), `h ≤ δt` kept stable by a `λ_max` bound.
/// The answer comes only from the dynamics: `F⁻¹∇ℓ` is never computed. The mean of the state after time `t`
/// is `e^{-Ft}(g̃₀ − F⁻¹∇ℓ) + F⁻¹∇ℓ` (for the Euler–Maruyama chain `(I − hF)^{t/h}` replaces `e^{-Ft}`).
///
/// Non-ideal devices (`DeviceConfiguration`): a finite-resolution DAC quantises the arrays `J_f`, `H_L`,
/// `J_fᵀ` (`ProgrammedGaussNewton`) and `∇ℓ` (each scaled to the DAC range by its own gain, unscaled
/// digitally), mismatch perturbs every resistor, and a finite-resolution ADC quantises every readout (fixed
/// range, or auto-ranged to `2 max|g̃|` at the first readout of the run).
public final class NaturalGradientDevice<Scalar: NeuralScalar> {
    public let configuration: ThermodynamicNaturalGradientConfiguration
    /// The device state carried to the next run (after the delay), nil before the first run.
    public private(set) var state: [Scalar]?
    /// The last power-iteration vector (warm start of the next `λ_max` estimate; part of the checkpoint,
    /// because the integrator step, hence the trajectory, depends on it).
    public private(set) var powerVector: [Scalar]?
    private var runs: UInt64 = 0

    public init(configuration: ThermodynamicNaturalGradientConfiguration) {
        self.configuration = configuration
    }

    /// Restores the carried state (checkpoints).
    public func restore(state: [Scalar]?, runs: UInt64, powerVector: [Scalar]? = nil) {
        self.state = state
        self.runs = runs
        self.powerVector = powerVector
    }

    /// Runs done so far (mixes into the noise seed).
    public var runCount: UInt64 { runs }

    /// One device run for curvature `f` and gradient `gradient` (flat, `N`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    /// `f` is the ideal `F` (matrix-free); the device realises it through its converters and resistors.
    public func run(_ f: GaussNewtonOperator<Scalar>, gradient: [Scalar]) throws(ThermodynamicNaturalGradientError)
        -> NaturalGradientReadout<Scalar> {
        let clock = ContinuousClock(), start = clock.now
        let c = configuration, d = c.device
        let n = f.dimension
        guard gradient.count == n else {
            throw .invalidConfiguration(field: "gradient", value: "\(gradient.count) values", requirement: "expected N = \(n)")
        }
        guard gradient.allSatisfy(\.isFinite) else { throw .nonFinite(what: "the gradient ∇ℓ") }
        runs += 1

        // What the device is programmed with: the arrays (ideal: F itself, matrix-free) and ∇ℓ through the DAC.
        let curvature: any DeviceCurvature<Scalar>
        var errors = (forward: 0.0, transpose: 0.0, hessian: 0.0, gradient: 0.0)
        var bias = gradient
        if c.programsArrays && Swift.max(c.analogTime, c.delay) > 0 {
            let programmed = ProgrammedGaussNewton(f, converter: d.inputConverter, mismatch: d.mismatch, seed: d.seed, programming: runs)
            curvature = programmed
            errors = (programmed.programmingErrors.forward, programmed.programmingErrors.transpose, programmed.programmingErrors.hessian, 0)
        } else {
            curvature = f
        }
        if let bits = d.inputConverter.bits {
            let range = d.inputConverter.range ?? 1
            let largest = gradient.reduce(0.0) { Swift.max($0, abs(Double($1))) }
            let gain = largest > 0 ? range / largest : 1
            let q = UniformQuantizer(bits: bits, range: range, rounding: d.inputConverter.rounding)
            var rng = Xoshiro256StarStar(seed: d.seed ^ (runs &* 0x9E37_79B9_7F4A_7C15), stream: 23)
            bias = gradient.map { Scalar(q.quantize(Double($0) * gain, uniform: rng.nextUniform()) / gain) }
            var diff = bias
            BLAS.axpy(-1, gradient, &diff)
            errors.gradient = Double(BLAS.norm(diff)) / Swift.max(Double(BLAS.norm(gradient)), .leastNormalMagnitude)
        }
        // The cold start is the gradient as the digital side holds it (t = 0 then passes ∇ℓ through exactly).
        let initial = c.initialState == .warmStart && state?.count == n ? state! : gradient

        let horizon = Swift.max(c.analogTime, c.delay)
        var fallback: String? = nil
        if c.integrator == .exact && horizon > 0 {
            let basis: GaussNewtonEigenbasis<Scalar>?
            do {
                if let programmed = curvature as? ProgrammedGaussNewton<Scalar> {
                    basis = try GaussNewtonEigenbasis.make(programmed, examples: f.linearization.examples)
                } else {
                    basis = try GaussNewtonEigenbasis.make(f)
                }
            } catch {
                throw .nonFinite(what: "the eigendecomposition of the programmed F (\(error))")
            }
            if let basis {
                return try exactRun(basis, f: f, bias: bias, initial: initial, errors: errors, start: start)
            }
            fallback = "the realised drift is not symmetric (mismatch ε = \(d.mismatch), DAC \(d.inputConverter)): Euler–Maruyama"
        }

        // Integrator step: δt, or less when the spectrum of F makes δt unstable (δt λ_max < 2).
        var lambdaBound = Double.nan
        var h = c.timeStep
        if horizon > 0 {
            let estimate = curvature.largestEigenvalueBound(iterations: c.powerIterations, safetyFactor: 1.1, start: powerVector)
            lambdaBound = estimate.bound
            powerVector = estimate.vector
            h = Swift.min(h, c.stepSafety * 2 / lambdaBound)
        }
        let steps = c.analogTime > 0 ? Swift.max(1, Int((c.analogTime / h - 1e-9).rounded(.up))) : 0
        if steps > 0 { h = c.analogTime / Double(steps) }
        let window = steps > 0 ? Swift.min(steps, Int((c.averagingTime / h).rounded())) : 0

        var readout = initial
        var chainSteps = 0
        if horizon > 0 {
            let seed = d.seed ^ (runs &* 0x9E37_79B9_7F4A_7C15)
            let chains = LangevinChains<Scalar>(scheme: .eulerMaruyama(drift: curvature.drift()), dimension: n, chains: 1,
                                                bias: Matrix(rows: 1, columns: n, storage: bias), timeStep: h,
                                                beta: d.beta, noiseStreams: 1, seed: seed)
            chains.setState(initial)
            if steps > 0 {
                chains.step(steps - window)
                // One readout through the ADC (auto range fixed at the first readout of the run).
                var adc: UniformQuantizer? = nil
                var dither = Xoshiro256StarStar(seed: seed, stream: 0xD1)
                func read() -> [Scalar] {
                    var x = chains.withState { p, _ in Array(UnsafeBufferPointer(start: p, count: n)) }
                    if let bits = d.outputConverter.bits {
                        if adc == nil {
                            let range = d.outputConverter.range
                                ?? Swift.max(2 * x.reduce(0.0) { Swift.max($0, abs(Double($1))) }, .leastNormalMagnitude)
                            adc = UniformQuantizer(bits: bits, range: range, rounding: d.outputConverter.rounding)
                        }
                        x.withUnsafeMutableBufferPointer { adc!.quantizeInPlace($0, dither: &dither) }
                    }
                    return x
                }
                if window > 0 {
                    var sum = [Double](repeating: 0, count: n)
                    for _ in 0..<window {
                        chains.step()
                        let x = read()
                        for j in 0..<n { sum[j] += Double(x[j]) }
                    }
                    readout = sum.map { Scalar($0 / Double(window)) }
                } else {
                    readout = read()
                }
            }
            if c.delay > 0 {
                let delaySteps = Swift.max(1, Int((c.delay / h - 1e-9).rounded(.up)))
                chains.step(delaySteps)
            }
            chainSteps = chains.stepsTaken
            state = chains.withState { p, _ in Array(UnsafeBufferPointer(start: p, count: n)) }
        } else {
            state = initial
        }
        guard readout.allSatisfy(\.isFinite), state!.allSatisfy(\.isFinite) else {
            state = nil
            throw .nonFinite(what: "the device state (Euler–Maruyama diverged at step h = \(h)τ, λ_max bound \(lambdaBound))")
        }

        return readoutWithCost(f, direction: readout, steps: steps, window: window, h: h, chainSteps: chainSteps,
                               lambdaBound: lambdaBound, errors: errors, start: start,
                               integrator: .eulerMaruyama, fallback: fallback, rank: 0)
    }

    /// The exact run (`ExactNaturalGradientRun`): readouts `δt` apart, `t` split into equal intervals ≤ δt.
    private func exactRun(_ basis: GaussNewtonEigenbasis<Scalar>, f: GaussNewtonOperator<Scalar>, bias: [Scalar], initial: [Scalar],
                          errors: (forward: Double, transpose: Double, hessian: Double, gradient: Double),
                          start: ContinuousClock.Instant) throws(ThermodynamicNaturalGradientError) -> NaturalGradientReadout<Scalar> {
        let c = configuration, d = c.device
        let steps = c.analogTime > 0 ? Swift.max(1, Int((c.analogTime / c.timeStep - 1e-9).rounded(.up))) : 0
        let h = steps > 0 ? c.analogTime / Double(steps) : c.timeStep
        let window = steps > 0 ? Swift.min(steps, Int((c.averagingTime / h).rounded())) : 0
        let schedule: OrnsteinUhlenbeckRun
        do {
            schedule = try OrnsteinUhlenbeckRun(analogTime: c.analogTime, readouts: Swift.max(1, window), readoutSpacing: h,
                                                delay: c.delay, noise: 1 / d.beta)
        } catch {
            throw .invalidConfiguration(field: "averagingTime", value: "\(c.averagingTime)", requirement: error.description)
        }
        let adc = d.outputConverter.bits.map { (bits: $0, range: d.outputConverter.range, rounding: d.outputConverter.rounding) }
        let run = ExactNaturalGradientRun(basis: basis, damping: Double(f.damping), schedule: schedule, adc: adc)
        var rng = Xoshiro256StarStar(seed: d.seed ^ (runs &* 0x9E37_79B9_7F4A_7C15), stream: 40)
        var (readout, carried) = run.run(start: initial, input: bias, rng: &rng)
        if steps == 0 { readout = initial }
        state = carried
        let lambdaMax = Double(f.damping) + (basis.rates.last ?? 0)
        guard readout.allSatisfy(\.isFinite), carried.allSatisfy(\.isFinite) else {
            state = nil
            throw .nonFinite(what: "the device state (exact run, λ_max(F) = \(lambdaMax), smallest rate λ + μ = "
                             + "\(Double(f.damping) + (basis.rates.first ?? 0)))")
        }
        let transitions = steps == 0 ? 0 : (adc != nil && window > 1 ? window : 1)
        return readoutWithCost(f, direction: readout, steps: steps, window: window, h: h, chainSteps: transitions,
                               lambdaBound: lambdaMax, errors: errors, start: start, integrator: .exact, fallback: nil,
                               rank: basis.rank)
    }

    /// The readout with its device cost: the three resistor arrays and `∇ℓ` through the DAC, resistor writes,
    /// analog time, readouts.
    private func readoutWithCost(_ f: GaussNewtonOperator<Scalar>, direction readout: [Scalar], steps: Int, window: Int, h: Double,
                                 chainSteps: Int, lambdaBound: Double,
                                 errors: (forward: Double, transpose: Double, hessian: Double, gradient: Double),
                                 start: ContinuousClock.Instant, integrator: ThermodynamicNaturalGradientConfiguration.Integrator,
                                 fallback: String?, rank: Int) -> NaturalGradientReadout<Scalar> {
        let c = configuration, d = c.device, n = f.dimension
        let clock = ContinuousClock()
        let resistors = f.resistorCount
        let readouts = steps == 0 ? 0 : Swift.max(1, window)
        let bitsIn = Double(resistors + n) * Double(d.inputConverter.wireBits)
        let bitsOut = Double(readouts * n) * Double(d.outputConverter.wireBits)
        var cost = DeviceCost()
        if steps > 0 {
            cost.dacTransferSeconds = bitsIn / d.transferRate
            cost.programmingSeconds = Double(resistors) * d.costModel.programmingTimePerCoupling / Double(d.costModel.parallelRows)
            cost.equilibrationSeconds = (c.analogTime - Double(window) * h) * d.tau
            cost.samplingSeconds = Double(window) * h * d.tau
            cost.adcReadoutSeconds = bitsOut / d.transferRate
            cost.energyJoules = (bitsIn + bitsOut) * d.costModel.energyPerBit
                + d.costModel.powerPerCell * Double(n) * (c.analogTime + c.delay) * d.tau
        }
        cost.readouts = readouts
        cost.simulatedChainSteps = chainSteps
        let elapsed = clock.now - start
        cost.wallSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return NaturalGradientReadout(direction: readout, cost: cost, resistors: resistors, bitsIn: steps > 0 ? bitsIn : 0,
                                      bitsOut: bitsOut, integratorStep: h, steps: steps, lambdaMaxBound: lambdaBound,
                                      programmingErrors: errors, integrator: integrator, fallback: fallback, rank: rank)
    }
}
