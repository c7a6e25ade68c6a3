import Linalg

/// A batch whose model input is one matrix (rows: examples, or examples × positions / nodes).
public protocol ModelInputBatch: DataBatch {
    /// What the model's first layer reads.
    var input: Matrix<Float> { get }
}

/// A batch with real-valued targets, `count × outputs` (regression: `MeanSquaredError`).
public protocol RegressionBatch: ModelInputBatch {
    var targets: Matrix<Float> { get }
}

extension ImageBatch: ModelInputBatch {
    /// The images, one per row.
    public var input: Matrix<Float> { images }
}

/// A batch of token sequences padded to one length `T`, for sequence classification (a ViT's patch
/// sequence has no tokens; text for LoRA fine-tuning does).
///
/// - `tokens`: `count × T`, token ids as whole numbers (what `Embedding` reads); padding positions hold
///   `paddingToken`.
/// - `mask`: `count × T`, 1 for a real token and 0 for padding (attention and pooling ignore padding).
/// - `labels`: one class per sequence.
public struct TokenBatch: LabeledBatch, ModelInputBatch {
    public var tokens: Matrix<Float>
    public var mask: Matrix<Float>
    public var labels: [Int]

    /// Checks that the shapes agree and the mask is 0/1.
    public init(tokens: Matrix<Float>, mask: Matrix<Float>, labels: [Int]) throws(DatasetError) {
        guard mask.rows == tokens.rows, mask.columns == tokens.columns, labels.count == tokens.rows else {
            throw .inconsistent(path: "TokenBatch", detail: "tokens \(tokens.rows)×\(tokens.columns), mask \(mask.rows)×\(mask.columns), "
                                + "\(labels.count) labels: they must have one row (and one label) per sequence")
        }
        guard mask.storage.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw .inconsistent(path: "TokenBatch", detail: "mask entries must be 0 (padding) or 1 (token)")
        }
        self.tokens = tokens
        self.mask = mask
        self.labels = labels
    }

    public var count: Int { labels.count }
    /// Sequence length `T` (padded).
    public var length: Int { tokens.columns }
    /// The token ids.
    public var input: Matrix<Float> { tokens }
}
