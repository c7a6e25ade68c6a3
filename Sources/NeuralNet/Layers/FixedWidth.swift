import Linalg

/// A module built for one input width: `Linear`, `Conv2d`, the pooling layers, `LayerNorm`, attention, the
/// embeddings. Conformers state their two widths; the width checks of `outputFeatures(forInput:)` and of a forward
/// pass's input are written here once (a mismatch is a programming error and traps naming the module).
public protocol FixedWidthModule<Scalar>: Module {
    /// The columns the module takes.
    var inputWidth: Int { get }
    /// The columns it returns.
    var outputWidth: Int { get }
}

extension FixedWidthModule {
    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        precondition(inputFeatures == inputWidth, "\(summary) got \(inputFeatures) input features, expected \(inputWidth)")
        return outputWidth
    }

    /// Traps, naming the module and the shape it got, unless `x` has `inputWidth` columns: the check at the top of
    /// a forward pass.
    @inline(__always)
    func requireInputWidth(_ x: Matrix<Scalar>) {
        precondition(x.columns == inputWidth, "\(summary) got input \(x.rows)×\(x.columns)")
    }
}

/// The geometry of `k × k` windows at stride `s` over an NHWC image: the output is `⌊(H − k)/s⌋ + 1` on a side
/// with the channels kept. Shared by the pooling layers.
public struct PoolingWindow: Sendable, Equatable {
    public let inputShape: ImageShape
    public let outputShape: ImageShape
    public let kernelSize: Int
    public let stride: Int

    /// `stride` defaults to `kernelSize` (windows tile the image). Traps, naming `layer`, if the window does not fit.
    public init(layer: String, input: ImageShape, kernelSize: Int, stride: Int?) {
        let s = stride ?? kernelSize
        precondition(kernelSize >= 1 && s >= 1 && kernelSize <= input.height && kernelSize <= input.width,
                     "\(layer): kernel \(kernelSize) (stride \(s)) does not fit input \(input)")
        inputShape = input
        self.kernelSize = kernelSize
        self.stride = s
        outputShape = ImageShape(height: (input.height - kernelSize) / s + 1,
                                 width: (input.width - kernelSize) / s + 1, channels: input.channels)
    }
}

/// A pooling layer: its shapes and summary come from its ``PoolingWindow``.
public protocol WindowPooling<Scalar>: FixedWidthModule {
    static var layerName: String { get }
    var window: PoolingWindow { get }
}

extension WindowPooling {
    public var inputShape: ImageShape { window.inputShape }
    public var outputShape: ImageShape { window.outputShape }
    public var kernelSize: Int { window.kernelSize }
    public var stride: Int { window.stride }
    public var inputWidth: Int { window.inputShape.features }
    public var outputWidth: Int { window.outputShape.features }
    public var summary: String { "\(Self.layerName)(\(kernelSize)×\(kernelSize), \(inputShape) → \(outputShape))" }
}
