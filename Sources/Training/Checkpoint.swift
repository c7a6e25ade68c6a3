import Foundation
import Linalg
import NeuralNet
import Optimizers
import Reporting

/// A training checkpoint in the safetensors format (see `SafetensorsFile`):
/// - tensors `"model.<parameter path>"` (F32 weights, frozen ones included; nested paths such as
///   `"model.layers.1.body.layers.0.weight"`) and `"optimizer.<state>.<parameter path>"` (trainable only);
/// - `__metadata__`: `format`, `step`, the optimiser's counters (`optimizer.step`, …), the random
///   generator states of stochastic layers (`rng.<module path>` = four 64-bit words), the configuration
///   fingerprint (`configuration`), and any trainer bookkeeping the caller adds.
/// Written atomically (temporary file + rename), so an interrupted write never destroys the previous one.
public struct Checkpoint {
    public static let format = "thermograd-checkpoint-1"
    public var file: SafetensorsFile

    public init(file: SafetensorsFile) { self.file = file }

    /// Captures `model`, `optimizer` and `metadata` (merged with the state keys above).
    public init<S: NeuralScalar>(model: Sequential<S>, optimizer: any Optimizer<S>, step: Int, metadata: [String: String] = [:]) {
        var tensors: [String: SafetensorsTensor] = [:]
        for p in model.namedParameters { tensors["model.\(p.name)"] = SafetensorsTensor(p.value) }
        for (name, t) in optimizer.stateTensors() { tensors["optimizer.\(name)"] = SafetensorsTensor(t) }
        var meta = metadata
        meta["format"] = Self.format
        meta["step"] = String(step)
        for (k, v) in optimizer.stateScalars() { meta["optimizer.\(k)"] = v }
        for (path, module) in model.namedModules() {
            if let dropout = module as? Dropout<S> {
                meta["rng.\(path)"] = dropout.generator.state.map(String.init).joined(separator: ",")
            }
        }
        file = SafetensorsFile(tensors: tensors, metadata: meta)
    }

    /// The training step the checkpoint was taken after.
    public var step: Int { Int(file.metadata["step"] ?? "") ?? 0 }

    public func write(to path: String) throws { try AtomicFile.write(try file.encoded(), to: path) }

    public static func read(from path: String) throws(CheckpointError) -> Checkpoint {
        let file = try SafetensorsFile(contentsOf: path)
        guard file.metadata["format"] == format else {
            throw .malformed(path: path, detail: "not a Thermograd checkpoint (format \(file.metadata["format"] ?? "missing"))")
        }
        return Checkpoint(file: file)
    }

    /// Restores weights, optimiser state and generator states into `model` and `optimizer`; every
    /// parameter must be present with its shape. `path` names the file in errors.
    public func restore<S: NeuralScalar>(into model: Sequential<S>, optimizer: any Optimizer<S>, path: String) throws(CheckpointError) {
        for p in model.namedParameters {
            guard let t = file.tensors["model.\(p.name)"] else { throw .mismatch(path: path, detail: "no tensor for parameter \(p.name)") }
            let m: Matrix<S> = try t.matrix()
            guard m.rows == p.value.rows, m.columns == p.value.columns else {
                throw .mismatch(path: path, detail: "\(p.name) is \(m.rows)×\(m.columns) in the checkpoint, \(p.value.rows)×\(p.value.columns) in the model")
            }
            p.value = m
        }
        var state: [String: Matrix<S>] = [:]
        for (name, t) in file.tensors where name.hasPrefix("optimizer.") { state[String(name.dropFirst(10))] = try t.matrix() }
        var scalars: [String: String] = [:]
        for (k, v) in file.metadata where k.hasPrefix("optimizer.") { scalars[String(k.dropFirst(10))] = v }
        do { try optimizer.loadState(tensors: state, scalars: scalars, parameters: model.trainableParameters) } catch {
            throw .mismatch(path: path, detail: error.description)
        }
        for (modulePath, module) in model.namedModules() {
            guard let dropout = module as? Dropout<S> else { continue }
            let words = (file.metadata["rng.\(modulePath)"] ?? "").split(separator: ",").compactMap { UInt64($0) }
            do { dropout.generator = try Xoshiro256StarStar(state: words) } catch {
                throw .mismatch(path: path, detail: "no valid generator state for dropout layer \(modulePath)")
            }
        }
    }
}
