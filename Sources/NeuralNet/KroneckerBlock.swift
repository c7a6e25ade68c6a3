import Linalg

/// One Kronecker-factored curvature block: a trainable weight `W` (and bias) with every module that
/// applies it. A weight applied at many positions (a convolution, a layer shared over a sequence) has one
/// use with `positions > 1`; a weight applied in several places (modules built with
/// `Linear(sharingParametersWith:)`) has several uses, each recording its own `(a, g)` capture.
///
/// The block's `capture` merges the uses' captures into one, with the rows of each example kept together
/// (example-major: example `n`'s rows of use 0, then of use 1, …), so that every use's positions are
/// positions of the merged capture: `positions = Σ_u R_u`. K-FAC-expand and K-FAC-reduce
/// (`WeightSharingApproximation`) then apply unchanged, and `gᵀā` over the merged rows is the weight's
/// gradient `Σ_u g_uᵀ ā_u` (docs/kfac.md). With one use the merged capture is that use's capture
/// itself (no copy), so single-use models are unchanged bit for bit.
public struct KroneckerBlock<Scalar: NeuralScalar> {
    /// The path of the first module applying the weight (`"layers.0"`): the block's key in K-FAC state.
    public let name: String
    /// The modules applying the weight, in tree order (all share `weight` and `bias`).
    public let uses: [any KroneckerFactored<Scalar>]

    public init(name: String, uses: [any KroneckerFactored<Scalar>]) {
        precondition(!uses.isEmpty, "a Kronecker block needs at least one use")
        let w = ObjectIdentifier(uses[0].weight), b = uses[0].trainableBias.map(ObjectIdentifier.init)
        precondition(uses.allSatisfy { ObjectIdentifier($0.weight) == w && $0.trainableBias.map(ObjectIdentifier.init) == b },
                     "Kronecker block \(name): every use must share the weight and the bias")
        self.name = name
        self.uses = uses
    }

    /// `W`, `out × in`.
    public var weight: Parameter<Scalar> { uses[0].weight }
    /// The trainable bias, if any (then `ā = [a, 1]`).
    public var bias: Parameter<Scalar>? { uses[0].trainableBias }

    /// The captures of the uses that recorded one since their last forward pass, in use order.
    public var captures: [KroneckerCapture<Scalar>] { uses.compactMap { $0.capture } }

    /// The uses' captures merged (see the type's notes); nil while some use has not captured.
    public var capture: KroneckerCapture<Scalar>? {
        let parts = captures
        guard parts.count == uses.count else { return nil }
        if parts.count == 1 { return parts[0] }
        precondition(parts.allSatisfy { $0.rowOffsets == nil },
                     "Kronecker block \(name): a weight applied in several places with per-example row counts (graphs) is not supported")
        return KroneckerCapture(activations: Self.interleave(parts.map(\.activations), examples: parts[0].examples),
                                outputGradients: Self.interleave(parts.map(\.outputGradients), examples: parts[0].examples),
                                examples: parts[0].examples, hasBias: parts[0].hasBias)
    }

    /// Stacks `parts` (each `b·R_u × c`, example-major) into `b·ΣR_u × c` with each example's rows together.
    static func interleave(_ parts: [Matrix<Scalar>], examples b: Int) -> Matrix<Scalar> {
        let c = parts[0].columns
        precondition(parts.allSatisfy { $0.columns == c && $0.rows % b == 0 }, "Kronecker block: captures of different widths")
        let perExample = parts.map { $0.rows / b }
        let total = perExample.reduce(0, +)
        var out = Matrix<Scalar>(rows: b * total, columns: c)
        out.withUnsafeMutableBufferPointer { op in
            var offset = 0
            for (part, r) in zip(parts, perExample) {
                part.withUnsafeBufferPointer { pp in
                    for n in 0..<b {
                        (op.baseAddress! + (n * total + offset) * c).update(from: pp.baseAddress! + n * r * c, count: r * c)
                    }
                }
                offset += r
            }
        }
        return out
    }
}

extension Sequential {
    /// The model's K-FAC blocks: the Kronecker-factored modules with a trainable weight, grouped by
    /// weight (`Parameter` identity), in the order of each weight's first use, named by that use's path.
    public var kroneckerBlocks: [KroneckerBlock<Scalar>] {
        var order: [ObjectIdentifier] = []
        var groups: [ObjectIdentifier: (name: String, uses: [any KroneckerFactored<Scalar>])] = [:]
        for (name, layer) in kroneckerFactoredLayers {
            let key = ObjectIdentifier(layer.weight)
            if groups[key] == nil { order.append(key); groups[key] = (name, []) }
            groups[key]!.uses.append(layer)
        }
        return order.map { KroneckerBlock(name: groups[$0]!.name, uses: groups[$0]!.uses) }
    }
}
