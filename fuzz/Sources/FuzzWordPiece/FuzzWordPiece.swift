import Text

/// vocab.txt parsing and WordPiece tokenisation. The input is split at its first zero byte: the part before is a
/// vocabulary (`WordPieceVocabulary(text:)`, which must give a vocabulary or a `TextError`), the part after is
/// text, tokenised with that vocabulary (when valid) and with a fixed small one. Any input must give ids that
/// start with [CLS], end with [SEP], fit the maximum length and exist in the vocabulary, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWordPiece(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let vocabularyText = String(decoding: bytes[..<split], as: UTF8.self)
    let text = String(decoding: bytes[min(split + 1, bytes.count)...], as: UTF8.self)
    var vocabularies: [WordPieceVocabulary] = []
    if let fuzzed = try? WordPieceVocabulary(text: vocabularyText) { vocabularies.append(fuzzed) }
    if let fixed = try? WordPieceVocabulary(text: "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##a\nb\n##b\n,\n東\n") { vocabularies.append(fixed) }
    for vocabulary in vocabularies {
        let tokenizer = WordPieceTokenizer(vocabulary: vocabulary)
        for length in [2, 7, 512] {
            guard let ids = try? tokenizer.encode(text, maximumLength: length) else { fatalError("length \(length) refused") }
            precondition(ids.count <= length && ids.first == vocabulary.classID && ids.last == vocabulary.separatorID)
            precondition(ids.allSatisfy { $0 >= 0 && $0 < vocabulary.count })
        }
    }
    return 0
}
