import Linalg

/// A skip connection `y = x + f(x)` around a body `f` (pre-norm transformer sub-layers, residual MLPs,
/// message-passing updates `h ← h + m(h)`). Backward: `∂L/∂x = g + (∂f/∂x)ᵀ g`.
/// The body must keep the feature count; its child name is `"body"`.
public final class Residual<Scalar: NeuralScalar>: Module {
    public let body: any Module<Scalar>

    public init(_ body: any Module<Scalar>) {
        self.body = body
        requireDistinctInstances("Residual")
        assignParameterPaths()
    }

    public var children: [(name: String, module: any Module<Scalar>)] { [("body", body)] }
    public var summary: String { "Residual(\(body.summary))" }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        let out = body.outputFeatures(forInput: inputFeatures)
        precondition(out == inputFeatures, "Residual: the body maps \(inputFeatures) features to \(out); it must keep them")
        return out
    }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        var y = body.forward(x, context: context)
        precondition(y.rows == x.rows && y.columns == x.columns, "Residual: body output \(y.rows)×\(y.columns), input \(x.rows)×\(x.columns)")
        y.axpy(1, x)
        return y
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        var dx = body.backward(g, options: options)
        guard options.inputGradient else { return dx }
        dx.axpy(1, g)
        return dx
    }
}

/// Several modules applied to the same input, their outputs merged: `y = Σ_k f_k(x)` (`.sum`) or
/// `y = [f_0(x), f_1(x), …]` column-wise (`.concatenate`) — the query/key/value projections of an
/// attention layer, or the parallel message and self terms of a graph convolution.
/// Backward: each branch gets `g` (sum) or its slice of columns (concatenate); the input gradient is the
/// sum of the branches'. Children are named `"branches.<index>"`. All branches must keep the row count.
public final class Branches<Scalar: NeuralScalar>: Module {
    public enum Merge: String, Sendable { case sum, concatenate }
    public let branches: [any Module<Scalar>]
    public let merge: Merge
    /// Output columns of each branch in the last forward pass (for splitting `g`).
    private var widths: [Int] = []

    public init(_ branches: [any Module<Scalar>], merge: Merge) {
        precondition(!branches.isEmpty, "Branches needs at least one branch")
        self.branches = branches
        self.merge = merge
        requireDistinctInstances("Branches")
        assignParameterPaths()
    }

    public var children: [(name: String, module: any Module<Scalar>)] {
        branches.enumerated().map { ("branches.\($0)", $1) }
    }
    public var summary: String {
        "Branches(\(merge): " + branches.map(\.summary).joined(separator: " | ") + ")"
    }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        let outs = branches.map { $0.outputFeatures(forInput: inputFeatures) }
        if merge == .concatenate { return outs.reduce(0, +) }
        precondition(Set(outs).count == 1, "Branches(sum): branch widths \(outs) differ")
        return outs[0]
    }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        let outputs = branches.map { $0.forward(x, context: context) }
        widths = outputs.map(\.columns)
        let rows = outputs[0].rows
        precondition(outputs.allSatisfy { $0.rows == rows }, "Branches: branch outputs have different row counts")
        switch merge {
        case .sum:
            var y = outputs[0]
            for o in outputs.dropFirst() {
                precondition(o.columns == y.columns, "Branches(sum): branch widths \(widths) differ")
                y.axpy(1, o)
            }
            return y
        case .concatenate:
            let total = widths.reduce(0, +)
            var y = Matrix<Scalar>(rows: rows, columns: total)
            y.withUnsafeMutableBufferPointer { yp in
                var offset = 0
                for o in outputs {
                    o.withUnsafeBufferPointer { op in
                        for r in 0..<rows {
                            (yp.baseAddress! + r * total + offset).update(from: op.baseAddress! + r * o.columns, count: o.columns)
                        }
                    }
                    offset += o.columns
                }
            }
            return y
        }
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        precondition(g.columns == (merge == .sum ? widths[0] : widths.reduce(0, +)),
                     "Branches backward got \(g.rows)×\(g.columns) for branch widths \(widths)")
        var dx: Matrix<Scalar>? = nil
        var offset = 0
        for (k, branch) in branches.enumerated() {
            let gk = merge == .sum ? g : Self.columns(g, from: offset, count: widths[k])
            offset += widths[k]
            let d = branch.backward(gk, options: options)
            guard options.inputGradient else { continue }
            if dx == nil { dx = d } else { dx!.axpy(1, d) }
        }
        return dx ?? Matrix(rows: 0, columns: 0)
    }

    /// Columns `from ..< from + count` of `g` as a new matrix.
    static func columns(_ g: Matrix<Scalar>, from: Int, count: Int) -> Matrix<Scalar> {
        var out = Matrix<Scalar>(rows: g.rows, columns: count)
        g.withUnsafeBufferPointer { gp in
            out.withUnsafeMutableBufferPointer { op in
                for r in 0..<g.rows {
                    (op.baseAddress! + r * count).update(from: gp.baseAddress! + r * g.columns + from, count: count)
                }
            }
        }
        return out
    }
}
