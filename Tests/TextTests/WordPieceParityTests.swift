import Foundation
import Datasets
import Testing
@testable import Text

/// The tokenizer against the reference (`tokenizers` on the MiniLM package's tokenizer.json): the golden ids in
/// Fixtures/wordpiece_golden.json were made by bench/wordpiece_golden.py; the vocabulary is the package's
/// vocab.txt (docs/data.md#text-packages). Token ids must be equal, not close.
@Suite struct WordPieceParityTests {
    struct Case: Decodable { var source: String; var text: String; var ids: [Int] }
    struct Golden: Decodable { var maxLength: Int; var reference: String; var cases: [Case] }

    static func golden() throws -> Golden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/wordpiece_golden.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    @Test func everyGoldenTextGivesTheReferenceIDs() throws {
        let golden = try Self.golden()
        #expect(golden.cases.count >= 200)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: try PythonPackageData.miniLM.file("model/vocab.txt"))
        var mismatches: [String] = []
        for c in golden.cases {
            let ids = try tokenizer.encode(c.text, maximumLength: golden.maxLength)
            if ids != c.ids {
                let firstDifference = zip(ids, c.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, c.ids.count)
                mismatches.append("\(c.source) \(c.text.debugDescription.prefix(80)): first difference at \(firstDifference), "
                                  + "ours \(ids.dropFirst(firstDifference).prefix(6)) reference \(c.ids.dropFirst(firstDifference).prefix(6))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(golden.cases.count) differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
        // The fixture covers every kind of text it claims to.
        let sources = Set(golden.cases.map(\.source))
        #expect(sources == ["bbc-title", "bbc-body", "tweet", "hard"])
    }
}
