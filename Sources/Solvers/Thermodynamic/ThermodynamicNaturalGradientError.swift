/// Why TNGD refused a configuration, a model or a device run; each case says what to do.
public enum ThermodynamicNaturalGradientError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A setting is out of its valid range.
    case invalidConfiguration(field: String, value: String, requirement: String)
    /// A layer has no Jacobian–vector rule (`LinearizedModel`).
    case unsupportedLayer(summary: String)
    /// The simulated device cannot do what was asked (for example quantising converters, the exact integrator).
    case unsupportedDevice(detail: String)
    /// The gradient or the device state holds NaN or ±∞.
    case nonFinite(what: String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, value, requirement):
            return "TNGD: \(field) = \(value) is invalid: \(requirement)"
        case let .unsupportedLayer(summary):
            return "TNGD: no Jacobian–vector rule for \(summary); use Linear, Conv2d, ReLU, Tanh, MaxPool2d, Flatten "
                + "and Dropout layers, or a digital NGD baseline (--optimizer ngd-cg)"
        case let .unsupportedDevice(detail):
            return "TNGD: the simulated device does not support \(detail)"
        case let .nonFinite(what):
            return "TNGD: \(what) contains NaN or infinity; lower the learning rate or raise the damping λ"
        }
    }
}
