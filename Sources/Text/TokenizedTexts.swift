import Datasets
import Linalg

/// Labelled texts tokenised once to a fixed length, served as `TokenBatch`es (docs/data.md#text-packages):
/// the data source of text classification (BBC News, tweets).
///
/// `tokens` and `mask` are `count × length` (ids as whole-number floats; 1 for a token, 0 for padding), made by
/// `WordPieceTokenizer.encodeBatch` (`[CLS] … [SEP]`, truncated to `length`).
public struct TokenizedTexts: DataSource {
    public let name: String
    public let tokens: Matrix<Float>
    public let mask: Matrix<Float>
    public let labels: [Int]
    public let classes: Int

    /// Tokenises `texts` with `tokenizer` to `length` positions.
    public init(_ texts: LabeledTexts, tokenizer: WordPieceTokenizer, length: Int) throws(TextError) {
        (tokens, mask) = try tokenizer.encodeBatch(texts.texts, length: length)
        labels = texts.labels
        name = texts.name
        classes = texts.classNames.count
    }

    init(name: String, tokens: Matrix<Float>, mask: Matrix<Float>, labels: [Int], classes: Int) {
        self.name = name
        self.tokens = tokens
        self.mask = mask
        self.labels = labels
        self.classes = classes
    }

    public var count: Int { labels.count }
    /// Positions per sequence `T`.
    public var length: Int { tokens.columns }

    public func prefix(_ n: Int) -> TokenizedTexts {
        let rows = tokens.firstRows(n)
        return TokenizedTexts(name: name, tokens: rows, mask: mask.firstRows(n), labels: Array(labels.prefix(rows.rows)),
                              classes: classes)
    }

    /// `n` texts spread evenly over the set (indices `⌊i·count/n⌋`): a subset that keeps every class of a
    /// corpus stored class by class (a prefix would not).
    public func strided(count n: Int) -> TokenizedTexts {
        let k = min(max(n, 0), count), t = length
        let indices = (0..<k).map { $0 * count / k }
        var (ids, flags) = ([Float](), [Float]())
        for i in indices {
            ids += tokens.storage[(i * t)..<((i + 1) * t)]
            flags += mask.storage[(i * t)..<((i + 1) * t)]
        }
        return TokenizedTexts(name: name, tokens: Matrix(rows: k, columns: t, storage: ids), mask: Matrix(rows: k, columns: t, storage: flags),
                              labels: indices.map { labels[$0] }, classes: classes)
    }

    public func makeBatch(capacity: Int) -> TokenBatch {
        // Zero ids and an all-padding mask are a valid batch; `gather` overwrites them.
        try! TokenBatch(tokens: Matrix(rows: capacity, columns: length), mask: Matrix(rows: capacity, columns: length),
                        labels: [Int](repeating: 0, count: capacity))
    }

    public func gather(_ indices: ArraySlice<Int>, into batch: inout TokenBatch) {
        let (b, t) = (indices.count, length)
        if batch.tokens.rows != b || batch.tokens.columns != t {
            batch.tokens = Matrix(rows: b, columns: t)
            batch.mask = Matrix(rows: b, columns: t)
        }
        batch.labels = indices.map { labels[$0] }
        tokens.copyRows(indices, into: &batch.tokens)
        mask.copyRows(indices, into: &batch.mask)
    }
}
