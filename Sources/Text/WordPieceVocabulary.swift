import Foundation

/// A WordPiece vocabulary: one token per line of `vocab.txt`, the token's id is its 0-based line number
/// (docs/data.md#text-packages).
///
/// Continuation pieces carry the `##` prefix (`##ing`); the special tokens `[PAD]`, `[UNK]`, `[CLS]`,
/// `[SEP]` must be present (their ids are read from the file, not assumed).
public struct WordPieceVocabulary: Sendable {
    /// Token → id.
    public let ids: [String: Int]
    /// Id → token.
    public let tokens: [String]
    public let padID: Int, unknownID: Int, classID: Int, separatorID: Int
    /// Special tokens that the reference tokenizer matches verbatim in raw text before normalisation.
    public let specialTokens: [String]

    /// Parses the lines of a vocabulary (`\n` or `\r\n` separated; a final empty line is ignored).
    /// `path` only names the source in errors.
    public init(text: String, path: String = "vocab.txt") throws(TextError) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw .emptyVocabulary(path: path) }
        var ids: [String: Int] = [:]
        ids.reserveCapacity(lines.count)
        for (index, token) in lines.enumerated() {
            if let first = ids[token] { throw .duplicateToken(path: path, token: token, first: first, second: index) }
            ids[token] = index
        }
        func special(_ token: String) throws(TextError) -> Int {
            guard let id = ids[token] else { throw .missingSpecialToken(path: path, token: token) }
            return id
        }
        padID = try special("[PAD]")
        unknownID = try special("[UNK]")
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].filter { ids[$0] != nil }
        self.ids = ids
        self.tokens = lines
    }

    /// Reads `vocab.txt` (UTF-8).
    public init(contentsOf path: String) throws(TextError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableVocabulary(path: path, reason: FileManager.default.fileExists(atPath: path) ? "\(error)" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadableVocabulary(path: path, reason: "not valid UTF-8")
        }
        try self.init(text: text, path: path)
    }

    public var count: Int { tokens.count }
}
