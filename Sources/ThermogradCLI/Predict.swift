import ArgumentParser
import Foundation
import Curvature
import Predictions
import Reporting
import Solvers

/// `thermograd predict`: per-iteration time and memory of each optimiser on a workload, from the
/// stated cost model (docs/cost-model.md), with every term shown so that the bottleneck is visible.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict per-iteration runtime and memory of Adam, K-FAC, TK-FAC, NGD and TNGD on real hardware.",
        discussion: """
        Digital work is counted in FLOPs (or bytes) and divided by the digital machine's sustained rates \
        (`--digital cpu` measures this machine now; a100/h100 are presets whose sources are printed). \
        Device work follows the simulator's accounting: DAC transfer of the programmed values, coupling \
        programming, equilibration (burn-in × κτ), sampling, ADC readout, spread over --devices devices. \
        Every assumption is printed with the result.

        Workloads: mlp, cnn, vit-s16, ogbg-gnn, transformer-<width>, width-sweep (transformer blocks of width \
        512…8192: table, CSV and an SVG plot of the TK-FAC/K-FAC speedup against width), or --workload-file \
        with a JSON description (fields name, summary, batch, outputDimension, extraForwardFLOPsPerExample, \
        layers[{name, inputs, outputs, positions, count, bias}]).

        Examples:
          thermograd predict --workload vit-s16 --digital a100
          thermograd predict --workload width-sweep --digital h100 --out runs/sweep
          thermograd predict --workload ogbg-gnn --digital cpu --devices 16 --kappa 1e3
        """
    )

    enum DigitalPreset: String, ExpressibleByArgument, CaseIterable { case cpu, a100, h100 }

    @Option(help: "Workload: mlp, cnn, vit-s16, ogbg-gnn, transformer-<width>, width-sweep.")
    var workload: String = "vit-s16"
    @Option(help: "A workload JSON file (overrides --workload).")
    var workloadFile: String?
    @Option(help: "Digital hardware: \(DigitalPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var digital: DigitalPreset = .a100
    @Option(help: "Override the digital GEMM rate (FLOP/s).")
    var gemmFlops: Double?
    @Option(help: "Override the digital factorisation rate (FLOP/s).")
    var factorizationFlops: Double?

    @Option(help: "Number of thermodynamic devices in parallel.")
    var devices: Int = AnalogHardware().devices
    @Option(help: "Largest matrix order one device holds.")
    var deviceSize: Int = AnalogHardware().deviceSize
    @Option(name: .customLong("dac-bits"), help: "DAC bits for programmed values and inputs.")
    var inputBits: Int = AnalogHardware().inputBits
    @Option(name: .customLong("adc-bits"), help: "ADC bits for readouts.")
    var outputBits: Int = AnalogHardware().outputBits
    @Option(help: "Condition number κ of the damped factors (one relaxation time is κτ).")
    var kappa: Double = AnalogHardware().conditionNumber
    @Option(help: "Method 1: covariance readouts per inversion, the same for every factor (default: derived per factor from --target-error).")
    var samples: Int?
    @Option(name: .customLong("target-error"),
            help: "Method 1: target relative error ε of each device inverse; readouts N = ⌈(n+1)/ε²·(1+ρ)/(1−ρ)⌉, ρ = e^{-2s}.")
    var targetError: Double = AnalogHardware().targetRelativeError
    @Option(help: "TK-FAC Method 2: readouts per right-hand side, each n values through the ADC (the simulator's default protocol).")
    var readouts: Int = AnalogHardware().method2.readoutsPerRightHandSide
    @Option(help: "τ = RC in seconds.")
    var tau: Double = AnalogHardware().tau
    @Option(help: "Digital ↔ device link, bits per second.")
    var transferRate: Double = AnalogHardware().transferRate
    @Option(help: "Seconds to write one coupling.")
    var programmingTime: Double = AnalogHardware().programmingTimePerCoupling
    @Option(help: "Rows of couplings written in parallel.")
    var parallelRows: Int = AnalogHardware().parallelRows
    @Option(help: "K-FAC factor update interval T_cov (steps).")
    var factorInterval: Int = KFACSchedule().factorInterval
    @Option(help: "K-FAC inverse interval T_inv (steps).")
    var inverseInterval: Int = KFACSchedule().inverseInterval
    @Option(help: "What TK-FAC sends to the device: factors (EMA, n² values) or raw (activations/gradients, b·n values).")
    var feed: ThermodynamicKFACConfiguration.Feed = KFACSchedule().feed
    @Option(help: "Shared-weight layers: expand (every position an example) or reduce (positions averaged first).")
    var approximation: WeightSharingApproximation = KFACSchedule().approximation
    @Flag(help: "Empirical Fisher (no extra backward pass with sampled labels).")
    var empiricalFisher = false
    @Option(help: "TNGD analog time per step, in τ.")
    var tngdTime: Double = KFACSchedule().tngdAnalogTime
    @Option(name: .customLong("step-ratios"), help: "Step-ratio file for time to target (default: the ratios measured for this repository).")
    var stepRatios: String?
    @Option(name: .customLong("reference-steps"),
            help: "Steps Adam needs to reach the target on this workload (default: the measured runs' own Adam steps).")
    var referenceSteps: Double?
    @Option(help: "Folder for CSV/SVG/JSON output (width-sweep writes a plot).")
    var out: String?
    @Flag(help: "Print the full prediction as JSON instead of tables.")
    var json = false

    func validate() throws {
        if workloadFile == nil, workload != "width-sweep" {
            do { _ = try Workload.builtin(workload) } catch { throw ValidationError("\(error)") }
        }
        if let g = gemmFlops, !(g > 0 && g.isFinite) { throw ValidationError("--gemm-flops must be positive and finite (FLOP/s), got \(g)") }
        if let r = referenceSteps, !(r >= 1 && r.isFinite) {
            throw ValidationError("--reference-steps must be a finite number of steps ≥ 1, got \(r)")
        }
        if let f = factorizationFlops, !(f > 0 && f.isFinite) {
            throw ValidationError("--factorization-flops must be positive and finite (FLOP/s), got \(f)")
        }
        do { _ = try makeModel(digital: .a100) } catch { throw ValidationError(Self.namingOptions(error)) }
    }

    /// The cost model's parameter names as this command's options, so that an error names what to change.
    static let optionNames = [
        "devices": "--devices", "deviceSize": "--device-size", "tau": "--tau", "inputBits": "--dac-bits",
        "outputBits": "--adc-bits", "transferRate": "--transfer-rate", "programmingTimePerCoupling": "--programming-time",
        "parallelRows": "--parallel-rows", "conditionNumber": "--kappa", "samples": "--samples", "targetRelativeError": "--target-error",
        "readoutsPerRightHandSide": "--readouts",
        "factorInterval/inverseInterval": "--factor-interval/--inverse-interval", "tngdAnalogTime": "--tngd-time",
    ]

    /// `error`'s message, with a cost-model parameter named by its option (`parameter tau = 0` → `--tau 0`).
    static func namingOptions(_ error: any Error) -> String {
        guard case let .invalidParameter(name, value, requirement)? = error as? PredictionError, let option = optionNames[name] else {
            return "\(error)"
        }
        return "\(option) \(value) is invalid: \(requirement)"
    }

    func makeModel(digital hardware: DigitalHardware) throws -> StepCostModel {
        var analog = AnalogHardware()
        analog.devices = devices
        analog.deviceSize = deviceSize
        analog.inputBits = inputBits
        analog.outputBits = outputBits
        analog.conditionNumber = kappa
        analog.samples = samples
        analog.targetRelativeError = targetError
        analog.method2.readoutsPerRightHandSide = readouts
        analog.tau = tau
        analog.transferRate = transferRate
        analog.programmingTimePerCoupling = programmingTime
        analog.parallelRows = parallelRows
        var schedule = KFACSchedule()
        schedule.factorInterval = factorInterval
        schedule.inverseInterval = inverseInterval
        schedule.feed = feed
        schedule.trueFisher = !empiricalFisher
        schedule.approximation = approximation
        schedule.tngdAnalogTime = tngdTime
        var d = hardware
        if let g = gemmFlops { d.gemmFLOPS = g; d.source += "; GEMM rate overridden" }
        if let f = factorizationFlops { d.factorizationFLOPS = f; d.source += "; factorisation rate overridden" }
        return try StepCostModel(digital: d, analog: analog, schedule: schedule)
    }

    func run() throws {
        let hardware: DigitalHardware
        switch digital {
        case .cpu: hardware = .measuredCPU()
        case .a100: hardware = .a100
        case .h100: hardware = .h100
        }
        let model: StepCostModel
        do { model = try makeModel(digital: hardware) } catch { throw ValidationError(Self.namingOptions(error)) }
        if let dir = out { try OutputFolder.create(dir) }
        if workloadFile == nil, workload == "width-sweep" {
            try widthSweep(model)
            return
        }
        let w = try workloadFile.map { try Workload.load(path: $0) } ?? Workload.builtin(workload)
        let prediction: WorkloadPrediction
        do { prediction = try model.predict(w) } catch { throw ValidationError(Self.namingOptions(error)) }
        if let dir = out { try AtomicFile.write(JSONReport.string(prediction), to: "\(dir)/prediction.json") }
        if json { try JSONReport.print(prediction); return }
        printAssumptions(model, workload: w)
        print(PredictionTables.summary(prediction).render())
        print(PredictionTables.breakdown(prediction).render())
        print(PredictionTables.layers(prediction).render())
        let ratios = try stepRatios.map { try StepRatios.load(path: $0) } ?? StepRatios.bundled()
        print(PredictionTables.timeToTarget(prediction, ratios: ratios, referenceSteps: referenceSteps).render())
        for m in ratios.measurements {
            print("ratios of \(m.runs): \(m.source); made by `\(m.command)`; \(m.provenance)")
        }
    }

    /// The cost model's hardware and schedule, one line each (printed before a prediction, and the width sweep's caption).
    func assumptions(_ model: StepCostModel, workload w: Workload?) -> [String] {
        (w.map { ["workload: \($0.summary.isEmpty ? $0.name : $0.summary); N = \(formatEngineering(Double($0.parameterCount)))parameters"] } ?? [])
            + ["digital: \(model.digital)", "device: \(model.analog)",
               "schedule: T_cov = \(model.schedule.factorInterval), T_inv = \(model.schedule.inverseInterval), "
                   + "\(model.schedule.trueFisher ? "true" : "empirical") Fisher, feed = \(model.schedule.feed.rawValue), "
                   + "K-FAC-\(model.schedule.approximation.rawValue), "
                   + "NGD-CG \(model.schedule.cgIterations) iterations, TNGD t = \(model.schedule.tngdAnalogTime)τ",
               "per iteration, digital and device work in sequence; weights and activations are not counted in memory"]
    }

    func printAssumptions(_ model: StepCostModel, workload w: Workload?) {
        print(assumptions(model, workload: w).joined(separator: "\n") + "\n")
    }

    func widthSweep(_ model: StepCostModel) throws {
        let widths = [512, 1024, 2048, 4096, 8192]
        let predictions = try widths.map { try model.predict(Workload.transformerBlock(width: $0)) }
        if json { try JSONReport.print(predictions); return }
        printAssumptions(model, workload: nil)
        var table = TextTable(title: "Width sweep: one transformer block (512 tokens, batch 32), seconds per iteration",
                              headers: ["width", "adam", "kfac", "tkfac-m1", "tkfac-m2", "m1/kfac speedup", "m2/kfac speedup",
                                        "kfac/adam", "m1/adam"])
        for (n, p) in zip(widths, predictions) {
            func t(_ o: String) -> String { formatEngineering(p.optimizer(o)!.totalSeconds) + "s" }
            table.append(["\(n)", t("adam"), t("kfac"), t("tkfac-m1"), t("tkfac-m2"),
                          String(format: "%.2f×", p.speedup(of: "tkfac-m1", over: "kfac")),
                          String(format: "%.2f×", p.speedup(of: "tkfac-m2", over: "kfac")),
                          String(format: "%.2f×", 1 / p.speedup(of: "kfac", over: "adam")),
                          String(format: "%.2f×", 1 / p.speedup(of: "tkfac-m1", over: "adam"))])
        }
        print(table.render())
        guard let dir = out else { return }
        let csv = try CSVWriter(path: "\(dir)/width-sweep.csv",
                                columns: ["width", "optimizer", "seconds_per_iteration", "speedup_over_kfac", "memory_bytes"])
        for (n, p) in zip(widths, predictions) {
            for o in p.optimizers {
                try csv.append([.integer(n), .text(o.optimizer), .number(o.totalSeconds),
                                .number(p.speedup(of: o.optimizer, over: "kfac")), .number(o.memoryBytes)])
            }
        }
        let x = widths.map(Double.init)
        func series(_ o: String, _ i: Int) -> PlotSeries {
            PlotSeries(name: o, x: x, y: predictions.map { $0.speedup(of: o, over: "kfac") }, color: LinePlot.palette[i], markers: true)
        }
        func cost(_ o: String, _ i: Int) -> PlotSeries {
            PlotSeries(name: o, x: x, y: predictions.map { $0.optimizer(o)!.totalSeconds * 1e3 }, color: LinePlot.palette[i], markers: true)
        }
        var plot = LinePlot(title: "Predicted TK-FAC advantage against layer width (\(model.digital.name))", panels: [
            PlotPanel(title: "speedup over digital K-FAC (per iteration)", xLabel: "width n", yLabel: "× faster than K-FAC",
                      series: [series("tkfac-m1", 1), series("tkfac-m2", 2), series("adam", 0)]),
            PlotPanel(title: "time per iteration", xLabel: "width n", yLabel: "ms (log scale)",
                      series: [cost("adam", 0), cost("kfac", 3), cost("tkfac-m1", 1), cost("tkfac-m2", 2)], logarithmicY: true),
        ])
        plot.caption = ["thermograd predict --workload width-sweep: one transformer block of width n, 512 tokens, batch 32"]
            + assumptions(model, workload: nil)
        try plot.write(to: "\(dir)/width-sweep.svg")
        print("wrote \(dir)/width-sweep.csv and \(dir)/width-sweep.svg")
    }
}

/// The tables `predict` prints.
enum PredictionTables {
    static func summary(_ p: WorkloadPrediction) -> TextTable {
        var t = TextTable(title: "Per-iteration prediction: \(p.workload.name) on \(p.digital.name)",
                          headers: ["optimizer", "time", "vs adam", "tkfac speedup over it", "memory", "bottleneck"])
        for o in p.optimizers {
            let b = o.bottleneck.map { "\($0.name) (\(String(format: "%.0f", 100 * $0.seconds / o.totalSeconds)) %)" } ?? ""
            t.append([o.optimizer, formatEngineering(o.totalSeconds) + "s",
                      String(format: "%.2f×", o.totalSeconds / p.optimizer("adam")!.totalSeconds),
                      String(format: "%.2f×", p.speedup(of: "tkfac-m1", over: o.optimizer)),
                      formatEngineering(o.memoryBytes) + "B", b])
        }
        return t
    }

    static func breakdown(_ p: WorkloadPrediction) -> TextTable {
        var t = TextTable(title: "Breakdown (seconds per iteration)", headers: ["optimizer", "term", "side", "time", "share"])
        for o in p.optimizers where ["kfac", "tkfac-m1", "tkfac-m2", "tngd"].contains(o.optimizer) {
            for term in o.terms where term.seconds > 0 {
                t.append([o.optimizer, term.name, term.side.rawValue, formatEngineering(term.seconds) + "s",
                          String(format: "%.1f %%", 100 * term.seconds / o.totalSeconds)])
            }
            for note in o.notes { t.append([o.optimizer, note, "", "", ""]) }
        }
        return t
    }

    /// Time to target: seconds per iteration × (reference steps × the measured step ratio), with each ratio's source.
    static func timeToTarget(_ p: WorkloadPrediction, ratios: StepRatios, referenceSteps: Double?) -> TextTable {
        let reference = ratios.ratio(for: "adam")?.measurement
        let steps = referenceSteps ?? reference.flatMap { StepRatios.Measurement.median($0.stepsToTarget[$0.reference]) } ?? 1
        let origin = referenceSteps != nil ? "--reference-steps"
            : "Adam's median in the measured runs; pass --reference-steps for this workload's"
        var t = TextTable(title: "Time to target: per iteration × steps; steps = \(String(format: "%.0f", steps)) Adam steps (\(origin)) × the measured ratio",
                          headers: ["optimizer", "per iteration", "step ratio", "steps", "time to target", "ratio measured on"])
        for row in TimeToTarget.table(p, ratios: ratios, referenceSteps: steps) {
            t.append([row.optimizer, formatEngineering(row.secondsPerIteration) + "s",
                      row.stepRatio.map { String(format: "%.2f", $0) } ?? "–", row.steps.map { String(format: "%.0f", $0) } ?? "–",
                      row.seconds.map { formatEngineering($0) + "s" } ?? "–", row.basis])
        }
        return t
    }

    static func layers(_ p: WorkloadPrediction) -> TextTable {
        var t = TextTable(title: "Curvature work per layer copy (factors + inversion/solves + preconditioning), seconds per iteration",
                          headers: ["layer", "copies", "kfac", "tkfac-m1", "tkfac-m2", "m1 speedup"])
        for l in p.layers {
            t.append([l.layer, "\(l.count)", formatEngineering(l.kfacSeconds) + "s", formatEngineering(l.tkfacMethod1Seconds) + "s",
                      formatEngineering(l.tkfacMethod2Seconds) + "s", String(format: "%.2f×", l.kfacSeconds / l.tkfacMethod1Seconds)])
        }
        return t
    }
}
