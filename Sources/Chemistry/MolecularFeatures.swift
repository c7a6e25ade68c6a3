/// Integer atom and bond features in the layout of OGB's `ogb.utils.features` (the inputs of the
/// ogbg-mol* models; docs/molecules.md#features), computed from the parsed graph without a
/// cheminformatics toolkit. Each feature is a category index in `0..<atomFeatureDimensions[k]` (the last
/// index is OGB's "misc" for values outside the list); a model embeds each and sums the embeddings.
///
/// Atom features (9): atomic number (`Z − 1`), chirality (always "unspecified": the data has no stereo
/// marks), total degree (heavy neighbours + hydrogens), formal charge (`charge + 5`), total hydrogens,
/// radical electrons (0), hybridisation (derived from bond orders, see `hybridization`), aromatic, in ring.
/// Bond features (3): type (single, double, triple, aromatic, misc), stereo (always "none"), conjugated
/// (derived, see `conjugatedBonds`).
public enum MolecularFeatures {
    /// Categories per atom feature (OGB's `get_atom_feature_dims()`).
    public static let atomFeatureDimensions = [119, 5, 12, 12, 10, 6, 6, 2, 2]
    /// Categories per bond feature (OGB's `get_bond_feature_dims()`).
    public static let bondFeatureDimensions = [5, 6, 2]
    public static var atomFeatureCount: Int { atomFeatureDimensions.count }
    public static var bondFeatureCount: Int { bondFeatureDimensions.count }

    /// OGB's hybridisation list `[SP, SP2, SP3, SP3D, SP3D2, misc]`, as indices.
    public enum Hybridization: Int, Sendable { case sp = 0, sp2, sp3, sp3d, sp3d2, other }

    /// `index` if it is below `count − 1`, else the "misc" index `count − 1` (OGB's `safe_index`).
    @inline(__always) static func safe(_ index: Int, _ count: Int) -> UInt8 { UInt8(index >= 0 && index < count - 1 ? index : count - 1) }

    /// The 9 atom features of every atom (row-major, `atoms × 9`) and the 3 bond features of every bond
    /// (`bonds × 3`).
    public static func features(of molecule: Molecule) -> (atoms: [UInt8], bonds: [UInt8]) {
        let ring = molecule.ringBonds()
        let ringAtom = molecule.ringAtoms(ringBonds: ring)
        let degree = molecule.degrees()
        let conjugated = conjugatedBonds(molecule)
        let hybrid = hybridization(molecule, degrees: degree, conjugated: conjugated)
        let d = atomFeatureDimensions
        var atoms = [UInt8](repeating: 0, count: molecule.atoms.count * d.count)
        for (k, a) in molecule.atoms.enumerated() {
            let row = k * d.count
            atoms[row] = safe(a.atomicNumber - 1, d[0])
            atoms[row + 1] = 0
            atoms[row + 2] = safe(degree[k] + a.hydrogens, d[2])
            atoms[row + 3] = safe(a.charge + 5, d[3])
            atoms[row + 4] = safe(a.hydrogens, d[4])
            atoms[row + 5] = 0
            atoms[row + 6] = UInt8(hybrid[k].rawValue)
            atoms[row + 7] = a.isAromatic ? 1 : 0
            atoms[row + 8] = ringAtom[k] ? 1 : 0
        }
        var bonds = [UInt8](repeating: 0, count: molecule.bonds.count * 3)
        for (k, b) in molecule.bonds.enumerated() {
            bonds[3 * k] = switch b.order {
            case .single: 0
            case .double: 1
            case .triple: 2
            case .aromatic: 3
            case .quadruple: 4
            }
            bonds[3 * k + 2] = conjugated[k] ? 1 : 0
        }
        return (atoms, bonds)
    }

    /// Whether an atom can carry a lone pair into a π system: N, O, P, S (and Se) with fewer than four
    /// neighbours and no positive charge.
    static func hasLonePair(_ a: Atom, totalDegree: Int) -> Bool {
        [7, 8, 15, 16, 34].contains(a.atomicNumber) && totalDegree < 4 && a.charge <= 0
    }

    /// A bond is conjugated (an approximation of RDKit's rule, docs/molecules.md#features) when it is
    /// aromatic, or when a double or triple bond and a single bond meet at an atom and the single bond's
    /// other atom is unsaturated (has a double, triple or aromatic bond) or has a lone pair; then both
    /// bonds are conjugated. Two multiple bonds sharing an atom (cumulenes) are not.
    public static func conjugatedBonds(_ molecule: Molecule) -> [Bool] {
        let incident = molecule.incidentBonds()
        let degree = molecule.degrees()
        var unsaturated = [Bool](repeating: false, count: molecule.atoms.count)
        for b in molecule.bonds where b.order != .single { unsaturated[b.first] = true; unsaturated[b.second] = true }
        var out = molecule.bonds.map { $0.order == .aromatic }
        for (k, b) in molecule.bonds.enumerated() where b.order == .double || b.order == .triple {
            for a in [b.first, b.second] {
                for j in incident[a] where j != k && molecule.bonds[j].order == .single {
                    let other = molecule.bonds[j].first == a ? molecule.bonds[j].second : molecule.bonds[j].first
                    let o = molecule.atoms[other]
                    if unsaturated[other] || hasLonePair(o, totalDegree: degree[other] + o.hydrogens) {
                        out[k] = true
                        out[j] = true
                    }
                }
            }
        }
        // A single bond between two aromatic rings or an aromatic atom and an unsaturated one (biphenyl, styrene).
        for (k, b) in molecule.bonds.enumerated() where b.order == .single && unsaturated[b.first] && unsaturated[b.second] {
            out[k] = true
        }
        return out
    }

    /// Hybridisation from bond orders: aromatic or one double bond → SP2; a triple or two double bonds →
    /// SP; otherwise an atom with a lone pair on a conjugated bond (amide N, phenol O) → SP2, else by its
    /// total degree `D` (neighbours + hydrogens): `D ≤ 4` SP3, 5 SP3D, 6 SP3D2. Hydrogen, helium and
    /// isolated atoms (ions) → misc (RDKit's S / unspecified, which OGB maps to misc).
    public static func hybridization(_ molecule: Molecule, degrees: [Int], conjugated: [Bool]) -> [Hybridization] {
        var doubles = [Int](repeating: 0, count: molecule.atoms.count)
        var triples = doubles, onConjugated = [Bool](repeating: false, count: molecule.atoms.count)
        for (k, b) in molecule.bonds.enumerated() {
            for a in [b.first, b.second] {
                if b.order == .double { doubles[a] += 1 }
                if b.order == .triple || b.order == .quadruple { triples[a] += 1 }
                if conjugated[k] { onConjugated[a] = true }
            }
        }
        return molecule.atoms.enumerated().map { k, a in
            let total = degrees[k] + a.hydrogens
            if a.atomicNumber <= 2 || degrees[k] == 0 { return .other }
            if triples[k] > 0 || doubles[k] >= 2 { return .sp }
            if a.isAromatic || doubles[k] == 1 { return .sp2 }
            if onConjugated[k] && hasLonePair(a, totalDegree: total) { return .sp2 }
            switch total {
            case ...4: return .sp3
            case 5: return .sp3d
            case 6: return .sp3d2
            default: return .other
            }
        }
    }
}
