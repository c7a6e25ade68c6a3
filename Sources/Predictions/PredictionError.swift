/// A prediction that cannot be made as asked: a bad parameter or workload description.
public enum PredictionError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidParameter(name: String, value: String, requirement: String)
    case invalidWorkload(name: String, detail: String)
    case unknownPreset(kind: String, name: String, known: [String])
    case unreadableFile(path: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, requirement):
            return "parameter \(name) = \(value) is invalid: \(requirement)"
        case let .invalidWorkload(name, detail):
            return "workload '\(name)' is invalid: \(detail)"
        case let .unknownPreset(kind, name, known):
            return "unknown \(kind) '\(name)'; choose one of: \(known.joined(separator: ", "))"
        case let .unreadableFile(path, detail):
            return "cannot read workload file \(path): \(detail)"
        }
    }
}
