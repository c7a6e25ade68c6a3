/// Bemis–Murcko scaffolds (Bemis & Murcko 1996; docs/molecules.md#scaffold-split): the ring systems of a
/// molecule and the chains linking them, side chains removed. As RDKit's `MurckoScaffold` (which OGB's split
/// uses), an atom joined by a double bond to a scaffold atom and to nothing else (the `=O` of a ring ketone or
/// an amide linker) stays. A molecule without rings has the empty scaffold.
///
/// Scaffolds are compared by a canonical key, not by a SMILES string: Weisfeiler–Lehman colour refinement of
/// the scaffold graph (atom labels: element, aromatic, charge; edge labels: bond order) to a fixed point, then
/// the sorted multiset of colours. Isomorphic scaffolds always get the same key; two non-isomorphic ones get
/// the same key only when refinement cannot tell them apart (regular graphs of equal labels — not seen
/// among drug-like scaffolds) or on a 64-bit hash collision.
public struct Scaffold: Hashable, Sendable {
    /// The scaffold's atoms (indices into the molecule), ascending.
    public let atoms: [Int]
    /// Sorted refined colours: equal for isomorphic scaffolds.
    public let key: [UInt64]

    /// The scaffold of `molecule`.
    public init(of molecule: Molecule) {
        let n = molecule.atoms.count
        let incident = molecule.incidentBonds()
        let ring = molecule.ringBonds()
        let ringAtom = molecule.ringAtoms(ringBonds: ring)
        var degree = molecule.degrees()
        var kept = [Bool](repeating: true, count: n)
        // Peel chain ends: a non-ring atom with at most one kept neighbour is a side-chain end.
        var queue = (0..<n).filter { !ringAtom[$0] && degree[$0] <= 1 }
        while let a = queue.popLast() {
            guard kept[a] else { continue }
            kept[a] = false
            for k in incident[a] {
                let b = molecule.bonds[k], other = b.first == a ? b.second : b.first
                guard kept[other] else { continue }
                degree[other] -= 1
                if !ringAtom[other] && degree[other] <= 1 { queue.append(other) }
            }
        }
        // No ring at all: every atom was peeled (a ring-free molecule has the empty scaffold).
        if !ringAtom.contains(true) { kept = [Bool](repeating: false, count: n) }
        // Exocyclic and linker double bonds: keep a removed terminal atom double-bonded to a kept one.
        var restore: [Int] = []
        for (a, isKept) in kept.enumerated() where !isKept && incident[a].count == 1 {
            let b = molecule.bonds[incident[a][0]], other = b.first == a ? b.second : b.first
            if b.order == .double && kept[other] { restore.append(a) }
        }
        for a in restore { kept[a] = true }
        atoms = (0..<n).filter { kept[$0] }
        key = Self.canonicalKey(molecule, kept: kept, incident: incident)
    }

    /// Whether the scaffold is empty (no ring).
    public var isEmpty: Bool { atoms.isEmpty }

    static func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
        // SplitMix64 finaliser over h ⊕ v: a well-spread, deterministic 64-bit hash step.
        var z = (h ^ v) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Weisfeiler–Lehman refinement over the kept atoms until the number of colour classes stops growing.
    static func canonicalKey(_ m: Molecule, kept: [Bool], incident: [[Int]]) -> [UInt64] {
        let members = kept.indices.filter { kept[$0] }
        guard !members.isEmpty else { return [] }
        var colour = [UInt64](repeating: 0, count: m.atoms.count)
        for a in members {
            let atom = m.atoms[a]
            colour[a] = mix(mix(UInt64(atom.atomicNumber), atom.isAromatic ? 1 : 2), UInt64(bitPattern: Int64(atom.charge)))
        }
        var classes = Set(members.map { colour[$0] }).count
        var scratch: [UInt64] = []
        for _ in 0..<members.count {
            var next = colour
            for a in members {
                scratch.removeAll(keepingCapacity: true)
                for k in incident[a] {
                    let b = m.bonds[k], other = b.first == a ? b.second : b.first
                    if kept[other] { scratch.append(mix(colour[other], UInt64(b.order.rawValue) + 11)) }
                }
                scratch.sort()
                var h = mix(colour[a], UInt64(scratch.count))
                for s in scratch { h = mix(h, s) }
                next[a] = h
            }
            colour = next
            let now = Set(members.map { colour[$0] }).count
            if now == classes { break }
            classes = now
        }
        return members.map { colour[$0] }.sorted()
    }
}

/// OGB's scaffold split (`scaffold_split` of the ogbg-mol* data sets; docs/molecules.md#scaffold-split):
/// molecules grouped by Bemis–Murcko scaffold, groups ordered by size (largest first, ties by the larger
/// first index, as Python's `sorted(…, key=(len, first), reverse=True)`), then whole groups assigned in
/// that order to training while it stays within `train·n`, else to validation while training + validation
/// stay within `(train + valid)·n`, else to test. Deterministic: no seed.
public struct ScaffoldSplit: Sendable, Equatable {
    public let train: [Int]
    public let validation: [Int]
    public let test: [Int]

    /// Splits molecules `0..<scaffolds.count` by their scaffolds, fractions `train` and `valid`
    /// (the rest is test). Indices within each split are ascending within each group, groups in order.
    public init(scaffolds: [Scaffold], train: Double = 0.8, valid: Double = 0.1) {
        precondition(train > 0 && valid >= 0 && train + valid <= 1, "scaffold split fractions \(train), \(valid)")
        var groups: [[UInt64]: [Int]] = [:]
        for (i, s) in scaffolds.enumerated() { groups[s.key, default: []].append(i) }
        let ordered = groups.values.sorted { a, b in a.count != b.count ? a.count > b.count : a[0] > b[0] }
        let n = Double(scaffolds.count)
        let trainCutoff = train * n, validCutoff = (train + valid) * n
        var (tr, va, te) = ([Int](), [Int](), [Int]())
        for g in ordered {
            if Double(tr.count + g.count) > trainCutoff {
                if Double(tr.count + va.count + g.count) > validCutoff { te += g } else { va += g }
            } else {
                tr += g
            }
        }
        (self.train, validation, test) = (tr, va, te)
    }
}
