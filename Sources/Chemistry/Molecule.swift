/// The order of a bond as SMILES writes it: `-` single, `=` double, `#` triple, `$` quadruple, `:` aromatic
/// (also implied between two aromatic atoms). `/` and `\` (double-bond stereo) are single bonds here.
public enum BondOrder: UInt8, Sendable, Equatable, CaseIterable {
    case single, double, triple, quadruple, aromatic

    /// The valence the bond uses at each end (an aromatic bond counts 1; the aromatic atom's extra
    /// electron is added per atom, see `Molecule.implicitHydrogens`).
    public var valence: Int {
        switch self {
        case .single, .aromatic: 1
        case .double: 2
        case .triple: 3
        case .quadruple: 4
        }
    }
}

/// One heavy atom (or an explicit `[H]`) of a parsed molecule.
public struct Atom: Sendable, Equatable {
    /// Atomic number `Z` (0 for the wildcard `*`).
    public var atomicNumber: Int
    /// Mass number from a bracket atom (`[13C]`), nil when not given.
    public var isotope: Int?
    /// Formal charge (`[NH4+]` → +1, `[Fe+++]` → +3, `[O-2]` → −2).
    public var charge: Int
    /// Hydrogens attached and not written as atoms: a bracket atom's `H` count, or the implicit hydrogens
    /// of an organic-subset atom from its default valence (filled in by the parser).
    public var hydrogens: Int
    /// Written in lower case (`c`, `n`, `[nH]`): part of an aromatic system.
    public var isAromatic: Bool
    /// Written in brackets (its hydrogens are explicit, never implied).
    public var isBracket: Bool

    public init(atomicNumber: Int, isotope: Int? = nil, charge: Int = 0, hydrogens: Int = 0,
                isAromatic: Bool = false, isBracket: Bool = false) {
        self.atomicNumber = atomicNumber
        self.isotope = isotope
        self.charge = charge
        self.hydrogens = hydrogens
        self.isAromatic = isAromatic
        self.isBracket = isBracket
    }
}

/// A bond between atoms `first` and `second` (indices into `Molecule.atoms`).
public struct Bond: Sendable, Equatable {
    public var first: Int
    public var second: Int
    public var order: BondOrder

    public init(_ first: Int, _ second: Int, _ order: BondOrder) {
        self.first = first
        self.second = second
        self.order = order
    }
}

/// A molecular graph: atoms in SMILES order, bonds in the order they were closed, and the derived
/// per-atom and per-bond facts the features need (degree, ring membership).
public struct Molecule: Sendable, Equatable {
    public var atoms: [Atom]
    public var bonds: [Bond]

    public init(atoms: [Atom], bonds: [Bond]) {
        self.atoms = atoms
        self.bonds = bonds
    }

    /// For every atom, the indices of its bonds (in `bonds` order).
    public func incidentBonds() -> [[Int]] {
        var out = [[Int]](repeating: [], count: atoms.count)
        for (k, b) in bonds.enumerated() {
            out[b.first].append(k)
            out[b.second].append(k)
        }
        return out
    }

    /// Heavy-atom degree (bonds to atoms written in the SMILES) of every atom.
    public func degrees() -> [Int] {
        var d = [Int](repeating: 0, count: atoms.count)
        for b in bonds { d[b.first] += 1; d[b.second] += 1 }
        return d
    }

    /// Implicit hydrogens of an organic-subset atom (docs/molecules.md#implicit-hydrogens), given the valence
    /// its bonds use (`Σ BondOrder.valence`). Aliphatic: the smallest default valence `v ≥ Σ` gives
    /// `v − Σ` (0 when `Σ` exceeds them all). Aromatic: one more valence unit is spent in the π system,
    /// against the smallest default valence only, `max(0, v₀ − Σ − 1)` — benzene's `c` gets 1, pyridine's
    /// `n` 0, furan's `o` and thiophene's `s` 0 (a pyrrole N–H must be written `[nH]`).
    /// A charge shifts the valence as OpenSMILES does not, so charged atoms are written in brackets.
    public static func implicitHydrogens(atomicNumber z: Int, aromatic: Bool, bondValence sum: Int) -> Int {
        let valences = Element.defaultValences(z)
        guard let lowest = valences.first else { return 0 }
        if aromatic { return max(0, lowest - sum - 1) }
        guard let v = valences.first(where: { $0 >= sum }) else { return 0 }
        return v - sum
    }

    /// Whether each bond lies on a ring: a bond is in a ring exactly when it is not a bridge (removing it
    /// leaves its atoms connected). Bridges by Tarjan's low-link depth-first search, iterative (no recursion
    /// depth limit), `O(atoms + bonds)`.
    public func ringBonds() -> [Bool] {
        let n = atoms.count
        let incident = incidentBonds()
        var order = [Int](repeating: -1, count: n), low = [Int](repeating: 0, count: n)
        var inRing = [Bool](repeating: true, count: bonds.count)
        var counter = 0
        // Stack frames: (atom, bond used to reach it, next incident index to visit).
        var stack: [(atom: Int, via: Int, next: Int)] = []
        for root in 0..<n where order[root] < 0 {
            order[root] = counter; low[root] = counter; counter += 1
            stack.append((root, -1, 0))
            while let top = stack.last {
                let v = top.atom
                if top.next < incident[v].count {
                    stack[stack.count - 1].next += 1
                    let k = incident[v][top.next]
                    if k == top.via { continue }
                    let w = bonds[k].first == v ? bonds[k].second : bonds[k].first
                    if order[w] < 0 {
                        order[w] = counter; low[w] = counter; counter += 1
                        stack.append((w, k, 0))
                    } else {
                        low[v] = min(low[v], order[w])
                    }
                } else {
                    stack.removeLast()
                    if let parent = stack.last {
                        low[parent.atom] = min(low[parent.atom], low[v])
                        if low[v] > order[parent.atom] { inRing[top.via] = false }
                    }
                }
            }
        }
        return inRing
    }

    /// Whether each atom lies on a ring (has a ring bond).
    public func ringAtoms(ringBonds: [Bool]? = nil) -> [Bool] {
        let rb = ringBonds ?? self.ringBonds()
        var out = [Bool](repeating: false, count: atoms.count)
        for (k, b) in bonds.enumerated() where rb[k] { out[b.first] = true; out[b.second] = true }
        return out
    }

    /// Number of disconnected fragments (`'.'`-separated parts that no ring closure joins).
    public var fragmentCount: Int {
        var parent = Array(0..<atoms.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        var count = atoms.count
        for b in bonds {
            let (r1, r2) = (find(b.first), find(b.second))
            if r1 != r2 { parent[r1] = r2; count -= 1 }
        }
        return count
    }

    /// Hydrogens over all atoms (implicit and bracket `H` counts).
    public var hydrogenCount: Int { atoms.reduce(0) { $0 + $1.hydrogens } }
}
