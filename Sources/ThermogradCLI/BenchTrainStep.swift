import ArgumentParser
import Foundation
import Linalg
import Optimizers
import Reporting
import Datasets
import Training

/// `thermograd bench train-step`: the mean (and median) time of one training step (forward, cross-entropy,
/// backward, optimiser update) on random data, the figure `bench/pytorch_reference.py` is compared to.
/// Comparisons use the mean: the median hides the periodic refresh steps of (T)K-FAC.
struct BenchTrainStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "Mean and median time of one training step (forward, loss, backward, update) as JSON.",
        discussion: """
        Uses random inputs (standard normal) and random labels so that no data set is needed; the work \
        per step is identical to training. --model gnn uses a fixed molecule-like batch (25.5 atoms and \
        28.4 bonds per graph on average, defined by formula so that bench/pytorch_gnn_reference.py builds \
        the same) and binary cross-entropy. Curvature optimisers are timed over whole cycles of T_inv steps \
        (refresh steps included in proportion), so the mean is the run's average step. \
        `make bench-compare` runs this and the PyTorch reference (bench/pytorch_reference.py) with the same \
        model, batch, optimiser and thread count, and compares means.
        """
    )

    @Option(help: "Model: mlp (784-512-512-10), cnn (conv32-pool-conv64-pool-fc128), tiny-cnn, vit (--vit-*), gnn (GIN, a formula batch of molecule graphs) or minilm-lora (random token ids, --text-length, 5 classes).")
    var model: TrainingConfiguration.ModelKind = .mlp
    @Option(parsing: .upToNextOption, help: "Hidden widths of the MLP (784-<hidden>-10); the demo's is 128.")
    var hidden: [Int] = [512, 512]
    @Option(help: "Mini-batch size.")
    var batch: Int = 256
    @Option(help: "Optimiser: sgd, adam, adamw, kfac, tkfac, ngd-cg or ngd-exact.")
    var optimizer: TrainingConfiguration.OptimizerKind = .adam
    @OptionGroup var threading: ThreadsOption<OpenBLASChoosesThreads>
    @Option(help: "Minimum measured seconds.")
    var seconds: Double = 3
    @Option(help: "Minimum measured steps.")
    var repeats: Int = 20
    @Option(help: "Seed for the weights and the random batch.")
    var seed: UInt64 = 1
    @OptionGroup var shapes: ModelShapeOptions
    @OptionGroup(title: "LoRA on MiniLM-L6 (--model minilm-lora)")
    var lora: LoRAOptions
    @OptionGroup var optimizers: OptimizerOptions

    func validate() throws {
        if model != .miniLMLoRA {       // timed on random padded token batches
            do { try ModelRegistry.requireImageModel(model.rawValue) } catch { throw ValidationError(error.description) }
        }
        guard batch >= 1 && batch <= 65_536 else { throw ValidationError("--batch must be in 1...65536") }
        guard !hidden.isEmpty, hidden.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--hidden needs positive widths") }
        try shapes.check(model: model)
        try lora.check(model: model)
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    struct Report: Codable {
        var benchmark = "train-step"
        var model: String
        var batch: Int
        var optimizer: String
        var threads: Int
        var parameters: Int
        var repeats: Int
        /// Mean seconds per step over whole T_inv cycles: the figure comparisons use.
        var meanSeconds: Double
        var medianSeconds: Double
        var madSeconds: Double
        var examplesPerSecond: Double
        /// Curvature optimisers: mean seconds per step of each phase (forward/backward, factors, inversion,
        /// preconditioning, inner update) and the configuration.
        var curvatureSplit: [String: Double]? = nil
        var curvatureConfiguration: String? = nil
        /// Tokens per text (`--model minilm-lora`) and the process's peak resident memory after the run.
        var length: Int? = nil
        var peakResidentBytes: Int? = nil
    }

    func run() throws {
        threading.apply()
        var c = TrainingConfiguration()
        c.model = model
        c.mlpSizes = [784] + hidden + [10]
        shapes.apply(vit: &c.vit, gnn: &c.gnn)
        lora.apply(to: &c.lora)
        c.optimizer = optimizer
        c.seed = seed
        try optimizers.apply(to: &c)
        c.learningRate = c.defaultLearningRate
        try c.validate()
        let input = model.builder.input
        let net = input == .moleculeGraphs ? ModelFactory.model(c, inputFeatures: TrainingData.moleculeInputFeatures, classes: 1)
                                           : ModelFactory.model(c, classes: model == .miniLMLoRA ? 5 : 10)   // minilm-lora: BBC News's 5 classes
        let step = TrainingStep(model: net, optimizer: try ModelFactory.optimizer(c, totalSteps: 1_000_000, model: net))
        let curvatureOptimizer = step.optimizer as? any CurvatureOptimizer<Float>
        var split: [String: Double] = [:]
        var splitSteps = 0
        var rng = Xoshiro256StarStar(seed: seed, stream: 7)
        let run: () -> Void
        if model == .miniLMLoRA {
            // Random ids, each text a random length in T/2…T then padding: the masked work of real batches.
            let t = c.lora.length
            var ids = Matrix<Float>(rows: batch, columns: t), mask = Matrix<Float>(rows: batch, columns: t)
            for n in 0..<batch {
                let length = t / 2 + rng.nextInt(below: t - t / 2 + 1)
                for j in 0..<length { ids[n, j] = Float(3 + rng.nextInt(below: 30_000)); mask[n, j] = 1 }
            }
            let tokens = try TokenBatch(tokens: ids, mask: mask, labels: (0..<batch).map { _ in rng.nextInt(below: net.outputFeatures) })
            let task = SoftmaxClassification<TokenBatch>()
            run = { step.run(tokens, task: task) }
        } else {
            run = step.benchmark(input: input, batch: batch, seed: seed)   // images, or molecule graphs
        }
        for _ in 0..<min(5, repeats) { run() } // warm-up: allocations, OpenBLAS threads
        // Whole cycles: a multiple of T_inv (and T_cov) steps holds every periodic refresh in proportion.
        let cycle = optimizer.isCurvatureBased && !optimizer.isThermodynamicNaturalGradient ? max(1, c.kfac.inverseUpdateInterval * c.kfac.factorUpdateInterval) : 1
        var times: [Double] = []
        var total = 0.0
        while times.count < repeats || total < seconds || times.count % cycle != 0 {
            let t = BenchmarkTiming.seconds { run() }
            times.append(t)
            total += t
            if let curvatureOptimizer {
                split["forward_backward_seconds", default: 0] += step.lastForwardBackwardSeconds
                for (name, value) in curvatureOptimizer.stepMetrics where name.hasSuffix("_seconds") { split[name, default: 0] += value }
                splitSteps += 1
            }
        }
        let median = BenchmarkTiming.median(times)
        let mean = total / Double(times.count)
        try JSONReport.print(Report(model: model.rawValue, batch: batch, optimizer: optimizer.rawValue, threads: BLASThreads.current,
                                    parameters: net.parameterCount, repeats: times.count, meanSeconds: mean,
                                    medianSeconds: median, madSeconds: BenchmarkTiming.medianAbsoluteDeviation(times),
                                    examplesPerSecond: Double(batch) / mean,
                                    curvatureSplit: curvatureOptimizer.map { _ in split.mapValues { $0 / Double(max(splitSteps, 1)) } },
                                    curvatureConfiguration: curvatureOptimizer?.summary,
                                    length: model == .miniLMLoRA ? c.lora.length : nil, peakResidentBytes: SystemMemory.peakResidentBytes))
    }
}
