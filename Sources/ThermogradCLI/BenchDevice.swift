import ArgumentParser
import Foundation
import Linalg
import Reporting
import ThermoDevice

/// `thermograd bench device`: simulator throughput against the GEMM peak, and wall time to reach a
/// target accuracy on solve and inverse.
struct BenchDevice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Measure the device simulator: step throughput vs GEMM peak, time to 1 % (solve) / 10 % (inverse).",
        discussion: """
        Part 1 times one batched-chain step (chains × n state, one GEMM + noise) for every size and \
        chain count, reports GFLOP/s (2·chains·n² per Euler–Maruyama step, 4·chains·n² per exact step) \
        next to the square-GEMM peak measured in the same run with the same threads; eigenbasis steps \
        (O(n) per chain, no GEMM) are reported as seconds per chain step. Part 3 solves at thermox's \
        protocol and signal-to-noise (--thermox-sizes, κ = --thermox-kappa) and runs \
        bench/thermox_reference.py in the same run: wall times, errors and the ratio side by side. Part 2 finds, for \
        each n and κ, the number of readouts that reaches the target relative error (a pilot run's \
        error bar predicts it; the run is repeated larger if the measured error against LAPACK misses) \
        and reports the wall and device time of that final run. Default run: about 2–3 minutes on 2 cores.
        """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "State sizes n for the step benchmark.")
    var sizes: [Int] = [32, 64, 128, 256, 512, 1024]
    @Option(name: .long, parsing: .upToNextOption, help: "Chain counts for the step benchmark.")
    var chains: [Int] = [16, 64, 256]
    @Option(name: .long, parsing: .upToNextOption, help: "Sizes n for the time-to-accuracy benchmark.")
    var accuracySizes: [Int] = [128, 512]
    @Option(name: .long, parsing: .upToNextOption, help: "Condition numbers κ for the time-to-accuracy benchmark.")
    var kappas: [Double] = [10, 100]
    @Option(help: "Target relative error for solve.")
    var solveTarget: Double = 0.01
    @Option(help: "Target relative Frobenius error for inverse.")
    var inverseTarget: Double = 0.1
    @Option(help: "Readouts for the thermox-protocol comparison (interval 1τ, as thermox's dt = 1).")
    var thermoxSamples: Int = 10000
    @Option(help: "Chains for the time-to-accuracy runs.")
    var accuracyChains: Int = 64
    @Flag(help: "Skip the time-to-accuracy part.")
    var skipAccuracy = false
    @Option(name: .long, parsing: .upToNextOption, help: "Sizes n of the side-by-side rows against thermox (its protocol and signal-to-noise).")
    var thermoxSizes: [Int] = [128, 512, 1024]
    @Option(help: "Condition number κ of the thermox rows.")
    var thermoxKappa: Double = 100
    @Option(help: "Repeats (device seeds / thermox keys) of the thermox rows; medians of wall time, means of error.")
    var thermoxRepeats: Int = 3
    @Option(help: "The thermox reference script, run with python3 in the same run (needs `pip install thermox==0.0.6`).")
    var thermoxScript: String = "bench/thermox_reference.py"
    @Flag(help: "Skip the side-by-side thermox rows.")
    var skipThermox = false
    @OptionGroup var threading: ThreadsOption<OpenBLASChoosesThreads>
    @Option(help: "Minimum measured seconds per step configuration.")
    var seconds: Double = 0.15
    @Option(help: "Seed.")
    var seed: UInt64 = 1

    func validate() throws {
        guard sizes.allSatisfy({ $0 >= 2 && $0 <= 4096 }), accuracySizes.allSatisfy({ $0 >= 2 && $0 <= 4096 }) else {
            throw ValidationError("sizes must be in 2…4096")
        }
        guard chains.allSatisfy({ $0 >= 2 }), accuracyChains >= 8 else { throw ValidationError("chains must be ≥ 2 (accuracy: ≥ 8)") }
        guard kappas.allSatisfy({ $0 >= 1 && $0.isFinite }), thermoxKappa >= 1 && thermoxKappa.isFinite else {
            throw ValidationError("--kappas and --thermox-kappa must be finite and ≥ 1")
        }
        for (option, target) in [("--solve-target", solveTarget), ("--inverse-target", inverseTarget)] where !(target > 0 && target < 1) {
            throw ValidationError("\(option) must be a relative error between 0 and 1 (for example 0.01), got \(target)")
        }
        guard thermoxSizes.allSatisfy({ $0 >= 2 && $0 <= 4096 }), thermoxRepeats >= 1 else {
            throw ValidationError("--thermox-sizes must be in 2…4096 and --thermox-repeats ≥ 1")
        }
    }

    struct PeakRow: Codable { var n: Int; var gflops: Double }
    struct StepRow: Codable {
        var integrator: String
        var n: Int
        var chains: Int
        var secondsPerStep: Double
        var gflops: Double
        var fractionOfPeak: Double
        /// The step's GEMM alone, same shape, same threads, timed interleaved with the steps.
        var gemmOnlyGflops: Double
        /// Step GFLOP/s over GEMM-alone GFLOP/s: the share of time the step spends in its GEMM.
        var fractionOfSameShapeGemm: Double
    }
    struct AccuracyRow: Codable {
        var protocolName: String
        var n: Int
        var kappa: Double
        var target: Double
        var integrator: String
        var sampleInterval: Double
        var samples: Int
        var relativeError: Double
        var errorBar: Double
        var reachedTarget: Bool
        var wallSeconds: Double
        var pilotAndRetryWallSeconds: Double
        var deviceSeconds: Double
        var cost: DeviceCost
    }
    struct Report: Codable {
        var benchmark = "thermodevice"
        /// 1-minute load average when the run started (the machine may be shared; > cores means contention).
        var loadAverage: Double
        var threads: Int
        var core: String
        var precision = "float"
        var gemmPeak: [PeakRow]
        var peakGflops: Double
        var steps: [StepRow]
        var accuracy: [AccuracyRow]
        /// Same n, κ, sample count and spacing as thermox's defaults (dt = 1τ, one readout per τ).
        var thermoxProtocol: [AccuracyRow]
        /// Thermograd (eigenbasis integrator) and thermox 0.0.6 at thermox's protocol and signal-to-noise, same run.
        var thermoxSideBySide: [ThermoxRow]
    }

    func run() throws {
        threading.apply()
        let load = SystemLoad.oneMinuteValue ?? -1
        var rng = Xoshiro256StarStar(seed: seed)
        // Square GEMM peak, measured now with the same threads (by `bench blas`'s measurement).
        let peaks = [256, 512, 1024].map { n in
            PeakRow(n: n, gflops: BenchBLAS.measure(Float.self, n: n, minimumSeconds: seconds, rng: &rng).gflops)
        }
        let peak = peaks.map(\.gflops).max() ?? 1
        var steps: [StepRow] = []
        for n in sizes {
            for c in chains {
                steps.append(try stepRow(.eulerMaruyama, n: n, chains: c, peak: peak, rng: &rng))
            }
            if n >= 256, let c = chains.max() { steps.append(try stepRow(.exact, n: n, chains: c, peak: peak, rng: &rng)) }
            if let c = chains.max() { steps.append(try stepRow(.eigenbasis, n: n, chains: c, peak: peak, rng: &rng)) }
        }
        var accuracy: [AccuracyRow] = [], sameAsThermox: [AccuracyRow] = []
        if !skipAccuracy {
            for n in accuracySizes {
                for kappa in kappas {
                    accuracy.append(try timeToAccuracy(solve: true, n: n, kappa: kappa))
                    accuracy.append(try timeToAccuracy(solve: false, n: n, kappa: kappa))
                    sameAsThermox.append(try timeToAccuracy(solve: true, n: n, kappa: kappa, fixedSamples: thermoxSamples))
                    sameAsThermox.append(try timeToAccuracy(solve: false, n: n, kappa: kappa, fixedSamples: thermoxSamples))
                }
            }
        }
        let sideBySide = skipThermox ? [] : try thermoxRows(sizes: thermoxSizes, kappa: thermoxKappa, samples: thermoxSamples,
                                                             repeats: thermoxRepeats)
        try JSONReport.print(Report(loadAverage: load, threads: BLASThreads.current, core: BLASThreads.coreName, gemmPeak: peaks,
                                    peakGflops: peak, steps: steps, accuracy: accuracy,
                                    thermoxProtocol: sameAsThermox, thermoxSideBySide: sideBySide))
    }

    /// Times steps of a well-conditioned random matrix (the step cost does not depend on the values).
    func stepRow(_ integrator: DeviceConfiguration.Integrator, n: Int, chains c: Int, peak: Double,
                 rng: inout Xoshiro256StarStar) throws -> StepRow {
        var g: Matrix<Float> = rng.normalMatrix(rows: n, columns: n, std: Float(0.2 / Double(n).squareRoot()))
        g = g + g.transposed()
        g.addDiagonal(1)
        let config = try DeviceConfiguration(timeStep: 0.5, integrator: integrator, chains: c,
                                             errorBarGroups: min(8, c), seed: seed)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let p = try device.program(g)
        let lc = try device.makeChains(p, bias: Matrix(rows: 1, columns: n), chains: c, step: 0.5)
        // GEMM flops per step. The eigenbasis step has no GEMM: its GFLOP/s are those of the Euler–Maruyama
        // GEMM it replaces (2·chains·n²), and fractionOfSameShapeGemm > 1 means it is faster than that GEMM alone.
        let flopsPerStep = Double(integrator == .exact ? 4 : 2) * Double(c) * Double(n * n)
        let batch = max(1, Int(2e7 / flopsPerStep))   // ≈ 20 MFLOP per timed call
        // The GEMM alone at the step's shape (β = 1, as in the step).
        let k = integrator == .exact ? 2 * n : n
        let x: Matrix<Float> = rng.normalMatrix(rows: c, columns: k)
        let m: Matrix<Float> = rng.normalMatrix(rows: k, columns: n, std: 0.01)
        var y = Matrix<Float>(rows: c, columns: n)
        // Interleave step and GEMM timings so that both see the same machine load (the machine may
        // be shared); medians of each.
        lc.step(batch)
        var stepTimes: [Double] = [], gemmTimes: [Double] = []
        var total = 0.0
        while stepTimes.count < 5 || total < seconds {
            let t = BenchmarkTiming.seconds { lc.step(batch) }
            stepTimes.append(t)
            gemmTimes.append(BenchmarkTiming.seconds { for _ in 0..<batch { BLAS.gemm(x, m, beta: 1, into: &y) } })
            total += t
        }
        let perStep = BenchmarkTiming.median(stepTimes) / Double(batch)
        let gemmPerStep = BenchmarkTiming.median(gemmTimes) / Double(batch)
        let gflops = flopsPerStep / perStep / 1e9
        return StepRow(integrator: integrator.rawValue, n: n, chains: c, secondsPerStep: perStep, gflops: gflops,
                       fractionOfPeak: gflops / peak, gemmOnlyGflops: flopsPerStep / gemmPerStep / 1e9,
                       fractionOfSameShapeGemm: gemmPerStep / perStep)
    }

    /// The most readouts one time-to-accuracy run may take (about a minute of simulation at n = 512).
    static let maximumReadouts = 100_000_000.0

    /// Refuses a target whose predicted readout count (error ∝ 1/sqrt(N) from a run of `pilotSamples` readouts
    /// with error `pilotBar`) exceeds `maximumReadouts`, naming the option and the smallest reachable target.
    static func requireReachable(_ readouts: Double, target: Double, solve: Bool, n: Int, kappa: Double,
                                 pilotBar: Double, pilotSamples: Int) throws {
        guard !(readouts <= maximumReadouts) else { return }
        let reachable = pilotBar * (1.1 * Double(pilotSamples) / maximumReadouts).squareRoot()
        throw ValidationError("\(solve ? "--solve-target" : "--inverse-target") \(target) needs about "
                              + String(format: "%.2g readouts at n = %d, κ = %g (a run of %d readouts reached %.3g); ",
                                       readouts, n, kappa, pilotSamples, pilotBar)
                              + String(format: "the benchmark stops at %.0e readouts per run: choose a target of at least %.2g", maximumReadouts, reachable))
    }

    /// Readouts needed for the target: pilot run → predicted count from its error bar (error ∝ 1/sqrt(N))
    /// → final run, enlarged up to twice if the measured error misses the target.
    ///
    /// Protocol (stated in the output): eigenbasis (exact) integrator, one step per readout, readouts every half
    /// relaxation time `0.5/λ_min` of the programmed matrix (nearly independent readouts, so few steps;
    /// the device time this implies is reported too). Burn-in: the default 7 relaxation times.
    ///
    /// With `fixedSamples`, instead: exactly that many readouts 1τ apart (thermox's dt = 1 protocol),
    /// no pilot, and the error reached is reported.
    func timeToAccuracy(solve: Bool, n: Int, kappa: Double, fixedSamples: Int? = nil) throws -> AccuracyRow {
        let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: kappa, seed: seed)
        let b: [Float] = BenchmarkProblems.randomVector(n, seed: seed)
        let refSolve = solve ? try LAPACKReference.solution(a, b) : []
        let refInverse = solve ? Matrix<Double>(rows: 0, columns: 0) : try LAPACKReference.inverse(a)
        let target = solve ? solveTarget : inverseTarget
        let config = try DeviceConfiguration(timeStep: 1e6, integrator: .eigenbasis, chains: accuracyChains, seed: seed)
        var device = ThermodynamicDevice<Float>(configuration: config)
        let clock = ContinuousClock(), start = clock.now
        let p = try device.program(a)
        let interval = fixedSamples == nil ? 0.5 * p.relaxationTime : 1

        func run(_ samples: Int) throws -> (error: Double, bar: Double, cost: DeviceCost) {
            if solve {
                let r = try device.solve(p, b, time: Double(samples) * interval, sampleInterval: interval)
                let e = LAPACKReference.relativeError(r.solution, refSolve)
                return (e, r.relativeErrorBar, r.cost + p.programmingCost)
            } else {
                let r = try device.inverse(p, samples: samples, sampleInterval: interval)
                let e = LAPACKReference.relativeError(r.estimate, refInverse)
                return (e, r.relativeErrorBar, r.cost + p.programmingCost)
            }
        }
        let pilotSamples = 16 * accuracyChains
        var samples = fixedSamples ?? pilotSamples
        if fixedSamples == nil {
            let pilot = try run(pilotSamples)
            let predicted = Double(pilotSamples) * pow(pilot.bar / target, 2) * 1.1
            try Self.requireReachable(predicted, target: target, solve: solve, n: n, kappa: kappa, pilotBar: pilot.bar, pilotSamples: pilotSamples)
            samples = max(pilotSamples, Int(predicted))
        }
        var result = try run(samples)
        var tries = 0
        while fixedSamples == nil && result.error > target && tries < 2 {
            let predicted = Double(samples) * pow(result.error / target, 2) * 1.1
            try Self.requireReachable(predicted, target: target, solve: solve, n: n, kappa: kappa, pilotBar: result.error, pilotSamples: samples)
            samples = Int(predicted)
            result = try run(samples)
            tries += 1
        }
        let total = Double((clock.now - start).components.attoseconds) * 1e-18 + Double((clock.now - start).components.seconds)
        return AccuracyRow(protocolName: solve ? "solve" : "inverse", n: n, kappa: kappa, target: target,
                           integrator: config.integrator.rawValue, sampleInterval: interval, samples: samples,
                           relativeError: result.error, errorBar: result.bar, reachedTarget: result.error <= target,
                           wallSeconds: result.cost.wallSeconds, pilotAndRetryWallSeconds: total,
                           deviceSeconds: result.cost.deviceSeconds, cost: result.cost)
    }
}
