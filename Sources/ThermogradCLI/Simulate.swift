import ArgumentParser
import Foundation
import Linalg
import ThermoDevice

/// `thermograd simulate solve|inverse`: run the simulated thermodynamic device on a seeded random
/// SPD matrix and compare with LAPACK.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve or invert a random SPD matrix on the simulated thermodynamic device.",
        discussion: """
        The test matrix has eigenvalues log-uniform in [1/κ, 1] in a random basis (seeded); b is \
        standard normal. The device's estimate comes only from simulated trajectories; LAPACK is used \
        only to report the error. Prints the settings, the error, the statistical error bar, the \
        modelled device time per term and the wall time.

        Examples:
          thermograd simulate solve --n 256 --kappa 100 --samples 10000
          thermograd simulate inverse --n 128 --kappa 10 --samples 20000 \\
            --integrator exact --interval 5
        """,
        subcommands: [SimulateSolve.self, SimulateInverse.self]
    )
}

/// Options common to both protocols.
struct SimulateProblemOptions: ParsableArguments {
    @Option(help: "Matrix size n.")
    var n: Int = 256
    @Option(help: "Condition number κ of the test matrix.")
    var kappa: Double = 100
    @Option(help: "Number of readouts (solve: analog time = samples × interval).")
    var samples: Int = 10000
    @Option(help: "Analog time between readouts, in τ.")
    var interval: Double = 1
    @Option(help: "Burn-in in τ (default: 7 relaxation times of the programmed matrix).")
    var burnIn: Double?
    @Option(help: "Seed of the test problem.")
    var seed: UInt64 = 1
    @OptionGroup var threading: ThreadsOption<OpenBLASChoosesThreads>
    @Option(help: "Precision: float or double.")
    var precision: String = "float"

    func validate() throws {
        guard n >= 1, n <= 4096 else { throw ValidationError("--n must be in 1…4096") }
        guard kappa >= 1 else { throw ValidationError("--kappa must be at least 1") }
        guard samples >= 1, samples <= CovarianceSampling.largestSampleCount else {
            throw ValidationError("--samples must be in 1…\(CovarianceSampling.largestSampleCount)")
        }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        guard ["float", "double"].contains(precision) else { throw ValidationError("--precision is float or double") }
    }
}

func printSettings(_ p: SimulateProblemOptions, _ config: DeviceConfiguration, _ programmed: String) {
    print("problem: n = \(p.n), κ = \(p.kappa), samples = \(p.samples), interval = \(p.interval)τ, seed = \(p.seed), "
          + "precision = \(p.precision), BLAS threads = \(BLASThreads.current)")
    print("device: \(config)")
    print("programmed: \(programmed)")
}

func describe<S>(_ p: ProgrammedMatrix<S>) -> String {
    String(format: "α = %.4g, λ̂_max = %.4g, realised λ ∈ [%.4g, %.4g], relaxation time %.4gτ, programming error %.3g",
           p.scale, p.lambdaBound, p.lambdaMin, p.lambdaMax, p.relaxationTime, p.programmingError)
}

/// A `simulate` protocol: given the seeded test matrix, its device and its programming, estimate and report.
protocol SimulateProtocol: ParsableCommand {
    var problem: SimulateProblemOptions { get }
    var device: DeviceOptions<SimulatorDevice> { get }
    func run<S: BLASScalar>(_ a: Matrix<S>, _ config: DeviceConfiguration, _ dev: inout ThermodynamicDevice<S>,
                            _ programmed: ProgrammedMatrix<S>) throws
}

extension SimulateProtocol {
    func run() throws { try problem.run(device, solve: self) }
}

extension SimulateProblemOptions {
    /// Sets the threads, makes the test matrix and the device in the chosen precision, and runs `p` on them.
    func run(_ device: DeviceOptions<SimulatorDevice>, solve p: some SimulateProtocol) throws {
        threading.apply()
        if precision == "double" { try run(Double.self, device, p) } else { try run(Float.self, device, p) }
    }

    private func run<S: BLASScalar>(_: S.Type, _ device: DeviceOptions<SimulatorDevice>, _ p: some SimulateProtocol) throws {
        let a: Matrix<S> = try BenchmarkProblems.randomSPD(n, condition: kappa, seed: seed)
        let config = try device.simulatorConfiguration()
        try requireSimulationMemory(config, size: n, scalarBytes: MemoryLayout<S>.size)
        var dev = ThermodynamicDevice<S>(configuration: config)
        let programmed = try dev.program(a)
        try p.run(a, config, &dev, programmed)
    }
}

struct SimulateSolve: ParsableCommand, SimulateProtocol {
    static let configuration = CommandConfiguration(commandName: "solve", abstract: "Estimate A⁻¹b from the device mean.")
    @OptionGroup var problem: SimulateProblemOptions
    @OptionGroup(title: "Device") var device: DeviceOptions<SimulatorDevice>

    func run<S: BLASScalar>(_ a: Matrix<S>, _ config: DeviceConfiguration, _ dev: inout ThermodynamicDevice<S>,
                            _ programmed: ProgrammedMatrix<S>) throws {
        let b: [S] = BenchmarkProblems.randomVector(problem.n, seed: problem.seed)
        let time = Double(problem.samples) * problem.interval
        let r = try dev.solve(programmed, b, time: time, sampleInterval: problem.interval, burnIn: problem.burnIn)
        let err = LAPACKReference.relativeError(r.solution, try LAPACKReference.solution(a, b))
        printSettings(problem, config, describe(programmed))
        print("sampling: \(r.settings)")
        print(String(format: "relative error vs LAPACK: %.4g   (statistical error bar: %.4g)", err, r.relativeErrorBar))
        print("cost: \(r.cost + programmed.programmingCost)")
        print(String(format: "wall time: %.4g s (sampling %.4g s)", r.cost.wallSeconds, r.cost.wallSeconds))
    }
}

struct SimulateInverse: ParsableCommand, SimulateProtocol {
    /// Relative Frobenius bias of the inverse estimated from Euler–Maruyama samples with step `δt`: the
    /// discretised Ornstein–Uhlenbeck process `x ← x − δt·Ãx + sqrt(2δt/β)·ξ` is stationary with covariance
    /// `(βÃ)⁻¹ (I − δt·Ã/2)⁻¹` instead of `(βÃ)⁻¹`, so along eigenvalue `λ` the estimate is `1/λ` times
    /// `1 + c`, `c = δt·λ / (2 − δt·λ)`; the bias is `‖diag(c/λ)‖_F / ‖diag(1/λ)‖_F` (docs/device.md).
    static func eulerMaruyamaBias(eigenvalues: [Double], timeStep h: Double) -> Double {
        var biased = 0.0, exact = 0.0
        for lambda in eigenvalues where lambda > 0 {
            let c = h * lambda / (2 - h * lambda)
            biased += (c / lambda) * (c / lambda)
            exact += 1 / (lambda * lambda)
        }
        return exact > 0 ? (biased / exact).squareRoot() : 0
    }

    static let configuration = CommandConfiguration(commandName: "inverse", abstract: "Estimate A⁻¹ from β × the sample covariance.")
    @OptionGroup var problem: SimulateProblemOptions
    @OptionGroup(title: "Device") var device: DeviceOptions<SimulatorDevice>

    func run<S: BLASScalar>(_ a: Matrix<S>, _ config: DeviceConfiguration, _ dev: inout ThermodynamicDevice<S>,
                            _ programmed: ProgrammedMatrix<S>) throws {
        let r = try dev.inverse(programmed, samples: problem.samples, sampleInterval: problem.interval, burnIn: problem.burnIn)
        let err = LAPACKReference.relativeError(r.estimate, try LAPACKReference.inverse(a))
        printSettings(problem, config, describe(programmed))
        print("sampling: \(r.settings)")
        let bias = config.integrator == .eulerMaruyama ? Self.eulerMaruyamaBias(eigenvalues: programmed.eigenvalues, timeStep: config.timeStep) : 0
        print(String(format: "relative Frobenius error vs LAPACK: %.4g   (error bar: %.4g = statistical %.4g + Euler–Maruyama bias %.4g; "
                     + "theory sqrt((n+1)/N) = %.4g)",
                     err, r.relativeErrorBar + bias, r.relativeErrorBar, bias, (Double(problem.n + 1) / Double(problem.samples)).squareRoot()))
        if bias > r.relativeErrorBar {
            print(String(format: "the Euler–Maruyama bias dominates at δt = %gτ: use --integrator exact or a smaller --dt", config.timeStep))
        }
        print("cost: \(r.cost + programmed.programmingCost)")
        print(String(format: "wall time: %.4g s", r.cost.wallSeconds))
    }
}
