import Foundation

/// Reading workload descriptions from JSON files (`thermograd predict --workload-file`), with errors that
/// name the field and the value at fault.
extension Workload {
    /// Loads and validates a workload from a JSON file.
    public static func load(path: String) throws(PredictionError) -> Workload {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadableFile(path: path, detail: "no such file; check the path")
        }
        guard !isDirectory.boolValue else { throw .unreadableFile(path: path, detail: "it is a folder; name a JSON file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadableFile(path: path, detail: "permission denied or unreadable; check the file's permissions")
        }
        return try decode(data, path: path)
    }

    /// Parses and validates workload JSON; `path` names the source in errors.
    public static func decode(_ data: Data, path: String) throws(PredictionError) -> Workload {
        let w: Workload
        do { w = try JSONDecoder().decode(Workload.self, from: data) } catch {
            throw .unreadableFile(path: path, detail: describe(error, data: data) + "; expected fields name, batch, "
                                  + "outputDimension, layers[{name, inputs, outputs, positions?, count?, bias?}]")
        }
        try w.validate()
        return w
    }

    /// What is wrong with `data`, given the decoder's `error`: invalid JSON, a missing field, a field of the
    /// wrong type, or a count that is not a whole number in Int's range (Foundation's decoder reports the
    /// last two as "not valid JSON" without a path, so the document is searched for the culprit).
    static func describe(_ error: any Error, data: Data) -> String {
        guard let document = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return "not valid JSON"
        }
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
        }
        if let bad = firstNonInteger(in: document) { return bad }
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?:
            return "missing field \(path(context.codingPath + [key]))"
        case let .typeMismatch(_, context)?, let .valueNotFound(_, context)?:
            return "field \(path(context.codingPath)): \(context.debugDescription)"
        case let .dataCorrupted(context)?:
            return context.codingPath.isEmpty ? context.debugDescription : "field \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    /// The first whole-number field (batch, outputDimension, a layer's inputs, outputs, positions, count) holding a fraction or a number outside Int's range.
    static func firstNonInteger(in document: Any) -> String? {
        guard let root = document as? [String: Any] else { return nil }
        func check(_ value: Any?, _ name: String) -> String? {
            guard let value, !(value is String), !(value is Bool), let number = value as? NSNumber else { return nil }
            let d = number.doubleValue
            if d.rounded() != d { return "field \(name) = \(number) is not a whole number" }
            // Int's range is [-2⁶³, 2⁶³); NSNumber keeps large integers exact, doubles above 2⁶³ are out.
            if !(d >= -9.223372036854775808e18 && d < 9.223372036854775808e18) {
                return "field \(name) = \(number) is out of range (at most 9223372036854775807)"
            }
            return nil
        }
        for field in ["batch", "outputDimension"] { if let m = check(root[field], field) { return m } }
        guard let layers = root["layers"] as? [Any] else { return nil }
        for (i, layer) in layers.enumerated() {
            guard let l = layer as? [String: Any] else { continue }
            for field in ["inputs", "outputs", "positions", "count"] {
                if let m = check(l[field], "layers[\(i)].\(field)") { return m }
            }
        }
        return nil
    }
}
