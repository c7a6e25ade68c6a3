/// The periodic table as the SMILES parser needs it: element symbols by atomic number and the default
/// valences of the organic subset (docs/molecules.md#smiles).
public enum Element {
    /// Symbols of elements 1…118 (index `Z − 1`).
    public static let symbols: [String] = [
        "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
        "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr",
        "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe",
        "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
        "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn",
        "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr",
        "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
    ]

    /// Atomic number of each symbol (`"Cl"` → 17).
    static let atomicNumbers: [String: Int] = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0 + 1) })

    /// The symbol of atomic number `z` (`"*"` for 0, the wildcard atom).
    public static func symbol(_ z: Int) -> String { z >= 1 && z <= symbols.count ? symbols[z - 1] : "*" }

    /// The atomic number of `symbol`, nil when it is not an element.
    public static func atomicNumber(_ symbol: String) -> Int? { atomicNumbers[symbol] }

    /// Normal valences of the organic-subset elements (OpenSMILES): B 3; C 4; N 3, 5; O 2; P 3, 5;
    /// S 2, 4, 6; halogens 1. Empty for every other element (bracket atoms state their hydrogens).
    public static func defaultValences(_ z: Int) -> [Int] {
        switch z {
        case 5: [3]
        case 6: [4]
        case 7, 15: [3, 5]
        case 8: [2]
        case 16: [2, 4, 6]
        case 9, 17, 35, 53: [1]
        default: []
        }
    }
}
