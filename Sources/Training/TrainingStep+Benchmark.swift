import Chemistry
import Linalg
import NeuralNet

extension TrainingStep {
    /// One training step on a fixed batch of `batch` examples shaped like what `input` models read, for
    /// `thermograd bench train-step`: images are standard-normal 784-pixel rows with random labels of 10
    /// classes (generator `(seed, stream 7)`); molecule graphs are `BatchedGraph.benchmark` with alternating
    /// 0/1 labels, trained with `BinaryClassification`. Call the returned closure once per step.
    public func benchmark(input: ModelBuilder.Input, batch: Int, seed: UInt64) -> () -> Void {
        switch input {
        case .images, .tokenSequences:   // token models build their own batches (bench train-step --model minilm-lora)
            var rng = Xoshiro256StarStar(seed: seed, stream: 7)
            let x: Matrix<Float> = rng.normalMatrix(rows: batch, columns: 784)
            let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
            return { _ = self.run(x, labels: labels) }
        case .moleculeGraphs:
            let graph = BatchedGraph.benchmark(graphs: batch, nodeCategories: MoleculeGraphs.nodeCategories,
                                               edgeCategories: MoleculeGraphs.edgeCategories)
            let molecules = MoleculeBatch(input: graph.encoded(), labels: (0..<batch).map { $0 % 2 })
            let task = BinaryClassification<MoleculeBatch>()
            return { _ = self.run(molecules, task: task) }
        }
    }
}
