import Chemistry
import Testing

/// Parser fixtures: atom, bond, hydrogen and fragment counts of known molecules, and malformed input.
struct SMILESTests {
    struct Fixture: Sendable, CustomStringConvertible {
        let smiles: String, atoms: Int, bonds: Int, hydrogens: Int, fragments: Int
        var description: String { smiles }
    }

    static let fixtures: [Fixture] = [
        Fixture(smiles: "C", atoms: 1, bonds: 0, hydrogens: 4, fragments: 1),
        Fixture(smiles: "CCO", atoms: 3, bonds: 2, hydrogens: 6, fragments: 1),
        Fixture(smiles: "c1ccccc1", atoms: 6, bonds: 6, hydrogens: 6, fragments: 1),
        Fixture(smiles: "C1=CC=CC=C1", atoms: 6, bonds: 6, hydrogens: 6, fragments: 1),
        Fixture(smiles: "c1ccc2ccccc2c1", atoms: 10, bonds: 11, hydrogens: 8, fragments: 1),
        Fixture(smiles: "c1ccncc1", atoms: 6, bonds: 6, hydrogens: 5, fragments: 1),
        Fixture(smiles: "c1cc[nH]c1", atoms: 5, bonds: 5, hydrogens: 5, fragments: 1),
        Fixture(smiles: "c1ccsc1", atoms: 5, bonds: 5, hydrogens: 4, fragments: 1),
        Fixture(smiles: "o1cccc1", atoms: 5, bonds: 5, hydrogens: 4, fragments: 1),
        Fixture(smiles: "CS(C)=O", atoms: 4, bonds: 3, hydrogens: 6, fragments: 1),
        Fixture(smiles: "OS(=O)(=O)O", atoms: 5, bonds: 4, hydrogens: 2, fragments: 1),
        Fixture(smiles: "C#N", atoms: 2, bonds: 1, hydrogens: 1, fragments: 1),
        Fixture(smiles: "OC(=O)c1ccccc1", atoms: 9, bonds: 9, hydrogens: 6, fragments: 1),
        Fixture(smiles: "CC(C)Cc1ccc(cc1)C(C)C(=O)O", atoms: 15, bonds: 15, hydrogens: 18, fragments: 1),
        Fixture(smiles: "[NH4+]", atoms: 1, bonds: 0, hydrogens: 4, fragments: 1),
        Fixture(smiles: "[Na+].[Cl-]", atoms: 2, bonds: 0, hydrogens: 0, fragments: 2),
        Fixture(smiles: "CC(=O)[O-].[Na+]", atoms: 5, bonds: 3, hydrogens: 3, fragments: 2),
        Fixture(smiles: "[13CH4]", atoms: 1, bonds: 0, hydrogens: 4, fragments: 1),
        Fixture(smiles: "C%10CC%10", atoms: 3, bonds: 3, hydrogens: 6, fragments: 1),
        Fixture(smiles: "C%12CC%12C1CC1", atoms: 6, bonds: 7, hydrogens: 10, fragments: 1),
        Fixture(smiles: "N[C@@H](C)C(=O)O", atoms: 6, bonds: 5, hydrogens: 7, fragments: 1),
        Fixture(smiles: "F/C=C/F", atoms: 4, bonds: 3, hydrogens: 2, fragments: 1),
        Fixture(smiles: "[Cu-3]", atoms: 1, bonds: 0, hydrogens: 0, fragments: 1),
        Fixture(smiles: "c1ccc2c(c1)[se]c1ccccc12", atoms: 13, bonds: 15, hydrogens: 8, fragments: 1),
        Fixture(smiles: "ClC(Br)I", atoms: 4, bonds: 3, hydrogens: 1, fragments: 1),
        Fixture(smiles: "C1.C1", atoms: 2, bonds: 1, hydrogens: 6, fragments: 1),
    ]

    @Test(arguments: fixtures) func countsOfKnownMolecules(_ f: Fixture) throws {
        let m = try SMILES.parse(f.smiles)
        #expect(m.atoms.count == f.atoms)
        #expect(m.bonds.count == f.bonds)
        #expect(m.hydrogenCount == f.hydrogens)
        #expect(m.fragmentCount == f.fragments)
    }

    @Test func bracketAtomsCarryIsotopeChargeAndHydrogens() throws {
        #expect(try SMILES.parse("[13CH4]").atoms[0].isotope == 13)
        #expect(try SMILES.parse("[Fe+++]").atoms[0].charge == 3)
        #expect(try SMILES.parse("[Fe+3]").atoms[0].charge == 3)
        #expect(try SMILES.parse("[O-2]").atoms[0].charge == -2)
        #expect(try SMILES.parse("[Co+12]").atoms[0].charge == 12)
        #expect(try SMILES.parse("[O--]").atoms[0].charge == -2)
        let sc = try SMILES.parse("[Sc]").atoms[0]
        #expect(sc.atomicNumber == 21 && sc.hydrogens == 0 && sc.isBracket)
        let nh = try SMILES.parse("[nH]1cccc1").atoms[0]
        #expect(nh.isAromatic && nh.atomicNumber == 7 && nh.hydrogens == 1)
        #expect(try SMILES.parse("[2H]C([2H])([2H])[2H]").atoms.count == 5)
        #expect(try SMILES.parse("[CH3:1][OH:2]").hydrogenCount == 4)
        #expect(try SMILES.parse("C[C@TH1H](F)Cl").atoms.count == 4)
    }

    @Test func bondOrdersAndAromaticity() throws {
        let benzene = try SMILES.parse("c1ccccc1")
        #expect(benzene.bonds.allSatisfy { $0.order == .aromatic })
        #expect(benzene.atoms.allSatisfy { $0.isAromatic })
        let biphenyl = try SMILES.parse("c1ccccc1-c1ccccc1")
        #expect(biphenyl.bonds.filter { $0.order == .single }.count == 1)
        let m = try SMILES.parse("C=CC#CC$C")
        #expect(m.bonds.map(\.order) == [.double, .single, .triple, .single, .quadruple])
        // A ring bond written at either end.
        #expect(try SMILES.parse("C=1CCCCC1").bonds.last?.order == .double)
        #expect(try SMILES.parse("C1CCCCC=1").bonds.last?.order == .double)
    }

    @Test func ringMembership() throws {
        let m = try SMILES.parse("C1CCCCC1CC")
        #expect(m.ringBonds().filter { $0 }.count == 6)
        #expect(m.ringAtoms().filter { $0 }.count == 6)
        let biphenyl = try SMILES.parse("c1ccccc1-c1ccccc1")
        #expect(biphenyl.ringBonds().filter { !$0 }.count == 1)
        let spiro = try SMILES.parse("C1CCC2(C1)CCCC2")
        #expect(spiro.ringBonds().allSatisfy { $0 })
        #expect(try SMILES.parse("CCCC").ringBonds().allSatisfy { !$0 })
    }

    struct Invalid: Sendable, CustomStringConvertible {
        let smiles: String, column: Int, reason: SMILESError.Reason
        var description: String { smiles }
    }

    static let invalid: [Invalid] = [
        Invalid(smiles: "", column: 1, reason: .empty),
        Invalid(smiles: "C(", column: 2, reason: .unbalancedBranch),
        Invalid(smiles: "C)", column: 2, reason: .unbalancedBranch),
        Invalid(smiles: "C()C", column: 3, reason: .danglingBond),
        Invalid(smiles: "(C)", column: 1, reason: .danglingBond),
        Invalid(smiles: "C1CC", column: 2, reason: .unclosedRing(1)),
        Invalid(smiles: "[Xx]", column: 2, reason: .unknownElement("Xx")),
        Invalid(smiles: "C==C", column: 3, reason: .danglingBond),
        Invalid(smiles: "=C", column: 1, reason: .danglingBond),
        Invalid(smiles: "C=", column: 2, reason: .danglingBond),
        Invalid(smiles: "[C", column: 1, reason: .unclosedBracket),
        Invalid(smiles: "C.", column: 2, reason: .empty),
        Invalid(smiles: ".C", column: 1, reason: .empty),
        Invalid(smiles: "C..C", column: 3, reason: .empty),
        Invalid(smiles: "C%1C", column: 2, reason: .badRingNumber),
        Invalid(smiles: "C11", column: 3, reason: .badRingClosure(1)),
        Invalid(smiles: "C1C1", column: 4, reason: .badRingClosure(1)),
        Invalid(smiles: "C=1CC-1", column: 7, reason: .badRingClosure(1)),
        Invalid(smiles: "CC&", column: 3, reason: .unexpectedCharacter("&")),
        Invalid(smiles: "CX", column: 2, reason: .unexpectedCharacter("X")),
        Invalid(smiles: "[C+20]", column: 6, reason: .badBracketAtom("charge 20 outside −15…+15")),
        Invalid(smiles: "[C@XY1]", column: 4, reason: .badBracketAtom("chirality class '@XY'")),
        Invalid(smiles: "[CH4 ]", column: 5, reason: .badBracketAtom("unexpected ' '")),
        Invalid(smiles: "[]", column: 2, reason: .badBracketAtom("no element symbol")),
        Invalid(smiles: "[x]", column: 2, reason: .unknownElement("x")),
    ]

    @Test(arguments: invalid) func malformedInputIsATypedErrorWithItsColumn(_ c: Invalid) {
        #expect(throws: SMILESError(c.reason, column: c.column)) { try SMILES.parse(c.smiles) }
    }

    @Test func errorsNameLineAndColumn() {
        let e = SMILESError(.unclosedRing(3), column: 7, line: 12)
        #expect(e.description.contains("line 12, column 7") && e.description.contains("ring closure 3"))
    }
}
