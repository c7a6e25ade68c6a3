import Foundation

/// BERT's basic tokenisation for uncased models: the text clean-up, CJK splitting, accent stripping,
/// lower-casing and the split into words and punctuation that come before WordPiece
/// (docs/data.md#wordpiece-tokenisation).
///
/// Everything works on Unicode scalars (code points), as the reference does; Swift `Character`s (grapheme
/// clusters) would merge a letter with its combining marks and an emoji with its modifiers.
public enum BertNormalizer {
    /// Clean-up, CJK padding, NFD with non-spacing marks (Mn) dropped, then per-scalar lower-casing (the
    /// full Unicode mapping without context, so `İ` → `i` after its dot above is stripped, and final sigma is
    /// not special).
    ///
    /// Clean-up drops U+0000, U+FFFD and control scalars (categories Cc, Cf, Co, Cs except tab, line
    /// feed and carriage return; unassigned scalars stay and become `[UNK]`) and turns every white-space scalar into a space.
    public static func normalize(_ text: String) -> String {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) {
                cleaned.append(" ")
            } else if isCJK(scalar) {
                cleaned.append(" "); cleaned.append(scalar); cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        let decomposed = String(cleaned).decomposedStringWithCanonicalMapping
        var result = String.UnicodeScalarView()
        for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
            if scalar.properties.changesWhenLowercased {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// Splits normalised text into words: white space separates and is dropped, every punctuation scalar
    /// becomes a word of its own.
    public static func words(_ normalized: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in normalized.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if isPunctuation(scalar) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// White space: tab, line feed, carriage return and the Unicode White_Space property.
    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    /// Control: general category Cc, Cf, Co (private use) or Cs, except tab, line feed and carriage return
    /// (white space, kept as spaces). Unassigned scalars (Cn) are not: the reference keeps them.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// BERT's punctuation: every printable ASCII scalar that is neither a letter, a digit nor a space (so `$`,
    /// `+`, `^`, `` ` `` count although Unicode calls them symbols), and Unicode categories Pc, Pd, Ps, Pe, Pi,
    /// Pf, Po.
    public static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// CJK Unified Ideographs and their extensions A–F and compatibility blocks: each becomes a word.
    /// (Hangul, kana and other scripts are not in these blocks and are split by white space only.)
    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
