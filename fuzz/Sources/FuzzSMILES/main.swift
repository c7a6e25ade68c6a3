import Chemistry

/// SMILES strings (`SMILES.parse`), and a molecule file built from them (`MoleculeTable`, both bad-line
/// policies): any bytes give a molecule or a `SMILESError` / `MoleculeDataError`, never a trap. A parsed
/// molecule must be internally consistent and featurise and yield a scaffold without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMILES(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    if let m = try? SMILES.parse(bytes) {
        precondition(m.bonds.allSatisfy { $0.first != $0.second && $0.first < m.atoms.count && $0.second < m.atoms.count },
                     "a bond names a missing atom or joins an atom to itself")
        let (atoms, bonds) = MolecularFeatures.features(of: m)
        precondition(atoms.count == 9 * m.atoms.count && bonds.count == 3 * m.bonds.count, "feature rows do not match the graph")
        for (k, d) in MolecularFeatures.atomFeatureDimensions.enumerated() {
            precondition(stride(from: k, to: atoms.count, by: 9).allSatisfy { Int(atoms[$0]) < d }, "atom feature \(k) out of range")
        }
        _ = Scaffold(of: m)
    }
    let text = "smiles,target\n" + String(decoding: bytes, as: UTF8.self) + ",1\nCCO,0\n"
    _ = try? MoleculeTable(text: text, path: "fuzz.csv", policy: .skip)
    _ = try? MoleculeTable(text: text, path: "fuzz.csv", policy: .refuse)
    return 0
}
