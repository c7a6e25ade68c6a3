import ArgumentParser
import Experiments
import Foundation
import Linalg
import Reporting
import Training

extension Train {
    /// `--model minilm-lora`: one arm (the configured optimiser) of `LoRAExperimentRunner` on the corpus of
    /// `c.lora` (docs/lora.md#training): `c.epochs` passes over the training split, evaluation on the test split
    /// every `--eval-every` steps (default: each epoch) and at the end; `lora.csv`, `lora.svg`,
    /// `lora-runtime.svg` and `lora-table.txt` in the run folder.
    func trainText(_ c: TrainingConfiguration) throws {
        print("thermograd train\n\(c)\nBLAS threads \(BLASThreads.current)\n")
        let data = try TextClassificationData.load(c.lora)
        let stepsPerEpoch = max(1, (min(c.trainSubset ?? data.train.count, data.train.count) + c.batchSize - 1) / c.batchSize)
        let schedule = try ExperimentSchedule(steps: c.epochs * stepsPerEpoch, evaluateEvery: c.evaluateEvery ?? stepsPerEpoch,
                                              seeds: [c.seed], trainSubset: c.trainSubset, testSubset: c.testSubset)
        let runner = LoRAExperimentRunner(data: data, settings: c.lora, schedule: schedule, batchSize: c.batchSize)
        print("data         \(runner.train.count) training / \(runner.test.count) test texts (\(data.classNames.joined(separator: ", "))), "
              + "\(stepsPerEpoch) steps per epoch\n")
        fflush(nil)
        let arm = ExperimentArm(name: c.optimizer.rawValue, training: c, settings: c.description) { model, steps, _ in
            try ModelFactory.optimizer(c, totalSteps: steps, model: model)
        }
        let folder = c.outputDirectory, title = "MiniLM-L6 + LoRA · \(c.optimizer.rawValue) · \(c.lora.corpus.rawValue)"
        let results = try runner.run([TNGDArm(arm: arm, digitalSecondsPerStep: 0)], log: { print($0) }, progress: ProgressLine())
        let text = try TNGDExperiments.write(results, to: folder, name: "lora", title: title, header: ["thermograd train", "\(c)"])
        print("\n" + text)
        if let last = results.records.last {
            print(String(format: "final test accuracy %.2f%%, test loss %.4f, %d steps, %.1f s wall", 100 * last.testAccuracy,
                         last.testLoss, last.step, last.wallSeconds))
        }
        print("outputs: \(folder)/" + TNGDExperiments.outputFiles(name: "lora"))
    }
}
