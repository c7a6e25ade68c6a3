import Linalg

/// A trainable tensor and the gradient of the loss with respect to it.
///
/// A reference type: the layer that owns it, the optimiser that updates it and the checkpoint that
/// saves it all see the same storage, addressed by `name` (`"layers.0.weight"`, given by the container).
/// `value` and `gradient` always have the same shape. A layer's `backward` *overwrites* `gradient`
/// (it does not accumulate), so no zeroing step is needed between iterations.
public final class Parameter<Scalar: BLASScalar> {
    /// Full dotted path, e.g. `"layers.0.weight"`; a layer names its own parameters `"weight"`,
    /// `"bias"`, …, and `Sequential` prefixes them with `"layers.<index>."`.
    public internal(set) var name: String
    /// Current value (row-major; a weight of a layer with `in` inputs and `out` outputs is `out × in`).
    public var value: Matrix<Scalar>
    /// `∂L/∂value` from the last backward pass (zero before the first one).
    public var gradient: Matrix<Scalar>

    public init(name: String, value: Matrix<Scalar>) {
        self.name = name
        self.value = value
        self.gradient = Matrix(rows: value.rows, columns: value.columns)
    }

    /// Number of scalar entries.
    public var count: Int { value.count }
}

extension Parameter: CustomStringConvertible {
    public var description: String { "\(name) \(value.rows)×\(value.columns)" }
}
