import Foundation
import Linalg
import NeuralNet
import Optimizers
import Training

/// safetensors files and Thermograd checkpoints: parse, convert every tensor to Float and Double matrices,
/// and restore the result into a small MLP with Adam (as `train --resume` does). Any input must give a value
/// or a `CheckpointError`, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    guard let file = try? SafetensorsFile(data: data, path: "input") else { return 0 }
    for tensor in file.tensors.values {
        _ = try? tensor.matrix(as: Float.self)
        _ = try? tensor.matrix(as: Double.self)
    }
    _ = try? file.encoded()
    var rng = Xoshiro256StarStar(seed: 1)
    let model: Sequential<Float> = Models.multilayerPerceptron([4, 3, 2], rng: &rng)
    if let optimizer = try? Adam<Float>(schedule: .constant(0.01)) {
        _ = try? Checkpoint(file: file).restore(into: model, optimizer: optimizer, path: "input")
    }
    return 0
}
