import Datasets
import Linalg
import Testing
@testable import Text

/// The BBC News and tweet corpora as the packages ship them, the split and the token batches (docs/data.md#text-packages).
@Suite struct TextCorporaTests {
    @Test func bbcNewsHasFiveClassesAndAStratifiedSplit() throws {
        let bbc = try TextCorpora.bbcNews()
        #expect(bbc.texts.count == 2225)
        #expect(bbc.classNames == ["business", "entertainment", "politics", "sports", "tech"])
        let (train, test) = bbc.stratifiedSplit(testEvery: 5)
        #expect(train.texts.count + test.texts.count == 2225)
        for c in 0..<5 {
            let total = bbc.labels.filter { $0 == c }.count
            #expect(test.labels.filter { $0 == c }.count == total / 5)
        }
    }

    @Test func tweetsHaveThreeSentiments() throws {
        let tweets = try TextCorpora.tweets()
        #expect(tweets.texts.count == 38158)
        #expect([0, 1, 2].map { c in tweets.labels.filter { $0 == c }.count } == [16186, 15018, 6954])
    }

    @Test func tokenizedTextsGatherRowsIntoTokenBatches() throws {
        let vocabulary = try WordPieceVocabulary(text: "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n")
        let texts = LabeledTexts(name: "t", texts: ["hello", "world world", "hello world hello"], labels: [0, 1, 0], classNames: ["a", "b"])
        let source = try TokenizedTexts(texts, tokenizer: WordPieceTokenizer(vocabulary: vocabulary), length: 4)
        let batch = source.batch([2, 0])
        #expect(batch.labels == [0, 0])
        #expect(batch.tokens == Matrix<Float>([[2, 4, 5, 3], [2, 4, 3, 0]]))
        #expect(batch.mask == Matrix<Float>([[1, 1, 1, 1], [1, 1, 1, 0]]))
        #expect(source.prefix(1).count == 1)
    }
}
