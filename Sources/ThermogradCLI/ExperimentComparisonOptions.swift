import ArgumentParser
import Datasets
import Experiments
import Foundation
import Linalg
import Optimizers
import Reporting
import Solvers
import Training

extension ThermodynamicKFACOptions.TimeUnit: ExpressibleByArgument {}

/// The TK-FAC device knobs (`--method`, `--input-bits`, `--output-bits`, `--analog-time`, `--samples`, …),
/// shared by `thermograd train --optimizer tkfac` and the TK-FAC experiments.
struct ThermodynamicKFACCommandOptions: ParsableArguments {
    @Option(name: .customLong("method"), help: "TK-FAC method: 1 (inverse from the device covariance) or 2 (linear solves from the device mean).")
    var method: Int = 1
    @Option(name: .customLong("feed"), help: "What the device receives: factors (EMA, n(n+1)/2 couplings) or raw (batch arrays, no EMA).")
    var feed: String = "factors"
    @Option(name: .customLong("input-bits"), help: "DAC bits for couplings and inputs (omit: ideal).")
    var inputBits: Int?
    @Option(name: .customLong("dac-range"), help: "Coupling DAC full scale: auto (per matrix: its absmax) or a fixed number in coupling units (1 = the coupling range).")
    var dacRange: String = "auto"
    @Option(name: .customLong("quantization"), help: "Coupling quantisation: conservative (PSD-preserving) or plainRounding.")
    var quantization: String = "conservative"
    @Option(name: .customLong("output-bits"), help: "ADC bits for readouts, auto-ranged (omit: ideal).")
    var outputBits: Int?
    @Option(name: .customLong("analog-time"), help: "Method 2: averaging time per right-hand side (in --time-unit).")
    var analogTime: Double = 1
    @Option(name: .customLong("samples"), help: "Method 1: readouts per factor inversion.")
    var samples: Int = 4096
    @Option(name: .customLong("sample-spacing"), help: "Method 1: time between readouts (in --time-unit).")
    var sampleSpacing: Double = 1
    @Option(name: .customLong("readouts"), help: "Method 2: readouts per right-hand side.")
    var readouts: Int = 8
    @Flag(name: .customLong("no-warm-start"), help: "Method 2: start every solve cold.")
    var noWarmStart = false
    @Option(name: .customLong("time-unit"), help: "Unit of the analog times: relaxation (1/λ_min of each factor) or tau.")
    var timeUnit: ThermodynamicKFACOptions.TimeUnit = .relaxationTimes
    @Option(name: .customLong("beta"), help: "Device inverse temperature β (noise κ0 = 1/β).")
    var beta: Double = 1e6
    @Option(name: .customLong("mismatch"), help: "Component mismatch ε of every coupling.")
    var mismatch: Double = 0
    @Option(name: .customLong("device-seed"), help: "Device seed (mismatch and noise).")
    var deviceSeed: UInt64 = 0
    @Option(name: .customLong("tkfac-integrator"), help: "How the TK-FAC devices are simulated: eigenbasis (exact, O(n) per chain step; the default) or exact (the same law by one dense GEMM per step).")
    var integrator: String = "eigenbasis"

    /// The codable TK-FAC options (validated by `options().configuration()`).
    func options() -> ThermodynamicKFACOptions {
        var o = ThermodynamicKFACOptions()
        o.method = method
        o.feed = feed
        o.inputBits = inputBits
        o.quantization = quantization
        o.inputRange = dacRange == "auto" ? nil : Double(dacRange)
        o.outputBits = outputBits
        o.analogTime = analogTime
        o.samples = samples
        o.sampleSpacing = sampleSpacing
        o.readouts = readouts
        o.warmStart = !noWarmStart
        o.timeUnit = timeUnit
        o.beta = beta
        o.mismatch = mismatch
        o.seed = deviceSeed
        o.integrator = integrator == "eigenbasis" ? nil : integrator
        return o
    }

    func validate() throws {
        if dacRange != "auto" && Double(dacRange) == nil {
            throw ValidationError("--dac-range: use auto or a positive number, got \(dacRange)")
        }
        do { _ = try options().configuration() } catch { throw ValidationError(error.description) }
    }
}

/// Model, schedule, baselines and output of the Adam / K-FAC / TK-FAC comparisons.
struct ComparisonCommandOptions: ParsableArguments {
    @Option(help: "Model: mlp, cnn (its 3137-wide dense factor makes TK-FAC slow to simulate), tiny-cnn (factors ≤ 785 wide) or vit (--vit-*; digital K-FAC runs as expand and reduce).")
    var model: TrainingConfiguration.ModelKind = .mlp
    @OptionGroup(title: "Vision transformer (--model vit)")
    var vit: VisionTransformerOptions
    @Option(parsing: .upToNextOption, help: "Hidden widths of the MLP.")
    var hidden: [Int] = [128]
    @Option(help: "Mini-batch size.")
    var batch: Int = 128
    @Option(help: "Training steps per run.")
    var steps: Int = 300
    @Option(name: .customLong("eval-every"), help: "Evaluate on the test split every N steps.")
    var evalEvery: Int = 50
    @Option(parsing: .upToNextOption, help: "Seeds (each arm runs once per seed).")
    var seeds: [UInt64] = [1]
    @Option(name: .customLong("train-subset"), help: "Use only the first N training examples.")
    var trainSubset: Int?
    // Non-optional with 0 meaning "all": an optional option with a default could never be set back to nil.
    @Option(name: .customLong("test-subset"), help: "Use only the first N test examples (0: all 10,000).")
    var testSubset: Int = 5000
    // The comparison's defaults live in `KFACComparisonSettings`; an option the user did not pass keeps them.
    @Option(name: .customLong("adam-lr"), help: "Adam learning rate (default \(KFACComparisonSettings().adamLearningRate)).")
    var adamLR: Double?
    @Option(name: .customLong("kfac-inner"), help: "First-order optimiser inside K-FAC and TK-FAC (default \(KFACComparisonSettings().kfacInner.rawValue)).")
    var kfacInner: InnerOptimizerArgument?
    @Option(name: .customLong("kfac-lr"), help: "Learning rate of the optimiser inside (T)K-FAC (default \(KFACComparisonSettings().kfacLearningRate)).")
    var kfacLR: Double?
    @Option(name: .customLong("kfac-damping"), help: "K-FAC damping λ, π-corrected split (default \(KFACComparisonSettings().kfac.damping)).")
    var kfacDamping: Double?
    @Option(name: .customLong("kfac-inv-interval"), help: "T_inv: steps between inversions / device programmings (default \(KFACComparisonSettings().kfac.inverseUpdateInterval)).")
    var kfacInverseInterval: Int?
    @Option(name: .customLong("kfac-ema"), help: "EMA decay of the factors (default \(KFACComparisonSettings().kfac.factorDecay)).")
    var kfacEMA: Double?
    @Option(help: "Output folder.")
    var out: String?
    @Option(name: .customLong("data-dir"), help: "Folder of IDX files in the Fashion-MNIST layout (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]); plots are titled with its name.")
    var dataDirectory: String = "/usr/share/datasets/fashion-mnist"
    /// The data set's display name (from the folder, `IDXImageFolder(directory:)`), for titles.
    var dataName: String { IDXImageFolder(directory: dataDirectory).name }
    @Option(help: "OpenBLAS threads.")
    var threads: Int?

    func comparison() -> KFACComparisonSettings {
        var c = KFACComparisonSettings()
        c.model = model
        c.hidden = hidden
        c.vit = vit.configuration
        c.batchSize = batch
        if let adamLR { c.adamLearningRate = adamLR }
        if let kfacInner { c.kfacInner = kfacInner.kind }
        if let kfacLR { c.kfacLearningRate = kfacLR }
        if let kfacDamping { c.kfac.damping = kfacDamping }
        if let kfacInverseInterval { c.kfac.inverseUpdateInterval = kfacInverseInterval }
        if let kfacEMA { c.kfac.factorDecay = kfacEMA }
        return c
    }

    func schedule() throws -> ExperimentSchedule {
        do {
            return try ExperimentSchedule(steps: steps, evaluateEvery: evalEvery, seeds: seeds, trainSubset: trainSubset,
                                          testSubset: testSubset == 0 ? nil : testSubset)
        } catch { throw ValidationError(error.description) }
    }

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        try vit.check(model: model)
        if testSubset < 0 { throw ValidationError("--test-subset must be 0 (all) or a positive count, got \(testSubset)") }
        _ = try schedule()
        do { try comparison().validate() } catch { throw ValidationError(error.description) }
    }

    /// Loads the data, runs `arms`, writes CSV / SVG / table into the output folder and prints the table.
    func run(name: String, title: String, header: String, arms: [ExperimentArm],
             columns: [(header: String, digits: Int, value: (ExperimentRecord) -> Double?)]) throws -> ExperimentResults {
        if let t = threads { BLASThreads.set(t) }
        let folder = out ?? "runs/experiment-\(name)"
        let schedule = try schedule()
        print("thermograd experiment \(name)\n\(header)\nschedule: \(schedule)\nBLAS threads \(BLASThreads.current)\n")
        for arm in arms { print("  \(arm.name): \(arm.settings)") }
        print("")
        let data = try ExperimentRunner.loadData(directory: dataDirectory)
        let runner = ExperimentRunner(train: data.train, test: data.test, schedule: schedule)
        // Results are rewritten after every finished run, so an interrupted sweep keeps what it finished.
        let results = try runner.run(arms, log: { print($0) }, progress: ProgressLine()) { (partial) throws(ExperimentError) in
            try partial.write(to: folder, name: name, title: title, extraColumns: columns)
        }
        let table = try results.write(to: folder, name: name, title: title, extraColumns: columns)
        print("\n" + table)
        let files = ["\(name).csv", "\(name).svg"] + results.groupPlotFiles(name: name).map(\.file) + ["\(name)-table.txt"]
        print("wrote \(folder)/" + files.joined(separator: ", "))
        return results
    }
}
