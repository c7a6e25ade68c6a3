import Curvature
import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Solvers
import ThermoDevice

/// How much thermal noise TNGD's readout carries, measured against theory (issue 7, docs/tngd.md#noise-and-loss-normalisation).
///
/// Two devices with identical settings and seeds except κ0 (the second at κ0 = 1e-300, noise-free) run
/// `runs` warm-started device runs of analog time `t` on the same model `θ` (not updated) and the same
/// batch. The dynamics are linear in the state, so the difference of the two states is exactly the
/// noise process: `de = −F e dt + sqrt(2κ0) dW`, `e(0) = 0`. Its variance after total time `T = runs·t` is
/// `κ0 Σᵢ (1 − e^{−2(μᵢ+λ)T}) / (μᵢ + λ)` (`T = t` for the cold start from ∇ℓ) over the eigenvalues `μᵢ + λ` of `F`. `F − λI = J_fᵀ H_L J_f / b`
/// has rank `r ≤ b(d_z − 1)` (each `H_L` block annihilates the all-ones vector), so at least `N − r`
/// directions see only `λ` and give `κ0 (1 − e^{−2λT}) / λ` each; the other `r` give between 0 and that.
/// Hence per coordinate
///
///     (N − r)/N · κ0 (1 − e^{−2λT})/λ  ≤  E‖e‖²/N  ≤  κ0 (1 − e^{−2λT})/λ
///
/// (computed for the Euler–Maruyama chain actually run, step h: `κ0 (1 − (1 − hλ)^{2T/h}) / (λ (1 − hλ/2))`,
/// 5 % above the continuous value at hλ = 0.1).
///
/// The update noise per coordinate is `η` times the root of that; the signal is `η ‖g̃₀‖/√N` with `g̃₀` the
/// noise-free readout.
///
/// A bug check rides along: the noise-free state must relax to `F⁻¹∇ℓ` (here from conjugate gradient on the
/// same factored `F`, `NaturalGradientSolve.conjugateGradient`, to a 1e-6 residual) with a remaining error at
/// most `e^{−λT}·‖g̃(0) − F⁻¹∇ℓ‖` (every eigenvalue of `F` is ≥ λ; Euler–Maruyama contracts at least as
/// `(1 − hλ)^{T/h} ≤ e^{−λT}` for stable h), in Float round-off.
public struct TNGDNoiseProbe: Sendable, CustomStringConvertible {
    public let parameters: Int
    public let rankBound: Int
    public let noise: Double
    public let damping: Double
    public let totalTime: Double
    public let learningRate: Double
    /// Measured `‖e‖²/N` after the last run.
    public let measuredVariance: Double
    /// The bounds above.
    public let predictedLower: Double
    public let predictedUpper: Double
    /// `‖g̃₀‖/√N` (root mean square of the noise-free readout).
    public let signalRMS: Double
    /// `‖g̃₀ − F⁻¹∇ℓ‖ / ‖F⁻¹∇ℓ‖` and its bound `e^{−λT} ‖∇ℓ − F⁻¹∇ℓ‖ / ‖F⁻¹∇ℓ‖` (the first run starts at ∇ℓ).
    public let naturalGradientError: Double
    public let naturalGradientBound: Double

    /// Runs the probe on `model` and one batch (`input`, `labels`) with TNGD settings `configuration`
    /// (its κ0 is the one measured), `runs` runs.
    public static func measure(model: Sequential<Float>, input: Matrix<Float>, labels: [Int],
                               configuration: ThermodynamicNaturalGradientConfiguration, runs: Int,
                               learningRate: Double) throws -> TNGDNoiseProbe {
        let quiet = try ThermodynamicNaturalGradientConfiguration(
            analogTime: configuration.analogTime, damping: configuration.damping, delay: configuration.delay,
            averagingTime: configuration.averagingTime, initialState: configuration.initialState,
            powerIterations: configuration.powerIterations, stepSafety: configuration.stepSafety,
            lossNormalization: configuration.lossNormalization, integrator: configuration.integrator,
            device: ThermodynamicNaturalGradientConfiguration.device(noise: 1e-300, timeStep: configuration.timeStep,
                                                                     seed: configuration.device.seed))
        let loss = SoftmaxCrossEntropy<Float>()
        let output = model.forward(input, training: false)
        let value = loss.forward(output, targets: labels)
        model.zeroGradients()
        model.backward(loss.gradient(targets: labels))
        let gradient = model.namedParameters.flatMap { $0.gradient.storage }
        let batch = CurvatureBatch(model: model, input: input, loss: loss, targets: labels, lossValue: value)
        let noisy = ThermodynamicLinearSolver<Float>(configuration: configuration)
        let clean = ThermodynamicLinearSolver<Float>(configuration: quiet)
        let scale: Float = configuration.lossNormalization == .sum ? Float(input.rows) : 1
        let rhs = scale == 1 ? gradient : gradient.map { $0 * scale }
        func operatorOfBatch() -> GaussNewtonOperator<Float> {
            GaussNewtonOperator(batch: batch, damping: Float(configuration.damping), dataScale: scale)
        }
        var a: [Float] = [], b: [Float] = []
        var h = configuration.timeStep
        for _ in 0..<max(1, runs) {
            a = try noisy.solve(operatorOfBatch(), rhs: rhs, warmStart: nil)
            h = noisy.lastReadout?.integratorStep ?? h
            b = try clean.solve(operatorOfBatch(), rhs: rhs, warmStart: nil)
        }
        let n = gradient.count
        // F⁻¹∇ℓ by CG on the same factored F (the models' caches are re-linearised here).
        let lin = try LinearizedModel(model, input: input)
        let f = GaussNewtonOperator(linearization: lin, curvature: batch.curvature, damping: 0,
                                    dataScale: configuration.lossNormalization == .sum ? Float(input.rows) : 1)
        let cg = try NaturalGradientSolve.conjugateGradient(gradient: gradient.map { $0 * scale }, damping: Float(configuration.damping),
                                                            tolerance: 1e-6, maxIterations: 5000) {
            (v: [Float]) throws(KFACError) -> [Float] in f.product(v)
        }
        let exact = cg.solution.map(Double.init)
        let exactNorm = exact.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var startGap = 0.0, gap = 0.0
        for i in 0..<n {
            startGap += pow(Double(gradient[i] * scale) - exact[i], 2)
            gap += pow(Double(b[i]) - exact[i], 2)
        }
        var sq = 0.0, signal = 0.0
        for i in 0..<n {
            let d = Double(a[i]) - Double(b[i])
            sq += d * d
            signal += Double(b[i]) * Double(b[i])
        }
        let examples = input.rows, outputs = output.columns
        let r = min(n, examples * (outputs - 1))
        let kappa = configuration.noise, lambda = configuration.damping
        // The warm start carries the noise from run to run; a cold start (from ∇ℓ) begins every run afresh.
        let total = configuration.analogTime * Double(configuration.initialState == .warmStart ? max(1, runs) : 1)
        // Euler–Maruyama with step h (the same for every run here: θ and the batch are fixed):
        // 2hκ0 Σ_{j<k} (1 − hλ)^{2j} = κ0 (1 − (1 − hλ)^{2k}) / (λ (1 − hλ/2)), k = T/h.
        let null = kappa * (1 - pow(1 - h * lambda, 2 * total / h)) / (lambda * (1 - h * lambda / 2))
        return TNGDNoiseProbe(parameters: n, rankBound: r, noise: kappa, damping: lambda, totalTime: total,
                              learningRate: learningRate, measuredVariance: sq / Double(n),
                              predictedLower: Double(n - r) / Double(n) * null, predictedUpper: null,
                              signalRMS: (signal / Double(n)).squareRoot(),
                              naturalGradientError: gap.squareRoot() / exactNorm,
                              naturalGradientBound: configuration.initialState == .warmStart
                                ? exp(-lambda * total) * startGap.squareRoot() / exactNorm : .nan)
    }

    public var description: String {
        let m = measuredVariance
        return String(format: "κ0 %g, λ %g, T = %g τ, N %d, rank ≤ %d: noise variance per coordinate measured %.4g, "
                      + "predicted %.4g … %.4g; update noise η·√var = %.3g per coordinate vs signal η·rms(g̃₀) = %.3g "
                      + "(ratio %.3g); whole update: noise ‖·‖ %.3g vs signal %.3g; noise-free readout vs F⁻¹∇ℓ (CG): relative error "
                      + "%.3g (bound e^{−λT}: %.3g)",
                      noise, damping, totalTime, parameters, rankBound, m, predictedLower, predictedUpper,
                      learningRate * m.squareRoot(), learningRate * signalRMS, m.squareRoot() / max(signalRMS, 1e-300),
                      learningRate * (m * Double(parameters)).squareRoot(), learningRate * signalRMS * Double(parameters).squareRoot(),
                      naturalGradientError, naturalGradientBound)
    }
}
