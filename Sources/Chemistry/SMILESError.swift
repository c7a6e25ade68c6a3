/// A SMILES string that cannot be read: what is wrong and where (1-based column in the string; the line of
/// the data file when the string came from one). Never a crash: every malformed input gives one of these.
public struct SMILESError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The string is empty (or a fragment between dots is).
        case empty
        /// A character that cannot start an atom, bond, branch or ring closure here.
        case unexpectedCharacter(Character)
        /// A bracket atom `[…]` without its closing `]`.
        case unclosedBracket
        /// Inside brackets: the element symbol is not one of the 118 elements (or an aromatic form).
        case unknownElement(String)
        /// A bracket atom's part is malformed (isotope, hydrogen count, charge, class).
        case badBracketAtom(String)
        /// A branch `(` never closed, or a `)` without its `(`.
        case unbalancedBranch
        /// A branch or bond with no atom before it, or a bond with no atom after it.
        case danglingBond
        /// A ring-closure digit still open at the end of the string.
        case unclosedRing(Int)
        /// The two ends of a ring closure name different bond orders, or close onto the same atom or an
        /// atom already bonded to it.
        case badRingClosure(Int)
        /// `%` not followed by two digits.
        case badRingNumber
    }

    public var reason: Reason
    /// 1-based column of the offending character in the SMILES string.
    public var column: Int
    /// 1-based line of the data file, when parsed from one (`MoleculeTable` sets it).
    public var line: Int?

    public init(_ reason: Reason, column: Int, line: Int? = nil) {
        self.reason = reason
        self.column = column
        self.line = line
    }

    public var description: String {
        let place = (line.map { "line \($0), " } ?? "") + "column \(column)"
        let what: String
        switch reason {
        case .empty: what = "empty SMILES (or an empty fragment around '.')"
        case .unexpectedCharacter(let c): what = "unexpected character '\(c)'"
        case .unclosedBracket: what = "bracket atom without its closing ']'"
        case .unknownElement(let s): what = "unknown element '\(s)' in a bracket atom"
        case .badBracketAtom(let s): what = "malformed bracket atom: \(s)"
        case .unbalancedBranch: what = "unbalanced branch parentheses"
        case .danglingBond: what = "a bond or branch without an atom on both sides"
        case .unclosedRing(let n): what = "ring closure \(n) is opened but never closed"
        case .badRingClosure(let n): what = "ring closure \(n) joins an atom to itself, repeats a bond, or its two ends give different bond orders"
        case .badRingNumber: what = "'%' must be followed by two digits (%10 … %99)"
        }
        return "SMILES \(place): \(what)"
    }
}
