import Foundation
import Training

/// One kind of trainable layer of a workload, `s = W a + b` applied at `positions` places per example
/// (tokens, spatial positions, nodes or edges; shared weights), repeated `count` times (identical
/// blocks). Convolutions are given in their unfolded form: `inputs = k·k·c_in`, `positions = H·W`.
public struct WorkloadLayer: Sendable, Equatable, Codable {
    public var name: String
    public var inputs: Int
    public var outputs: Int
    public var positions: Int
    public var count: Int
    public var bias: Bool

    public init(_ name: String, inputs: Int, outputs: Int, positions: Int = 1, count: Int = 1, bias: Bool = true) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.positions = positions
        self.count = count
        self.bias = bias
    }

    /// Decodes the fields in declaration order; an absent `positions`, `count` or `bias` keeps the initialiser's default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode(String.self, forKey: .name), inputs: try c.decode(Int.self, forKey: .inputs),
                  outputs: try c.decode(Int.self, forKey: .outputs))
        positions = try c.decodeIfPresent(Int.self, forKey: .positions) ?? positions
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? count
        bias = try c.decodeIfPresent(Bool.self, forKey: .bias) ?? bias
    }

    /// Order of the K-FAC input factor `A` (inputs, plus one for the bias).
    public var inputFactorOrder: Int { inputs + (bias ? 1 : 0) }
    /// Trainable scalars of one copy.
    public var parameterCount: Int { inputs * outputs + (bias ? outputs : 0) }
}

/// A training workload as data: layer shapes, batch, output dimension (docs/cost-model.md#workloads). Built-in
/// workloads are below; others load from JSON (`Workload.load(path:)`) with the same fields.
public struct Workload: Sendable, Equatable, Codable {
    public var name: String
    /// What the shapes stand for and which assumptions they make (printed with every prediction).
    public var summary: String
    /// Examples per batch `b` (images, sequences, graphs).
    public var batch: Int
    /// Model outputs per example `d_z` (classes, regression targets): the size of the GGN's output space.
    public var outputDimension: Int
    /// Forward FLOPs per example not in `layers` (attention score products, normalisations); the
    /// backward pass is counted as twice the forward.
    public var extraForwardFLOPsPerExample: Double
    public var layers: [WorkloadLayer]

    public init(name: String, summary: String, batch: Int, outputDimension: Int,
                extraForwardFLOPsPerExample: Double = 0, layers: [WorkloadLayer]) {
        self.name = name
        self.summary = summary
        self.batch = batch
        self.outputDimension = outputDimension
        self.extraForwardFLOPsPerExample = extraForwardFLOPsPerExample
        self.layers = layers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        summary = try c.decodeIfPresent(String.self, forKey: .summary) ?? ""
        batch = try c.decode(Int.self, forKey: .batch)
        outputDimension = try c.decode(Int.self, forKey: .outputDimension)
        extraForwardFLOPsPerExample = try c.decodeIfPresent(Double.self, forKey: .extraForwardFLOPsPerExample) ?? 0
        layers = try c.decode([WorkloadLayer].self, forKey: .layers)
    }

    /// Checks every shape; a bad one is named in the error.
    public func validate() throws(PredictionError) {
        guard batch >= 1 else { throw .invalidWorkload(name: name, detail: "batch must be at least 1, got \(batch)") }
        guard outputDimension >= 1 else {
            throw .invalidWorkload(name: name, detail: "outputDimension must be at least 1, got \(outputDimension)")
        }
        guard extraForwardFLOPsPerExample >= 0, extraForwardFLOPsPerExample.isFinite else {
            throw .invalidWorkload(name: name, detail: "extraForwardFLOPsPerExample must be non-negative")
        }
        guard !layers.isEmpty else { throw .invalidWorkload(name: name, detail: "it has no layers") }
        for (i, l) in layers.enumerated() {
            for (field, v) in [("inputs", l.inputs), ("outputs", l.outputs), ("positions", l.positions), ("count", l.count)]
            where v < 1 {
                throw .invalidWorkload(name: name, detail: "layer \(i) '\(l.name)': \(field) must be at least 1, got \(v)")
            }
        }
        try checkMagnitudes()
    }

    /// The largest count the cost model handles: every product of shapes it forms (parameters, rows
    /// `b·positions`, outputs `b·d_z`, right-hand sides) must stay below 2⁵³, where Int arithmetic cannot
    /// overflow and Double still counts exactly.
    public static let largestCount = 9_007_199_254_740_992.0

    /// Rejects shapes whose products leave the exactly countable range (`largestCount`), naming the product.
    private func checkMagnitudes() throws(PredictionError) {
        let limit = Self.largestCount
        func check(_ value: Double, _ what: String) throws(PredictionError) {
            guard value < limit else {
                throw .invalidWorkload(name: name, detail: "\(what) = \(String(format: "%.3g", value)) exceeds 2⁵³ ≈ 9.0e15, "
                                       + "the largest count this cost model handles; use smaller shapes")
            }
        }
        let b = Double(batch)
        try check(b * Double(outputDimension), "batch × outputDimension")
        var parameters = 0.0
        for (i, l) in layers.enumerated() {
            let label = "layer \(i) '\(l.name)'"
            let copy = (Double(l.inputs) + 1) * Double(l.outputs)
            try check(copy * Double(l.count), "\(label): (inputs + 1) × outputs × count")
            try check(b * Double(l.positions), "\(label): batch × positions")
            try check((Double(l.inputs) + 1 + Double(l.outputs)) * Double(l.count), "\(label): (inputs + 1 + outputs) × count")
            parameters += copy * Double(l.count)
        }
        try check(parameters, "the total parameter count")
    }

    /// Total trainable scalars `N`.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.count * $1.parameterCount } }
}

extension Workload {
    /// Workloads by name: a model of `ModelRegistry` (`mlp`, `cnn`, `tiny-cnn`, …) derived from its definition
    /// (`registered(_:)`), or a description of a model this project does not build (`vit-s16`, `ogbg-gnn`,
    /// `transformer-<width>`).
    public static func builtin(_ name: String) throws(PredictionError) -> Workload {
        if let derived = registered(name) { return derived }
        switch name {
        case "vit-s16": return vitS16
        case "ogbg-gnn": return ogbgGNN
        default:
            if name.hasPrefix("transformer-"), let n = Int(name.dropFirst("transformer-".count)), n >= 1 {
                // 12n² parameters: widths beyond 2.7·10⁷ leave the countable range (and 4n must not overflow).
                guard n <= 27_000_000 else {
                    throw .invalidWorkload(name: name, detail: "width \(n) is too large: a block holds 12·n² parameters, "
                                           + "which must stay below 2⁵³; use a width of at most 27000000")
                }
                return transformerBlock(width: n)
            }
            throw .unknownPreset(kind: "workload", name: name, known: ModelRegistry.names + ["vit-s16", "ogbg-gnn", "transformer-<width>"])
        }
    }

    /// The Fashion-MNIST MLP trained here (784-512-512-10, batch 256), derived from `ModelRegistry`'s `mlp`.
    public static var mlp: Workload { registered("mlp")! }

    /// The small Fashion-MNIST CNN trained here (`Models.smallConvolutional`: 3×3 convolutions unfolded,
    /// conv1 9 → 32 at 28·28 positions, conv2 288 → 64 at 14·14, then 3136 → 128 → 10), batch 256, derived
    /// from `ModelRegistry`'s `cnn`. ReLU and max-pooling FLOPs are negligible next to these and left out.
    public static var cnn: Workload { registered("cnn")! }

    /// ViT-S/16 on ImageNet as in AlgoPerf: 12 blocks, width 384, MLP 1536, 6 heads, 196 patches + 1
    /// class token, batch 1024; the patch embedding is a 16×16×3 → 384 convolution (768 inputs at
    /// 196 positions). Attention score and value products add `4·197²·384` FLOPs per block per example.
    public static let vitS16 = Workload(
        name: "vit-s16",
        summary: "ViT-S/16 ImageNet (AlgoPerf): 12 blocks, width 384, MLP 1536, 6 heads, 197 tokens, batch 1024",
        batch: 1024, outputDimension: 1000,
        extraForwardFLOPsPerExample: 12 * 4 * 197 * 197 * 384,
        layers: [
            WorkloadLayer("patch-embedding", inputs: 768, outputs: 384, positions: 196),
            WorkloadLayer("attention.qkv", inputs: 384, outputs: 1152, positions: 197, count: 12),
            WorkloadLayer("attention.out", inputs: 384, outputs: 384, positions: 197, count: 12),
            WorkloadLayer("mlp.fc1", inputs: 384, outputs: 1536, positions: 197, count: 12),
            WorkloadLayer("mlp.fc2", inputs: 1536, outputs: 384, positions: 197, count: 12),
            WorkloadLayer("head", inputs: 384, outputs: 1000),
        ])

    /// The AlgoPerf OGBG-molpcba graph network: latent 256, 5 message-passing steps, MLPs of
    /// Linear + LayerNorm, batch 512 graphs. Our assumptions (stated): ogbg-molpcba's mean graph has
    /// 26 nodes and 28 undirected = 56 directed edges; node features 9, edge features 3; the edge
    /// update sees [edge, sender, receiver, global] (4·256), the node update [node, sent, received,
    /// global] (4·256), the global update [nodes, edges, global] (3·256); a 256 → 128 decoder.
    public static let ogbgGNN = Workload(
        name: "ogbg-gnn",
        summary: "OGBG-molpcba GNN (AlgoPerf): latent 256, 5 steps, batch 512 graphs; assumed 26 nodes, 56 directed edges per graph",
        batch: 512, outputDimension: 128,
        layers: [
            WorkloadLayer("node-embedding", inputs: 9, outputs: 256, positions: 26),
            WorkloadLayer("edge-embedding", inputs: 3, outputs: 256, positions: 56),
            WorkloadLayer("edge-update", inputs: 1024, outputs: 256, positions: 56, count: 5),
            WorkloadLayer("node-update", inputs: 1024, outputs: 256, positions: 26, count: 5),
            WorkloadLayer("global-update", inputs: 768, outputs: 256, positions: 1, count: 5),
            WorkloadLayer("decoder", inputs: 256, outputs: 128),
        ])

    /// One transformer block of width `n` (Q,K,V n → 3n; output n → n; MLP n → 4n → n) over 512 tokens,
    /// batch 32 sequences: the width sweep of the papers' "advantage linear in n".
    public static func transformerBlock(width n: Int, tokens: Int = 512, batch: Int = 32) -> Workload {
        Workload(name: "transformer-\(n)",
                 summary: "one transformer block of width \(n), \(tokens) tokens, batch \(batch)",
                 batch: batch, outputDimension: n,
                 extraForwardFLOPsPerExample: 4 * Double(tokens) * Double(tokens) * Double(n),
                 layers: [
                    WorkloadLayer("attention.qkv", inputs: n, outputs: 3 * n, positions: tokens),
                    WorkloadLayer("attention.out", inputs: n, outputs: n, positions: tokens),
                    WorkloadLayer("mlp.fc1", inputs: n, outputs: 4 * n, positions: tokens),
                    WorkloadLayer("mlp.fc2", inputs: 4 * n, outputs: n, positions: tokens),
                 ])
    }
}
