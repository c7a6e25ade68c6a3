import ArgumentParser
import Experiments
import Foundation
import Linalg
import Reporting
import Training

/// The LoRA comparison (`LoRAExperiment.defaultSchedule`).
enum LoRASchedule: ScheduleDefaults { static var schedule: ExperimentSchedule { LoRAExperiment.defaultSchedule } }

/// `thermograd experiment lora`: TNGD-Adam at t ∈ {0.1, 0.2, 0.4}τ against Adam fine-tuning MiniLM-L6 with LoRA.
struct ExperimentLoRA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "TNGD-Adam (β₁ = β₂ = 0, η = 1e-3, λ = 1, δt = 0.02τ, t ∈ {0.1, 0.2, 0.4}τ) vs Adam: LoRA on MiniLM-L6, BBC News or tweets.",
        discussion: """
        Every arm starts from the same pretrained MiniLM-L6 with the same adapters and head per seed and sees the \
        same batches; only the LoRA adapters (Q, K, V, O) and the head train. Loss and accuracy against step and \
        against modelled runtime (here: simulated device time only; the digital part is left at 0 s because the \
        cost model has no transformer-encoder workload). Writes lora.csv, lora.svg, lora-runtime.svg, lora-table.txt.

        Example:
          thermograd experiment lora --steps 60 --seeds 1 2 3 --batch 16
        """)

    @OptionGroup var schedule: ScheduleOptions<LoRASchedule>
    @OptionGroup(title: "LoRA and text") var lora: LoRAOptions
    @Option(help: "Mini-batch size.")
    var batch: Int = LoRAExperiment.batchSize
    @Option(name: .customLong("times"), parsing: .upToNextOption, help: "TNGD-Adam analog times t in τ (default 0.1 0.2 0.4).")
    var times: [Double] = LoRAExperiment.analogTimes
    @Option(name: .customLong("adam-lr"), help: "Adam and TNGD-Adam learning rate (default \(LoRAExperiment.knobs.adamLearningRate)).")
    var adamLearningRate: Double?
    @Option(name: .customLong("lr"), help: "Learning rate of plain TNGD (--tngd) (default \(LoRAExperiment.knobs.learningRate)).")
    var learningRate: Double?
    @Option(name: .customLong("tngd-damping"), help: "Damping λ (default \(LoRAExperiment.knobs.tngd.damping)).")
    var damping: Double?
    @Flag(name: .customLong("tngd"), help: "Also run plain TNGD (SGD on g̃) at the largest t.")
    var plainTNGD = false
    @Option(help: "Output folder (default runs/lora).")
    var out: String?
    @OptionGroup var threading: ThreadsOption<OneThread>

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard !times.isEmpty, times.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ValidationError("--times needs positive analog times") }
        _ = try lora.configuration()
        _ = try knobs()
    }

    func knobs() throws -> TNGDExperiments.Knobs {
        var k = LoRAExperiment.knobs
        if let adamLearningRate { k.adamLearningRate = adamLearningRate }
        if let learningRate { k.learningRate = learningRate }
        if let damping { k.tngd.damping = damping }
        for (option, rate) in [("--lr", k.learningRate), ("--adam-lr", k.adamLearningRate)] where !(rate > 0 && rate.isFinite) {
            throw ValidationError("\(option) must be positive, got \(rate)")
        }
        do { _ = try k.configuration() } catch { throw ValidationError("\(error)") }
        return k
    }

    func run() throws {
        threading.apply()
        let settings = try lora.configuration(), schedule = try self.schedule.schedule()
        let arms = try LoRAExperiment.arms(try knobs(), times: times, plainTNGD: plainTNGD, batch: batch, digitalSeconds: { _ in 0 })
        let folder = out ?? "runs/lora"
        let header = ["thermograd experiment lora", "settings: \(settings); batch \(batch)",
                      "BLAS threads \(BLASThreads.current), load average \(SystemLoad.oneMinute) at the start"]
        print((header + ["schedule: \(schedule)"] + arms.map { "\($0.arm.name): \($0.arm.settings)" }).joined(separator: "\n") + "\n")
        let data = try TextClassificationData.load(settings)
        let runner = LoRAExperimentRunner(data: data, settings: settings, schedule: schedule, batchSize: batch)
        let title = "LoRA on MiniLM-L6 · \(settings.corpus.rawValue) · TNGD-Adam vs Adam"
        let results = try runner.run(arms, log: { print($0) }, progress: ProgressLine(),
                                     checkpoint: TNGDExperiments.checkpoint(to: folder, name: "lora", title: title, header: header))
        print("\n" + (try TNGDExperiments.write(results, to: folder, name: "lora", title: title, header: header)))
        print("outputs: \(folder)/" + TNGDExperiments.outputFiles(name: "lora"))
    }
}
