import Chemistry

/// Small molecule sets whose label is learnable from the atoms: chains of 2–7 carbons, some on a benzene
/// ring, ending in N (active, every third molecule) or O. `offset` shifts the pattern so that the sets differ.
public func moleculeFixture(count: Int, offset: Int, name: String) throws -> MoleculeGraphs {
    var molecules: [Molecule] = [], labels: [Int] = []
    for i in offset..<(offset + count) {
        let active = i % 3 == 0
        let smiles = (i % 4 == 1 ? "c1ccccc1" : "") + String(repeating: "C", count: 2 + i % 6) + (active ? "N" : "O")
        molecules.append(try SMILES.parse(smiles))
        labels.append(active ? 1 : 0)
    }
    return MoleculeGraphs(name: name, molecules: molecules, labels: labels)
}
