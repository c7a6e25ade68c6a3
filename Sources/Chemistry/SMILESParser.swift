/// A SMILES reader (Weininger 1988; the OpenSMILES grammar; docs/molecules.md#smiles) that builds the
/// molecular graph: organic-subset atoms (`B C N O P S F Cl Br I`, aromatic `b c n o p s`, `*`) with
/// implicit hydrogens from their default valences; bracket atoms `[isotope symbol chirality Hcount charge
/// :class]` of any element (aromatic `se as te` too); bonds `- = # $ :` (and `/ \`, read as single); branches;
/// ring closures `0–9` and `%nn`; fragments separated by `.`. Stereo marks (`@`, `@@`, `@TH1`, `/`, `\`) are
/// accepted and ignored. An unmarked bond between two aromatic atoms is aromatic, otherwise single.
///
/// Malformed input is a `SMILESError` with its column, never a trap. `O(length)`.
public enum SMILES {
    /// The molecule written by `text`.
    public static func parse(_ text: String) throws(SMILESError) -> Molecule {
        var copy = text
        return try copy.withUTF8 { buffer in
            Result<Molecule, SMILESError>(catching: { () throws(SMILESError) -> Molecule in try parse(buffer) })
        }.get()
    }

    /// The molecule written by the UTF-8 bytes `bytes` (no line breaks).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SMILESError) -> Molecule {
        var p = Parser(s: bytes)
        return try p.run()
    }
}

private struct Parser {
    let s: UnsafeBufferPointer<UInt8>
    var i = 0
    var atoms: [Atom] = []
    var bonds: [Bond] = []
    var neighbours: [[Int]] = []
    /// Σ bond valence per atom (for implicit hydrogens).
    var used: [Int] = []
    var previous: Int? = nil
    var pending: (order: BondOrder, column: Int)? = nil
    /// Open branches: the atom to return to and the atom count when `(` was read.
    var branches: [(atom: Int, atomsBefore: Int, column: Int)] = []
    /// Open ring closures by number: the atom, the bond order written there (if any), the column.
    var rings = [(atom: Int, order: BondOrder?, column: Int)?](repeating: nil, count: 100)
    var openRings = 0

    init(s: UnsafeBufferPointer<UInt8>) { self.s = s }

    var column: Int { i + 1 }

    func fail(_ r: SMILESError.Reason, at c: Int? = nil) -> SMILESError { SMILESError(r, column: c ?? i + 1) }

    func character(_ k: Int) -> Character { Character(Unicode.Scalar(s[k])) }

    mutating func run() throws(SMILESError) -> Molecule {
        guard !s.isEmpty else { throw fail(.empty, at: 1) }
        while i < s.count {
            let c = s[i]
            switch c {
            case UInt8(ascii: "["):
                try add(try bracketAtom())
            case UInt8(ascii: "B"), UInt8(ascii: "C"), UInt8(ascii: "N"), UInt8(ascii: "O"), UInt8(ascii: "P"),
                 UInt8(ascii: "S"), UInt8(ascii: "F"), UInt8(ascii: "I"), UInt8(ascii: "*"),
                 UInt8(ascii: "b"), UInt8(ascii: "c"), UInt8(ascii: "n"), UInt8(ascii: "o"), UInt8(ascii: "p"), UInt8(ascii: "s"):
                try add(organicAtom())
            case UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: ":"),
                 UInt8(ascii: "/"), UInt8(ascii: "\\"):
                guard previous != nil, pending == nil else { throw fail(.danglingBond) }
                pending = (Self.order(c), column)
                i += 1
            case UInt8(ascii: "("):
                guard let p = previous, pending == nil else { throw fail(.danglingBond) }
                branches.append((p, atoms.count, column))
                i += 1
            case UInt8(ascii: ")"):
                guard let open = branches.popLast() else { throw fail(.unbalancedBranch) }
                guard pending == nil, atoms.count > open.atomsBefore, previous != nil else { throw fail(.danglingBond) }
                previous = open.atom
                i += 1
            case UInt8(ascii: "."):
                guard previous != nil, pending == nil else { throw fail(.empty) }
                previous = nil
                i += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "%"):
                try ringClosure()
            default:
                throw fail(.unexpectedCharacter(character(i)))
            }
        }
        if let p = pending { throw fail(.danglingBond, at: p.column) }
        if let b = branches.last { throw fail(.unbalancedBranch, at: b.column) }
        if openRings > 0, let (n, r) = rings.enumerated().first(where: { $0.element != nil }).map({ ($0.offset, $0.element!) }) {
            throw fail(.unclosedRing(n), at: r.column)
        }
        guard previous != nil else { throw fail(.empty, at: s.count) }
        for k in atoms.indices where !atoms[k].isBracket {
            atoms[k].hydrogens = Molecule.implicitHydrogens(atomicNumber: atoms[k].atomicNumber, aromatic: atoms[k].isAromatic,
                                                            bondValence: used[k])
        }
        return Molecule(atoms: atoms, bonds: bonds)
    }

    static func order(_ c: UInt8) -> BondOrder {
        switch c {
        case UInt8(ascii: "="): .double
        case UInt8(ascii: "#"): .triple
        case UInt8(ascii: "$"): .quadruple
        case UInt8(ascii: ":"): .aromatic
        default: .single
        }
    }

    /// Appends `atom` and bonds it to the previous atom (with the pending bond, or the implied one).
    mutating func add(_ atom: Atom) throws(SMILESError) {
        let k = atoms.count
        atoms.append(atom)
        neighbours.append([])
        used.append(0)
        if let p = previous {
            connect(p, k, pending?.order ?? implied(p, k))
        } else if let b = pending {
            throw fail(.danglingBond, at: b.column)
        }
        pending = nil
        previous = k
    }

    func implied(_ a: Int, _ b: Int) -> BondOrder { atoms[a].isAromatic && atoms[b].isAromatic ? .aromatic : .single }

    mutating func connect(_ a: Int, _ b: Int, _ order: BondOrder) {
        bonds.append(Bond(a, b, order))
        neighbours[a].append(b)
        neighbours[b].append(a)
        used[a] += order.valence
        used[b] += order.valence
    }

    mutating func organicAtom() -> Atom {
        let c = s[i]
        i += 1
        let next: UInt8 = i < s.count ? s[i] : 0
        switch c {
        case UInt8(ascii: "C") where next == UInt8(ascii: "l"): i += 1; return Atom(atomicNumber: 17)
        case UInt8(ascii: "B") where next == UInt8(ascii: "r"): i += 1; return Atom(atomicNumber: 35)
        case UInt8(ascii: "*"): return Atom(atomicNumber: 0)
        case UInt8(ascii: "a")...UInt8(ascii: "z"):
            return Atom(atomicNumber: Element.atomicNumber(String(UnicodeScalar(c - 32)))!, isAromatic: true)
        default: return Atom(atomicNumber: Element.atomicNumber(String(UnicodeScalar(c)))!)
        }
    }

    /// Reads digits at `i` (at most `limit`); nil when there are none.
    mutating func number(limit: Int = 9) -> Int? {
        var value = 0, digits = 0
        while i < s.count, digits < limit, s[i] >= UInt8(ascii: "0"), s[i] <= UInt8(ascii: "9") {
            value = value * 10 + Int(s[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }

    func isLower(_ k: Int) -> Bool { k < s.count && s[k] >= UInt8(ascii: "a") && s[k] <= UInt8(ascii: "z") }
    func isUpper(_ k: Int) -> Bool { k < s.count && s[k] >= UInt8(ascii: "A") && s[k] <= UInt8(ascii: "Z") }

    mutating func bracketAtom() throws(SMILESError) -> Atom {
        let open = column
        i += 1
        guard let close = s[i...].firstIndex(of: UInt8(ascii: "]")) else { throw fail(.unclosedBracket, at: open) }
        var atom = Atom(atomicNumber: 0, isBracket: true)
        atom.isotope = number()
        // Element: '*', an upper-case symbol of one or two letters, or an aromatic lower-case one.
        if i < close, s[i] == UInt8(ascii: "*") {
            i += 1
        } else if isUpper(i) {
            let one = String(UnicodeScalar(s[i]))
            if isLower(i + 1), i + 1 < close, let z = Element.atomicNumber(one + String(UnicodeScalar(s[i + 1]))) {
                atom.atomicNumber = z
                i += 2
            } else if let z = Element.atomicNumber(one) {
                atom.atomicNumber = z
                i += 1
            } else {
                throw fail(.unknownElement(one + (isLower(i + 1) ? String(UnicodeScalar(s[i + 1])) : "")))
            }
        } else if isLower(i) {
            let two = isLower(i + 1) && i + 1 < close ? String(decoding: [s[i] - 32, s[i + 1]], as: UTF8.self) : ""
            if ["Se", "As", "Te"].contains(two) {
                atom.atomicNumber = Element.atomicNumber(two)!
                i += 2
            } else if "bcnops".utf8.contains(s[i]) {
                atom.atomicNumber = Element.atomicNumber(String(UnicodeScalar(s[i] - 32)))!
                i += 1
            } else {
                throw fail(.unknownElement(String(UnicodeScalar(s[i]))))
            }
            atom.isAromatic = true
        } else {
            throw fail(.badBracketAtom(i < close ? "expected an element symbol, found '\(character(i))'" : "no element symbol"))
        }
        // Chirality: @, @@, @TH1, @AL2, @SP3, @TB12, @OH25 — accepted and ignored.
        if i < close, s[i] == UInt8(ascii: "@") {
            i += 1
            if i < close, s[i] == UInt8(ascii: "@") {
                i += 1
            } else if isUpper(i), isUpper(i + 1) {
                let tag = String(decoding: [s[i], s[i + 1]], as: UTF8.self)
                guard ["TH", "AL", "SP", "TB", "OH"].contains(tag) else { throw fail(.badBracketAtom("chirality class '@\(tag)'")) }
                i += 2
                guard number(limit: 2) != nil else { throw fail(.badBracketAtom("chirality class @\(tag) needs a number")) }
            }
        }
        if i < close, s[i] == UInt8(ascii: "H") {
            i += 1
            atom.hydrogens = number(limit: 1) ?? 1
        }
        if i < close, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            let sign = s[i] == UInt8(ascii: "+") ? 1 : -1
            let symbol = s[i]
            i += 1
            if let magnitude = number(limit: 2) {
                atom.charge = sign * magnitude
            } else {
                var repeats = 1
                while i < close, s[i] == symbol { repeats += 1; i += 1 }
                atom.charge = sign * repeats
            }
            guard abs(atom.charge) <= 15 else { throw fail(.badBracketAtom("charge \(atom.charge) outside −15…+15")) }
        }
        if i < close, s[i] == UInt8(ascii: ":") {
            i += 1
            guard number() != nil else { throw fail(.badBracketAtom("atom class ':' needs a number")) }
        }
        guard i == close else { throw fail(.badBracketAtom("unexpected '\(character(i))'")) }
        i += 1
        return atom
    }

    mutating func ringClosure() throws(SMILESError) {
        let at = column
        guard let p = previous else { throw fail(.danglingBond) }
        let n: Int
        if s[i] == UInt8(ascii: "%") {
            i += 1
            let before = i
            guard let v = number(limit: 2), i - before == 2 else { throw fail(.badRingNumber, at: at) }
            n = v
        } else {
            n = Int(s[i] - UInt8(ascii: "0"))
            i += 1
        }
        let written = pending?.order
        pending = nil
        if let open = rings[n] {
            rings[n] = nil
            openRings -= 1
            if let a = open.order, let b = written, a != b { throw fail(.badRingClosure(n), at: at) }
            guard open.atom != p, !neighbours[p].contains(open.atom) else { throw fail(.badRingClosure(n), at: at) }
            connect(open.atom, p, written ?? open.order ?? implied(open.atom, p))
        } else {
            rings[n] = (p, written, at)
            openRings += 1
        }
    }
}
