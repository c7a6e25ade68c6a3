import Linalg

/// BERT's uncased WordPiece tokenizer: `BertNormalizer` then greedy longest-match WordPiece, `[CLS] … [SEP]`,
/// truncation, padding and the attention mask (docs/data.md#wordpiece-tokenisation).
///
/// A word is split from its start by the longest vocabulary entry that matches, then the rest by the longest
/// `##` continuation, and so on; a word with a piece that matches nothing, or longer than
/// `maximumWordLength` scalars, becomes one `[UNK]`. The vocabulary's special tokens (`[CLS]`, `[SEP]`,
/// `[PAD]`, `[UNK]`, `[MASK]`) written verbatim in the raw text are kept as those tokens.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: WordPieceVocabulary
    /// Words longer than this many Unicode scalars become `[UNK]` (100 for BERT).
    public var maximumWordLength: Int
    /// The prefix of a continuation piece.
    public var continuationPrefix: String

    public init(vocabulary: WordPieceVocabulary, maximumWordLength: Int = 100, continuationPrefix: String = "##") {
        self.vocabulary = vocabulary
        self.maximumWordLength = maximumWordLength
        self.continuationPrefix = continuationPrefix
    }

    /// Reads `vocab.txt`.
    public init(vocabularyFile path: String) throws(TextError) {
        self.init(vocabulary: try WordPieceVocabulary(contentsOf: path))
    }

    /// The ids of the word pieces of `text`, without `[CLS]`/`[SEP]` and without truncation.
    public func pieceIDs(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in splitOnSpecialTokens(text) {
            switch segment {
            case let .special(id): ids.append(id)
            case let .text(raw):
                for word in BertNormalizer.words(BertNormalizer.normalize(raw)) { appendPieces(of: word, to: &ids) }
            }
        }
        return ids
    }

    /// `[CLS]`, the first `maximumLength − 2` piece ids, `[SEP]`: at most `maximumLength` ids.
    public func encode(_ text: String, maximumLength: Int = 512) throws(TextError) -> [Int] {
        guard maximumLength >= 2 else { throw .badMaximumLength(maximumLength) }
        let pieces = pieceIDs(text)
        return [vocabulary.classID] + pieces.prefix(maximumLength - 2) + [vocabulary.separatorID]
    }

    /// Encodes `texts` padded (with `[PAD]`) or truncated to exactly `length` positions.
    /// Returns `tokens` (`texts.count × length`, ids as whole-number floats, what `Embedding` reads) and
    /// `mask` (`texts.count × length`, 1 for a real token, 0 for padding).
    public func encodeBatch(_ texts: [String], length: Int) throws(TextError) -> (tokens: Matrix<Float>, mask: Matrix<Float>) {
        var tokens = Matrix<Float>(rows: texts.count, columns: length, repeating: Float(vocabulary.padID))
        var mask = Matrix<Float>(rows: texts.count, columns: length)
        for (row, text) in texts.enumerated() {
            let ids = try encode(text, maximumLength: length)
            for (position, id) in ids.enumerated() {
                tokens[row, position] = Float(id)
                mask[row, position] = 1
            }
        }
        return (tokens, mask)
    }

    /// Greedy longest-match WordPiece of one word (a run of scalars with no white space or punctuation).
    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int]) {
        guard word.count <= maximumWordLength else { ids.append(vocabulary.unknownID); return }
        let start = ids.count
        var begin = 0
        while begin < word.count {
            var end = word.count
            var match: Int?
            while begin < end {
                var piece = begin > 0 ? continuationPrefix : ""
                piece.unicodeScalars.append(contentsOf: word[begin..<end])
                if let id = vocabulary.ids[piece] { match = id; break }
                end -= 1
            }
            guard let id = match else {
                ids.removeSubrange(start...)
                ids.append(vocabulary.unknownID)
                return
            }
            ids.append(id)
            begin = end
        }
    }

    enum Segment: Equatable { case text(String), special(Int) }

    /// Raw text split around verbatim special tokens (leftmost, then longest match), as the reference's added
    /// vocabulary does before normalisation.
    func splitOnSpecialTokens(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains("[") else { return [.text(text)] }
        let specials = vocabulary.specialTokens.map { (Array($0.unicodeScalars), vocabulary.ids[$0]!) }
            .sorted { $0.0.count > $1.0.count }
        var segments: [Segment] = []
        var pending = String.UnicodeScalarView()
        var i = 0
        outer: while i < scalars.count {
            if scalars[i] == "[" {
                for (token, id) in specials where i + token.count <= scalars.count && scalars[i..<(i + token.count)].elementsEqual(token) {
                    if !pending.isEmpty { segments.append(.text(String(pending))); pending = String.UnicodeScalarView() }
                    segments.append(.special(id))
                    i += token.count
                    continue outer
                }
            }
            pending.append(scalars[i])
            i += 1
        }
        if !pending.isEmpty { segments.append(.text(String(pending))) }
        return segments
    }
}
