import Chemistry
import Testing

/// Bemis–Murcko scaffolds of known molecules and OGB's group-by-size split.
struct ScaffoldTests {
    func scaffold(_ s: String) throws -> Scaffold { Scaffold(of: try SMILES.parse(s)) }

    @Test func scaffoldsOfKnownMolecules() throws {
        let benzene = try scaffold("c1ccccc1")
        // Ibuprofen, toluene and acetanilide: side chains (the amide too) go, the benzene ring stays.
        for s in ["CC(C)Cc1ccc(cc1)C(C)C(=O)O", "Cc1ccccc1", "CC(=O)Nc1ccccc1"] {
            let sc = try scaffold(s)
            #expect(sc.atoms.count == 6, "\(s)")
            #expect(sc.key == benzene.key, "\(s)")
        }
        // The linker between two rings stays; an exocyclic C=O stays; a ring-free molecule has none.
        #expect(try scaffold("c1ccccc1CCc1ccccc1").atoms.count == 14)
        #expect(try scaffold("O=C1CCCCC1").atoms.count == 7)
        #expect(try scaffold("c1ccccc1C(=O)Nc1ccccc1CC").atoms.count == 15)
        #expect(try scaffold("CCCC(=O)O").isEmpty)
        // A counter-ion is not part of the scaffold.
        #expect(try scaffold("c1ccccc1C(=O)[O-].[Na+]").key == benzene.key)
        // Other writings of one scaffold share the key; another heteroatom does not.
        #expect(try scaffold("c1ccc(cc1)C1CCNCC1").key == scaffold("C1CNCCC1c1ccccc1").key)
        #expect(try scaffold("c1ccncc1").key != benzene.key)
        #expect(try scaffold("C1CCCCC1").key != benzene.key)
        #expect(try scaffold("c1ccc2ccccc2c1").key != benzene.key)
    }

    @Test func splitAssignsWholeGroupsLargestFirst() throws {
        // 5 benzene derivatives, 3 pyridines, one cyclohexane (index 8), one ring-free molecule (index 9).
        let smiles = ["Cc1ccccc1", "c1ccccc1", "Oc1ccccc1", "Nc1ccccc1", "Clc1ccccc1",
                      "c1ccncc1", "Cc1ccncc1", "Oc1ccncc1", "CC1CCCCC1", "CCO"]
        let split = ScaffoldSplit(scaffolds: try smiles.map(scaffold))
        // Train takes benzene (5) and pyridine (3) = 8 = 0.8·10; the two singletons go larger first index
        // first: the ring-free one (9) to validation, cyclohexane (8) to test.
        #expect(split.train == [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(split.validation == [9])
        #expect(split.test == [8])
    }
}

/// Features in OGB's layout.
struct FeatureTests {
    @Test func atomAndBondFeaturesOfAcetamide() throws {
        // CC(=O)N: methyl C, carbonyl C, O, N.
        let (atoms, bonds) = MolecularFeatures.features(of: try SMILES.parse("CC(=O)N"))
        let rows = stride(from: 0, to: atoms.count, by: 9).map { Array(atoms[$0..<$0 + 9]) }
        #expect(rows[0] == [5, 0, 4, 5, 3, 0, 2, 0, 0]) // C: degree 4, 3 H, SP3
        #expect(rows[1] == [5, 0, 3, 5, 0, 0, 1, 0, 0]) // C=O: SP2
        #expect(rows[2] == [7, 0, 1, 5, 0, 0, 1, 0, 0]) // O: SP2
        #expect(rows[3] == [6, 0, 3, 5, 2, 0, 1, 0, 0]) // amide N: lone pair conjugated, SP2
        // C–C single (not conjugated: methyl has no lone pair), C=O double conjugated, C–N conjugated.
        #expect(bonds == [0, 0, 0, 1, 0, 1, 0, 0, 1])
    }

    @Test func aromaticRingFeaturesAndDimensions() throws {
        let (atoms, bonds) = MolecularFeatures.features(of: try SMILES.parse("c1ccncc1"))
        for k in 0..<6 {
            #expect(atoms[9 * k + 7] == 1 && atoms[9 * k + 8] == 1 && atoms[9 * k + 6] == 1)
        }
        #expect(stride(from: 0, to: bonds.count, by: 3).allSatisfy { bonds[$0] == 3 && bonds[$0 + 2] == 1 })
        // Every feature within its dimension, including an out-of-range charge (misc).
        let (ion, _) = MolecularFeatures.features(of: try SMILES.parse("[Fe+6]"))
        #expect(ion[3] == 11)
        for (k, d) in MolecularFeatures.atomFeatureDimensions.enumerated() { #expect(Int(ion[k]) < d) }
    }
}
