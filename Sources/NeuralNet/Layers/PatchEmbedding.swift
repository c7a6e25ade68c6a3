import Linalg

/// Cuts every image of a batch into non-overlapping `p × p` patches, one row per patch: the token
/// sequence of a vision transformer (docs/vit.md#patches).
///
/// Input `b × (H·W·C)` (NHWC rows, see `ImageShape`), output `(b·T) × (p·p·C)` with `T = (H/p)(W/p)`
/// tokens per image in row-major patch order (`t = i·(W/p) + j`) and patch entries ordered `(u, v, c)`:
/// `y[n·T + t, (u·p + v)·C + c] = x[n, ((i·p + u)·W + j·p + v)·C + c]`. A permutation of the entries
/// (no parameters): backward applies its inverse. A 28×28 image gives 16 tokens of 49 values with
/// `p = 7`, 49 tokens of 16 values with `p = 4`.
public final class PatchExtraction<Scalar: NeuralScalar>: FixedWidthModule {
    public let image: ImageShape
    public let patchSize: Int
    private var rows = 0

    public init(image: ImageShape, patchSize: Int) {
        precondition(patchSize >= 1 && image.height % patchSize == 0 && image.width % patchSize == 0,
                     "PatchExtraction: \(image.height)×\(image.width) images do not split into \(patchSize)×\(patchSize) patches")
        self.image = image
        self.patchSize = patchSize
    }

    /// Tokens per image `T`.
    public var tokens: Int { (image.height / patchSize) * (image.width / patchSize) }
    /// Values per patch `p·p·C`.
    public var patchFeatures: Int { patchSize * patchSize * image.channels }
    public var summary: String { "Patches(\(patchSize)×\(patchSize) of \(image) → \(tokens) tokens)" }

    public var inputWidth: Int { image.features }
    public var outputWidth: Int { patchFeatures }

    /// For each entry of one image's patch rows (`T · p²C` of them, in output order), its column in the image row.
    private lazy var source: [Int] = {
        let (p, c, w, gw) = (patchSize, image.channels, image.width, image.width / patchSize)
        var out = [Int]()
        out.reserveCapacity(image.features)
        for t in 0..<tokens {
            let (i, j) = (t / gw, t % gw)
            for u in 0..<p { for v in 0..<p { for ch in 0..<c { out.append(((i * p + u) * w + j * p + v) * c + ch) } } }
        }
        return out
    }()

    /// The patch rows of `x` (`b × H·W·C` → `b·T × p²C`).
    public func patches(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        requireInputWidth(x)
        let f = image.features, index = source
        return x.withUnsafeBufferPointer { xp in
            Matrix<Scalar>(rows: x.rows * tokens, columns: patchFeatures) { yp in
                for n in 0..<x.rows {
                    let (src, dst) = (xp.baseAddress! + n * f, yp.baseAddress! + n * f)
                    for k in 0..<f { dst[k] = src[index[k]] }
                }
            }
        }
    }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        rows = x.rows
        return patches(x)
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        guard options.inputGradient else { return Matrix(rows: 0, columns: 0) }
        precondition(g.rows == rows * tokens && g.columns == patchFeatures, "\(summary) backward got \(g.rows)×\(g.columns)")
        let f = image.features, index = source
        return g.withUnsafeBufferPointer { gp in
            Matrix<Scalar>(rows: rows, columns: f) { dp in
                for n in 0..<rows {
                    let (src, dst) = (gp.baseAddress! + n * f, dp.baseAddress! + n * f)
                    for k in 0..<f { dst[index[k]] = src[k] }
                }
            }
        }
    }
}

/// Patch embedding of a vision transformer: `PatchExtraction` followed by one `Linear(p²C → D)` shared
/// by every patch, so each image becomes `T` tokens of width `D` (rows `(b·T) × D`, example-major).
/// Children `"patches"` and `"projection"`; K-FAC sees the projection as a `Linear` applied at `T`
/// positions (docs/kfac.md#weight-sharing-expand-and-reduce).
public final class PatchEmbedding<Scalar: NeuralScalar>: Module, SequentialComposition {
    public let extraction: PatchExtraction<Scalar>
    public let projection: Linear<Scalar>

    public init(image: ImageShape, patchSize: Int, dimension: Int, rng: inout Xoshiro256StarStar) {
        extraction = PatchExtraction(image: image, patchSize: patchSize)
        projection = Linear(extraction.patchFeatures, dimension, rng: &rng)
    }

    public var tokens: Int { extraction.tokens }
    public var children: [(name: String, module: any Module<Scalar>)] { [("patches", extraction), ("projection", projection)] }
    public var stages: [any Module<Scalar>] { [extraction, projection] }
    public var summary: String { "PatchEmbedding(\(extraction.patchSize)×\(extraction.patchSize) → \(tokens) tokens × \(projection.outFeatures))" }

    public func outputFeatures(forInput inputFeatures: Int) -> Int {
        projection.outputFeatures(forInput: extraction.outputFeatures(forInput: inputFeatures))
    }

    public func forward(_ x: Matrix<Scalar>, context: ForwardContext) -> Matrix<Scalar> {
        projection.forward(extraction.forward(x, context: context), context: context)
    }

    public func backward(_ g: Matrix<Scalar>, options: BackwardOptions) -> Matrix<Scalar> {
        let d = projection.backward(g, options: options)
        return options.inputGradient ? extraction.backward(d, options: options) : Matrix(rows: 0, columns: 0)
    }
}
