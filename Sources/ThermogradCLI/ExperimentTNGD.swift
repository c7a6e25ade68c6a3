import ArgumentParser
import Curvature
import Datasets
import Experiments
import Foundation
import Linalg
import Optimizers
import Predictions
import Reporting
import Solvers
import ThermoDevice

/// Options shared by the TNGD experiments (`tngd-mnist`, `tngd-time`, `tngd-delay`, `tngd-noise`).
struct TNGDExperimentOptions: ParsableArguments {
    @OptionGroup var run: ScheduleOptions<TNGDSchedule>
    @Option(name: .customLong("train-probe"), help: "Training examples on which the training loss is evaluated.")
    var trainProbe: Int = 2000
    @Option(help: "Mini-batch size b (the paper: 64).")
    var batch: Int = 64
    @Option(help: "Convolution channels of the model (conv3×3/2 → fc → fc).")
    var channels: Int = 4
    @Option(help: "Hidden width of the model.")
    var hidden: Int = 32
    private static let k = TNGDExperiments.Knobs()
    @Option(name: .customLong("lr"), help: defaulted("TNGD / NGD learning rate η (the paper: 0.01).", k.learningRate))
    var learningRate: Double?
    @Option(name: .customLong("adam-lr"), help: defaulted("Adam (and TNGD-Adam) learning rate (the paper: 1e-3).", k.adamLearningRate))
    var adamLearningRate: Double?
    @OptionGroup(title: "TNGD (--tngd-t: use the experiment's --t)") var tngd: TNGDOptions
    @OptionGroup(title: "TNGD device") var device: DeviceOptions<TNGDDevice>
    @Option(name: .customLong("programming-time"), help: defaulted("Seconds to write one resistor (device cost model).", k.costModel.programmingTimePerCoupling))
    var programmingTime: Double?
    @Option(name: .customLong("parallel-rows"), help: defaulted("Resistor rows written in parallel (device cost model).", k.costModel.parallelRows))
    var parallelRows: Int?
    @Option(help: "Digital hardware of the cost model for modelled runtime: cpu (measured now), a100, h100.")
    var digital: Predict.DigitalPreset = .a100
    @Option(help: "Output folder.")
    var out: String?
    @OptionGroup var data: DataDirectoryOption
    /// The data set's display name, for titles.
    var dataName: String { data.name }
    @OptionGroup var threading: ThreadsOption<OneThread>

    func validate() throws {
        if tngd.analogTime != nil { throw ValidationError("--tngd-t: the experiments set the analog time with --t (or --times)") }
        _ = try knobs()
        do { _ = try settings() } catch { throw ValidationError("\(error)") }
    }

    /// The arms' settings: the knobs' defaults with the passed options, validated.
    func knobs() throws -> TNGDExperiments.Knobs {
        var k = TNGDExperiments.Knobs()
        if let learningRate { k.learningRate = learningRate }
        if let adamLearningRate { k.adamLearningRate = adamLearningRate }
        k.tngd = try tngd.settings(device: device, seed: 0)
        if programmingTime != nil || parallelRows != nil {
            k.costModel = CostModel(programmingTimePerCoupling: programmingTime ?? k.costModel.programmingTimePerCoupling,
                                    parallelRows: parallelRows ?? k.costModel.parallelRows)
        }
        do { _ = try k.configuration() } catch { throw ValidationError("\(error)") }
        for (option, rate) in [("--lr", k.learningRate), ("--adam-lr", k.adamLearningRate)] where !(rate > 0 && rate.isFinite) {
            throw ValidationError("\(option) must be positive, got \(rate)")
        }
        return k
    }

    /// The cost model's digital seconds per step for this model and batch, by optimiser name (docs/cost-model.md).
    func digitalSeconds(analogTime: Double, cgIterations: Int) throws -> (lookup: [String: Double], description: String) {
        let hardware: DigitalHardware
        switch digital {
        case .cpu: hardware = .measuredCPU()
        case .a100: hardware = .a100
        case .h100: hardware = .h100
        }
        let model = TNGDModel.convolutionalDense(channels: channels, hidden: hidden, seed: 1)
        let workload = Workload(model: model, name: "tngd-mnist", summary: "conv3×3/2(\(channels)) → fc\(hidden) → fc10, Fashion-MNIST",
                                batch: batch, outputDimension: model.outputFeatures)
        var schedule = KFACSchedule()
        schedule.tngdAnalogTime = analogTime
        schedule.cgIterations = cgIterations
        let prediction = try StepCostModel(digital: hardware, schedule: schedule).predict(workload)
        var out: [String: Double] = [:]
        for p in prediction.optimizers {
            out[p.optimizer] = p.terms.filter { $0.side == .digital }.reduce(0) { $0 + $1.seconds }
        }
        let names = ["adam", "tngd", "ngd-cg", "ngd-woodbury"]
        let text = "modelled runtime = cost-model digital time per step × steps + simulated device time; digital: \(hardware); "
            + names.map { "\($0) \(formatEngineering(out[$0] ?? .nan))s/step" }.joined(separator: ", ")
        return (out, text)
    }

    func settings() throws -> TNGDExperimentSettings {
        try TNGDExperimentSettings(schedule: run.schedule(),
                                   batchSize: batch, channels: channels, hidden: hidden, trainProbe: trainProbe)
    }

    /// Runs one TNGD arm per value of a swept setting (`set` writes it into the TNGD settings) at analog time
    /// `analogTime`, with the cost model's digital time per step.
    func sweep(name: String, title: String, analogTime: Double, values: [Double], label: (Double) -> String,
               set: (inout ThermodynamicNaturalGradientSettings, Double) -> Void) throws {
        let cost = try digitalSeconds(analogTime: analogTime, cgIterations: 10)
        let arms = try values.map { value -> TNGDArm in
            var k = try knobs()
            k.tngd.analogTime = analogTime
            set(&k.tngd, value)
            return try TNGDExperiments.tngd(label(value), k, batch: batch, digitalSeconds: { cost.lookup[$0] ?? .nan })
        }
        try run(name: name, title: title, arms: arms, costText: cost.description)
    }

    /// Loads the data, runs `arms`, writes the outputs and prints the table.
    func run(name: String, title: String, arms: [TNGDArm], costText: String,
             postscript: (ExperimentResults) -> String = { _ in "" }) throws {
        threading.apply()
        let folder = out ?? "runs/\(name)"
        let s = try settings()
        let header = ["thermograd experiment \(name)", "settings: \(s)", costText,
                      "BLAS threads \(BLASThreads.current), load average \(SystemLoad.oneMinute) at the start"]
        print((header + arms.map { "\($0.arm.name): \($0.arm.settings)" }).joined(separator: "\n") + "\n")
        let data = try ExperimentRunner.loadData(directory: data.directory)
        let runner = TNGDExperimentRunner(train: data.train, test: data.test, settings: s)
        // Results are rewritten after every finished run, so an interrupted experiment keeps what it finished.
        let results = try runner.run(arms, log: { print($0) }, progress: ProgressLine(),
                                     checkpoint: TNGDExperiments.checkpoint(to: folder, name: name, title: title, header: header))
        let text = try TNGDExperiments.write(results, to: folder, name: name, title: title, header: header,
                                             postscript: postscript(results))
        print("\n" + text)
        print("outputs: \(folder)/" + TNGDExperiments.outputFiles(name: name))
    }
}

/// `thermograd experiment tngd-mnist`: TNGD against Adam in the paper's setting.
struct ExperimentTNGDMnist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tngd-mnist",
        abstract: "TNGD (t = 50τ, η = 0.01, λ = 0.01, δt = 0.1τ) against Adam (η = 1e-3) on Fashion-MNIST, conv + 2 dense, b = 64.",
        discussion: """
        Loss and accuracy against step and against modelled runtime (cost-model digital time + simulated device \
        time). Reports at which step each arm first reaches Adam's final training loss (on a fixed training subset). \
        --tngd-adam adds TNGD-Adam; --baselines adds NGD-CG and exact NGD (Woodbury), timed, with the same steps. \
        --arms runs only the arms named (a run of one arm depends only on its settings and the seed, so an arm run \
        alone repeats, bit for bit, its numbers from a run with other arms).
        """)

    @OptionGroup var options: TNGDExperimentOptions
    @Option(name: .customLong("t"), help: "Analog time t per step, in τ.")
    var analogTime: Double = ThermodynamicNaturalGradientConfiguration.Defaults.analogTime
    @Flag(name: .customLong("tngd-adam"), help: "Also run TNGD-Adam (β₁ = β₂ = 0, η = --adam-lr).")
    var tngdAdam = false
    @Flag(help: "Also run the digital baselines NGD-CG and NGD-Woodbury (exact).")
    var baselines = false
    @Option(name: .customLong("cg-iterations"), help: "NGD-CG iterations per step.")
    var cgIterations: Int = 10
    @Option(name: .customLong("arms"), parsing: .upToNextOption,
            help: ArgumentHelp("Run only these arms, of \(TNGDMnistArm.allValueStrings.joined(separator: ", ")) (default: adam tngd; "
                               + "--tngd-adam and --baselines add theirs). They run, and appear in the CSV, in that order."))
    var armNames: [TNGDMnistArm] = []

    /// The arms to run, in `TNGDMnistArm`'s order: `--arms` (default Adam and TNGD) with those of `--tngd-adam`
    /// and `--baselines` added.
    var selectedArms: [TNGDMnistArm] {
        var chosen = Set(armNames.isEmpty ? [.adam, .tngd] : armNames)
        if tngdAdam { chosen.insert(.tngdAdam) }
        if baselines { chosen.formUnion([.ngdCG, .ngdWoodbury]) }
        return TNGDMnistArm.allCases.filter(chosen.contains)
    }

    func run() throws {
        var k = try options.knobs()
        k.tngd.analogTime = analogTime
        let cost = try options.digitalSeconds(analogTime: analogTime, cgIterations: cgIterations)
        let d: (String) -> Double = { cost.lookup[$0] ?? .nan }
        let arms = try selectedArms.map { arm -> TNGDArm in
            switch arm {
            case .adam: TNGDExperiments.adam(k, batch: options.batch, digitalSeconds: d)
            case .tngd: try TNGDExperiments.tngd("TNGD t=\(analogTime)τ", k, batch: options.batch, digitalSeconds: d)
            case .tngdAdam: try TNGDExperiments.tngd("TNGD-Adam t=\(analogTime)τ", k, adam: true, batch: options.batch, digitalSeconds: d)
            case .ngdCG: TNGDExperiments.conjugateGradient("NGD-CG", k, iterations: cgIterations, batch: options.batch, digitalSeconds: d)
            case .ngdWoodbury: TNGDExperiments.woodbury("NGD-Woodbury", k, batch: options.batch, digitalSeconds: d)
            }
        }
        let withAdam = selectedArms.contains(.adam)
        try options.run(name: "tngd-mnist", title: "TNGD vs Adam, \(options.dataName)", arms: arms, costText: cost.description) { results in
            guard withAdam else { return "No Adam arm in this run (--arms): the steps to Adam's final training loss are not reported." }
            let adamFinal = ExperimentResults.summary(results.finalRecords(arm: "Adam").compactMap { $0.metrics["train_eval_loss"] }).mean
            var lines = [String(format: "Adam's final training loss (fixed subset, mean over seeds): %.4f. First evaluated step at or below it:", adamFinal)]
            for r in TNGDExperiments.stepsToReach(results, target: adamFinal) {
                lines.append("  \(r.arm): " + (r.step.map { s in "step \(s)" + (r.modelled.map { String(format: ", modelled %.3g s", $0) } ?? "") }
                                                ?? "not reached in \((try? options.run.schedule().steps ?? 0) ?? 0) steps"))
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// An arm of `thermograd experiment tngd-mnist` (`--arms`), in the order the arms run.
enum TNGDMnistArm: String, CaseIterable, ExpressibleByArgument {
    case adam
    case tngd
    case tngdAdam = "tngd-adam"
    case ngdCG = "ngd-cg"
    case ngdWoodbury = "ngd-woodbury"
}

/// `thermograd experiment tngd-time`: analog time t against exact NGD.
struct ExperimentTNGDTime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tngd-time", abstract: "TNGD at t ∈ {5, 10, 20, 50}τ against exact NGD (Woodbury), same η and λ.")

    @OptionGroup var options: TNGDExperimentOptions
    @Option(name: .customLong("times"), parsing: .upToNextOption, help: "Analog times t in τ.")
    var times: [Double] = TNGDExperiments.analogTimes
    @Flag(name: .customLong("no-exact"), help: "Skip the exact-NGD arm.")
    var noExact = false

    func validate() throws {
        guard !times.isEmpty, times.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw ValidationError("--times must be finite and non-negative (τ), got \(times)")
        }
    }

    func run() throws {
        let cost = try options.digitalSeconds(analogTime: times.max() ?? 50, cgIterations: 10)
        let d: (String) -> Double = { cost.lookup[$0] ?? .nan }
        var arms: [TNGDArm] = []
        for t in times {
            var k = try options.knobs()
            k.tngd.analogTime = t
            arms.append(try TNGDExperiments.tngd("TNGD t=\(t)τ", k, batch: options.batch, digitalSeconds: d))
        }
        if !noExact { arms.append(TNGDExperiments.woodbury("exact NGD", try options.knobs(), batch: options.batch, digitalSeconds: d)) }
        try options.run(name: "tngd-time", title: "TNGD: analog time t", arms: arms,
                        costText: cost.description + " (digital TNGD time per step does not depend on t)")
    }
}

/// `thermograd experiment tngd-delay`: delay t_d at t = 5τ.
struct ExperimentTNGDDelay: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tngd-delay", abstract: "TNGD with delay t_d ∈ {0, 0.2, 1}τ at t = 5τ.")

    @OptionGroup var options: TNGDExperimentOptions
    @Option(name: .customLong("delays"), parsing: .upToNextOption, help: "Delays t_d in τ.")
    var delays: [Double] = TNGDExperiments.delays
    @Option(name: .customLong("t"), help: "Analog time t per step, in τ.")
    var analogTime: Double = TNGDExperiments.delayAnalogTime

    func validate() throws {
        guard !delays.isEmpty, delays.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw ValidationError("--delays must be finite and non-negative (τ), got \(delays)")
        }
        guard analogTime >= 0 && analogTime.isFinite else { throw ValidationError("--t must be finite and non-negative (τ), got \(analogTime)") }
    }

    func run() throws {
        try options.sweep(name: "tngd-delay", title: "TNGD: delay t_d at t = \(analogTime)τ", analogTime: analogTime, values: delays,
                          label: { "TNGD t_d=\($0)τ" }, set: { $0.delay = $1 })
    }
}

/// `thermograd experiment tngd-noise`: thermal noise κ0 at t = τ.
struct ExperimentTNGDNoise: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tngd-noise", abstract: "TNGD with noise κ0 ∈ {0.1, 0.01, 0.001} at t = τ.")

    @OptionGroup var options: TNGDExperimentOptions
    @Option(name: .customLong("noises"), parsing: .upToNextOption, help: "Noise amplitudes κ0.")
    var noises: [Double] = TNGDExperiments.noises
    @Option(name: .customLong("t"), help: "Analog time t per step, in τ.")
    var analogTime: Double = TNGDExperiments.noiseAnalogTime
    @Option(help: ArgumentHelp("Instead of training: measure the readout noise after this many warm-started runs on one batch at the "
                               + "initial weights (first seed), against the theory κ0(1 − e^{−2λT})/λ per coordinate (TNGDNoiseProbe)."))
    var probe: Int?

    func validate() throws {
        if let p = probe, p < 1 { throw ValidationError("--probe needs at least 1 run, got \(p)") }
        guard !noises.isEmpty, noises.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ValidationError("--noises must be finite and positive, got \(noises)") }
        guard analogTime >= 0 && analogTime.isFinite else { throw ValidationError("--t must be finite and non-negative (τ), got \(analogTime)") }
    }

    func run() throws {
        if let runs = probe {
            options.threading.apply()
            let data = try ExperimentRunner.loadData(directory: options.data.directory)
            let seed = try options.run.schedule().seeds[0]
            let b = min(options.batch, data.train.count)
            var input = Matrix<Float>(rows: b, columns: data.train.features)
            var labels = [Int](repeating: 0, count: b)
            data.train.gather(Array(0..<b)[...], into: &input, labels: &labels)
            print("thermograd experiment tngd-noise --probe \(runs): first \(b) training examples, weights of seed \(seed), "
                  + "t \(analogTime)τ, η \(try options.knobs().learningRate)")
            for kappa in noises {
                var k = try options.knobs()
                k.tngd.analogTime = analogTime
                k.tngd.noise = kappa
                let config = try k.configuration(seed: seed)
                let model = TNGDModel.convolutionalDense(channels: options.channels, hidden: options.hidden, seed: seed)
                print(try TNGDNoiseProbe.measure(model: model, input: input, labels: labels, configuration: config, runs: runs,
                                                 learningRate: k.learningRate))
            }
            return
        }
        try options.sweep(name: "tngd-noise", title: "TNGD: thermal noise κ0 at t = \(analogTime)τ", analogTime: analogTime, values: noises,
                          label: { "TNGD κ0=\($0)" }, set: { $0.noise = $1 })
    }
}
