/// Why a curvature computation refused a model; each case says what to do.
public enum CurvatureError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A layer has no Jacobian–vector rule (`LinearizedModel`), so no GGN-vector product exists for the model.
    case unsupportedLayer(summary: String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(summary):
            return "no Jacobian–vector rule for \(summary); use Linear, Conv2d, ReLU, Tanh, GELU, LayerNorm, MaxPool2d, "
                + "AvgPool2d, Flatten and Dropout layers, or K-FAC"
        }
    }
}
