import Datasets
import Foundation
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "thermograd-training-\(ProcessInfo.processInfo.processIdentifier)-\(name)"
    try? FileManager.default.removeItem(atPath: path)
    return path
}

/// The resume check every optimiser gets: trains `configuration` in the run folder `folder` for
/// `stopAfter` steps, resumes it from its checkpoint to the end, and expects every parameter to equal
/// `reference`'s (the same configuration run without interruption). Returns the resumed trainer for the
/// optimiser-specific checks.
func resumedRun(matching reference: Trainer, configuration: TrainingConfiguration, folder: String,
                train: LabeledImages, test: LabeledImages, stopAfter: Int = 10,
                sourceLocation: SourceLocation = #_sourceLocation) throws -> Trainer {
    var split = configuration
    split.outputDirectory = temporaryDirectory(folder)
    _ = try Trainer(configuration: split, train: train, test: test).run(stopAfterStep: stopAfter)
    let second = try Trainer(configuration: split, train: train, test: test)
    _ = try second.run(resume: true)
    for (p, q) in zip(reference.model.namedParameters, second.model.namedParameters) {
        #expect(p.value == q.value, "parameter \(p.name) differs after resume (\(folder))", sourceLocation: sourceLocation)
    }
    return second
}

@Suite struct SafetensorsTests {
    @Test func roundTripAndLayout() throws {
        let a = Matrix<Float>(rows: 2, columns: 3, storage: [1, -2, 3.5, .pi, 0, -0])
        let b = Matrix<Double>(rows: 1, columns: 2, storage: [1e-300, -7])
        let file = SafetensorsFile(tensors: ["a": SafetensorsTensor(a), "b": SafetensorsTensor(b)], metadata: ["step": "12"])
        let data = try file.encoded()
        // 8-byte little-endian header length, JSON header padded to 8 bytes, then 6·4 + 2·8 data bytes.
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0 && data.count == 8 + n + 24 + 16)
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        #expect(header.contains("\"dtype\":\"F32\"") && header.contains("\"__metadata__\""))
        let back = try SafetensorsFile(data: data, path: "mem")
        #expect(back == file)
        #expect(try back.tensors["a"]!.matrix(as: Float.self) == a)
        #expect(try back.tensors["b"]!.matrix(as: Double.self) == b)
    }

    @Test func malformedFilesAreRejected() throws {
        let data = try SafetensorsFile(tensors: ["a": SafetensorsTensor(Matrix<Float>(rows: 2, columns: 2, repeating: 1))]).encoded()
        #expect(throws: CheckpointError.self) { try SafetensorsFile(data: data.prefix(data.count - 1), path: "cut") }
        #expect(throws: CheckpointError.self) { try SafetensorsFile(data: data.prefix(12), path: "cut") }
        #expect(throws: CheckpointError.self) { try SafetensorsFile(data: data + Data([0]), path: "long") }
        #expect(throws: CheckpointError.missing(path: "/nonexistent/x.safetensors")) {
            try SafetensorsFile(contentsOf: "/nonexistent/x.safetensors")
        }
    }

    @Test func checkpointRoundTripRestoresModelAndOptimizer() throws {
        func make() throws -> (Sequential<Float>, Adam<Float>) {
            var rng = Xoshiro256StarStar(seed: 3)
            let model = Sequential<Float>(inputFeatures: 4, [Linear(4, 5, rng: &rng), ReLU(), Dropout(probability: 0.5, seed: 1), Linear(5, 2, rng: &rng)])
            return (model, try Adam<Float>(schedule: .constant(0.01)))
        }
        let (model, adam) = try make()
        var rng = Xoshiro256StarStar(seed: 4)
        let x: Matrix<Float> = rng.normalMatrix(rows: 8, columns: 4)
        let loss = SoftmaxCrossEntropy<Float>()
        for _ in 0..<3 {
            _ = loss.forward(model.forward(x, training: true), targets: [0, 1, 0, 1, 0, 1, 1, 0])
            model.zeroGradients()
            model.backward(loss.gradient(targets: [0, 1, 0, 1, 0, 1, 1, 0]))
            _ = adam.update(model.namedParameters)
        }
        let path = temporaryDirectory("ckpt") + "/c.safetensors"
        try Checkpoint(model: model, optimizer: adam, step: 3).write(to: path)
        let (fresh, freshAdam) = try make()
        let checkpoint = try Checkpoint.read(from: path)
        try checkpoint.restore(into: fresh, optimizer: freshAdam, path: path)
        #expect(checkpoint.step == 3 && freshAdam.step == 3)
        for (p, q) in zip(model.namedParameters, fresh.namedParameters) { #expect(p.value == q.value) }
        #expect(freshAdam.stateTensors() == adam.stateTensors())
        #expect((fresh.layers[2] as! Dropout<Float>).generator == (model.layers[2] as! Dropout<Float>).generator)
        // A different model does not load.
        var other = Xoshiro256StarStar(seed: 5)
        let wrong = Sequential<Float>(inputFeatures: 4, [Linear(4, 3, rng: &other)])
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: wrong, optimizer: try Adam<Float>(schedule: .constant(0.01)), path: path) }
    }
}
