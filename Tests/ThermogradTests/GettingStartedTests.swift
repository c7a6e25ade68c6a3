import Testing
import Thermograd

/// The getting-started article (`Sources/Thermograd/Thermograd.docc/GettingStarted.md`) as a test: the
/// same code, through `import Thermograd` alone, must compile and train. Keep the two in sync.
@Suite struct GettingStartedTests {
    @Test func trainYourOwnModelWithTKFAC() throws {
        // --- article code begins ---
        // 1. Data: 512 examples of 3 classes in 16 dimensions (rows are examples).
        var rng = Xoshiro256StarStar(seed: 1)
        var inputs = Matrix<Float>(rows: 512, columns: 16)
        var labels: [Int] = []
        for i in 0..<512 {
            let c = rng.nextInt(below: 3)
            labels.append(c)
            for j in 0..<16 { inputs[i, j] = Float(rng.nextNormal()) + (j % 3 == c ? 1.5 : 0) }
        }
        // 2. Model: 16 → 32 → 3 with ReLU.
        let model = Sequential<Float>(inputFeatures: 16, [
            Linear<Float>(16, 32, rng: &rng), ReLU<Float>(), Linear<Float>(32, 3, rng: &rng),
        ])
        // 3. TK-FAC: K-FAC whose factor inverses come from simulated devices with 8-bit converters.
        let device = try ThermodynamicKFACConfiguration.defaultDevice(inputBits: 8, outputBits: 8)
        let solver = try ThermodynamicFactorSolver<Float>(configuration: .init(device: device))
        var kfac = KFACConfiguration()
        kfac.damping = 0.1
        let sgd = try SGD<Float>(schedule: LearningRateSchedule(baseRate: 0.05), momentum: 0.9)
        let optimizer = try KFAC(model: model, inner: sgd, configuration: kfac, solver: solver)
        // 4. Train: 60 steps on mini-batches of 64, then evaluate.
        let step = TrainingStep(model: model, optimizer: optimizer)
        for s in 0..<60 {
            let rows = (0..<64).map { (s * 64 + $0) % 512 }
            let batch = Matrix<Float>(rows: 64, columns: 16, storage: rows.flatMap { r in (0..<16).map { inputs[r, $0] } })
            step.run(batch, labels: rows.map { labels[$0] })
        }
        let result = SoftmaxClassification<ImageBatch>().evaluate(model, on: LabeledImages(images: inputs, labels: labels, height: 1, width: 16, channels: 1, classNames: ["a", "b", "c"]))
        let (loss, accuracy) = (result.loss, result.accuracy)
        print("loss \(loss), accuracy \(accuracy), device time \(solver.metrics.extra["device_seconds"] ?? 0) s")
        // --- article code ends ---

        // Three classes: chance is 1/3 and the initial loss ≈ ln 3 ≈ 1.10. The classes are separated by
        // 1.5 in 5–6 of 16 coordinates (a Bayes accuracy near 99 %); a trained model is far from chance.
        #expect(accuracy > 0.9, "accuracy \(accuracy)")
        #expect(loss < 0.5, "loss \(loss)")
        #expect(optimizer.step == 60)
        #expect((solver.metrics.extra["device_seconds"] ?? 0) > 0, "the devices did the factor work")
    }
}
