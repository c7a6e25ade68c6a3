import Datasets
import Linalg
import NeuralNet

/// A batch of molecules for a graph network: the graphs encoded as one matrix (`BatchedGraph.encoded()`,
/// what the model reads) and one 0/1 label per molecule.
public struct MoleculeBatch: LabeledBatch, ModelInputBatch {
    public var input: Matrix<Float>
    public var labels: [Int]
    public var count: Int { labels.count }
}

/// Featurised molecules with binary labels as a `DataSource` (docs/molecules.md#features): atom and bond
/// categories stored flat (CSR by molecule), gathered per batch into a `BatchedGraph`.
public struct MoleculeGraphs: DataSource {
    public let name: String
    public private(set) var labels: [Int] = []
    /// Atom features, 9 per atom; molecule `i` owns atoms `atomOffsets[i] ..< atomOffsets[i + 1]`.
    var atomFeatures: [UInt8] = []
    var atomOffsets: [Int] = [0]
    /// Bonds as local atom indices (pairs) and 3 features each; molecule `i` owns bonds `bondOffsets[i] ..< bondOffsets[i + 1]`.
    var bondAtoms: [Int32] = []
    var bondFeatures: [UInt8] = []
    var bondOffsets: [Int] = [0]

    public static let nodeCategories = MolecularFeatures.atomFeatureDimensions
    public static let edgeCategories = MolecularFeatures.bondFeatureDimensions
    /// Columns of the encoded batches.
    public static var encodedWidth: Int { BatchedGraph.encodedWidth(nodeFeatures: nodeCategories.count, edgeFeatures: edgeCategories.count) }

    /// Features of `molecules[i]` for `i` in `indices` (all when nil), with their labels.
    public init(name: String, molecules: [Molecule], labels: [Int], indices: [Int]? = nil) {
        precondition(molecules.count == labels.count, "MoleculeGraphs: \(molecules.count) molecules, \(labels.count) labels")
        self.name = name
        for i in indices ?? Array(molecules.indices) {
            let m = molecules[i]
            let (atoms, bonds) = MolecularFeatures.features(of: m)
            atomFeatures += atoms
            atomOffsets.append(atomOffsets.last! + m.atoms.count)
            for b in m.bonds { bondAtoms.append(Int32(b.first)); bondAtoms.append(Int32(b.second)) }
            bondFeatures += bonds
            bondOffsets.append(bondOffsets.last! + m.bonds.count)
            self.labels.append(labels[i])
        }
    }

    public var count: Int { labels.count }
    public var positives: Int { labels.reduce(0, +) }

    public func prefix(_ n: Int) -> MoleculeGraphs {
        var copy = self
        let m = min(max(n, 0), count)
        copy.labels = Array(labels[0..<m])
        copy.atomOffsets = Array(atomOffsets[0...m])
        copy.bondOffsets = Array(bondOffsets[0...m])
        copy.atomFeatures = Array(atomFeatures[0..<(9 * atomOffsets[m])])
        copy.bondAtoms = Array(bondAtoms[0..<(2 * bondOffsets[m])])
        copy.bondFeatures = Array(bondFeatures[0..<(3 * bondOffsets[m])])
        return copy
    }

    public func makeBatch(capacity: Int) -> MoleculeBatch {
        MoleculeBatch(input: Matrix(rows: 0, columns: Self.encodedWidth), labels: [])
    }

    /// The stacked graph of the molecules at `indices`.
    public func graph(_ indices: ArraySlice<Int>) -> BatchedGraph {
        var offsets = [0], first: [Int32] = [], second: [Int32] = []
        var nodeCats: [Float] = [], edgeCats: [Float] = []
        for i in indices {
            let base = Int32(offsets.last!)
            nodeCats += atomFeatures[(9 * atomOffsets[i])..<(9 * atomOffsets[i + 1])].map(Float.init)
            for k in bondOffsets[i]..<bondOffsets[i + 1] {
                first.append(base + bondAtoms[2 * k])
                second.append(base + bondAtoms[2 * k + 1])
            }
            edgeCats += bondFeatures[(3 * bondOffsets[i])..<(3 * bondOffsets[i + 1])].map(Float.init)
            offsets.append(offsets.last! + atomOffsets[i + 1] - atomOffsets[i])
        }
        return BatchedGraph(nodeOffsets: offsets, edgeFirst: first, edgeSecond: second,
                            nodeCategories: Matrix(rows: offsets.last!, columns: 9, storage: nodeCats),
                            edgeCategories: Matrix(rows: first.count, columns: 3, storage: edgeCats))
    }

    public func gather(_ indices: ArraySlice<Int>, into batch: inout MoleculeBatch) {
        batch.input = graph(indices).encoded()
        batch.labels = indices.map { labels[$0] }
    }
}
