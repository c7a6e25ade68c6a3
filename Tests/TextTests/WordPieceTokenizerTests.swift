import Datasets
import Linalg
import Testing
@testable import Text

/// The tokenizer's rules on a small hand-made vocabulary, and its typed errors (docs/data.md#wordpiece-tokenisation).
@Suite struct WordPieceTokenizerTests {
    static let vocabularyText = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world",
                                 ",", "!", "cafe", "東", "京", "a", "##a", "$", "+"].joined(separator: "\n") + "\n"
    static func tokenizer() throws -> WordPieceTokenizer {
        WordPieceTokenizer(vocabulary: try WordPieceVocabulary(text: vocabularyText))
    }

    @Test func greedyLongestMatchWithContinuations() throws {
        let t = try Self.tokenizer()
        #expect(t.pieceIDs("unaffable") == [5, 6, 7])
        #expect(t.pieceIDs("Hello, WORLD!") == [8, 10, 9, 11])
        // A piece that matches nothing makes the whole word [UNK], not just the rest.
        #expect(t.pieceIDs("unaffablex hello") == [1, 8])
    }

    @Test func accentsCaseCJKAndASCIISymbolsFollowBERT() throws {
        let t = try Self.tokenizer()
        #expect(t.pieceIDs("CAFÉ café cafe\u{301}") == [12, 12, 12])
        #expect(t.pieceIDs("東京") == [13, 14])
        #expect(t.pieceIDs("a$a+a") == [15, 17, 15, 18, 15])
        #expect(BertNormalizer.normalize("a\u{0}b\u{7}c\u{200B}d\te\u{3000}f") == "abcd e f")
        #expect(BertNormalizer.isPunctuation("^") && BertNormalizer.isPunctuation("¿") && !BertNormalizer.isPunctuation("€"))
    }

    @Test func wordsLongerThanTheLimitAreUnknown() throws {
        let t = try Self.tokenizer()
        #expect(t.pieceIDs(String(repeating: "a", count: 100)) == [15] + Array(repeating: 16, count: 99))
        #expect(t.pieceIDs(String(repeating: "a", count: 101)) == [1])
    }

    @Test func specialTokensWrittenInTheTextAreKept() throws {
        let t = try Self.tokenizer()
        #expect(t.pieceIDs("hello[SEP]world [MASK]") == [8, 3, 9, 4])
        #expect(t.pieceIDs("[sep]") == [1, 1, 1]) // lower-case is not the special token: "[", "sep", "]"
    }

    @Test func truncationPaddingAndMask() throws {
        let t = try Self.tokenizer()
        #expect(try t.encode("hello world hello", maximumLength: 4) == [2, 8, 9, 3])
        let (tokens, mask) = try t.encodeBatch(["hello", "hello world hello world"], length: 5)
        #expect(tokens == Matrix<Float>([[2, 8, 3, 0, 0], [2, 8, 9, 8, 3]]))
        #expect(mask == Matrix<Float>([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
        let batch = try TokenBatch(tokens: tokens, mask: mask, labels: [0, 1])
        #expect(batch.length == 5)
        #expect(throws: TextError.badMaximumLength(1)) { try t.encode("hello", maximumLength: 1) }
    }

    @Test func badVocabulariesAreTypedErrors() {
        #expect(throws: TextError.emptyVocabulary(path: "v")) { try WordPieceVocabulary(text: "", path: "v") }
        #expect(throws: TextError.duplicateToken(path: "v", token: "a", first: 4, second: 5)) {
            try WordPieceVocabulary(text: "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\na\n", path: "v")
        }
        #expect(throws: TextError.missingSpecialToken(path: "v", token: "[CLS]")) {
            try WordPieceVocabulary(text: "[PAD]\n[UNK]\n[SEP]\n", path: "v")
        }
        #expect(throws: TextError.unreadableVocabulary(path: "/nonexistent/vocab.txt", reason: "no such file")) {
            try WordPieceVocabulary(contentsOf: "/nonexistent/vocab.txt")
        }
    }

    @Test func aMissingPythonPackageNamesTheInstallCommand() {
        let absent = PythonPackageData(distribution: "no-such-dist", version: "1.0", module: "no_such_module_xyz")
        do {
            _ = try absent.locate(environment: ["HOME": "/nonexistent", "THERMOGRAD_SITE_PACKAGES": "/nonexistent"])
            Issue.record("found a package that does not exist")
        } catch {
            #expect(error.description.contains("pip install --no-deps no-such-dist==1.0"))
        }
    }
}
