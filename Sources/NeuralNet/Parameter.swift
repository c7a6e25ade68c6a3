import Linalg

/// A trainable tensor and the gradient of the loss with respect to it.
///
/// A reference type: the module that owns it (or the modules that share it), the optimiser that updates
/// it and the checkpoint that saves it all see the same storage, addressed by `name`
/// (`"layers.0.weight"`, the full path given by the container, see `Module.assignParameterPaths`).
///
/// Backward passes *add* into `gradient` (`∂L/∂θ` summed over every use of the parameter); the training
/// step zeroes it once per step (`Module.zeroGradients`). A frozen parameter (`freeze()`) has no gradient
/// buffer (`gradient` is `0 × 0`), is skipped by backward passes, optimisers and curvature methods, and
/// keeps its value.
public final class Parameter<Scalar: BLASScalar> {
    /// Full dotted path, e.g. `"layers.0.weight"` (a module lists its own parameters under local names,
    /// `"weight"`, `"bias"`; the root container sets the full path).
    public internal(set) var name: String
    /// Current value (row-major; a weight of a layer with `in` inputs and `out` outputs is `out × in`).
    public var value: Matrix<Scalar>
    /// `∂L/∂value` accumulated since the last `zeroGradient()`; same shape as `value` while trainable,
    /// `0 × 0` while frozen.
    public var gradient: Matrix<Scalar>
    /// False once frozen: no gradient, no optimiser state, no curvature.
    public private(set) var isTrainable = true

    public init(name: String, value: Matrix<Scalar>) {
        self.name = name
        self.value = value
        self.gradient = Matrix(rows: value.rows, columns: value.columns)
    }

    /// Number of scalar entries.
    public var count: Int { value.count }

    /// Sets `gradient` to zero in place (reallocating only if its shape no longer matches `value`).
    /// Specialised: the generic `update(repeating:)` costs a value-witness call per element (7 % of an
    /// MLP step).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func zeroGradient() {
        guard isTrainable else { return }
        if gradient.rows != value.rows || gradient.columns != value.columns {
            gradient = Matrix(rows: value.rows, columns: value.columns)
        } else {
            gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }

    /// Stops training this parameter and releases its gradient buffer.
    public func freeze() {
        isTrainable = false
        gradient = Matrix(rows: 0, columns: 0)
    }

    /// Trains this parameter again, starting from a zero gradient.
    public func unfreeze() {
        guard !isTrainable else { return }
        isTrainable = true
        gradient = Matrix(rows: value.rows, columns: value.columns)
    }
}

extension Parameter: CustomStringConvertible {
    public var description: String { "\(name) \(value.rows)×\(value.columns)\(isTrainable ? "" : " (frozen)")" }
}
