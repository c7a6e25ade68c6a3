import Linalg

/// The standard models of the Fashion-MNIST experiments (inputs: 28×28 grey images, 784 features).
public enum Models {
    /// A multilayer perceptron `sizes[0] → … → sizes.last` with ReLU between the `Linear` layers
    /// (none after the last): the default `[784, 512, 512, 10]` is the demo model.
    public static func multilayerPerceptron<S: NeuralScalar>(_ sizes: [Int] = [784, 512, 512, 10],
                                                             rng: inout Xoshiro256StarStar) -> Sequential<S> {
        precondition(sizes.count >= 2, "an MLP needs at least input and output sizes")
        var layers: [any Module<S>] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear<S>(sizes[i], sizes[i + 1], rng: &rng))
            if i + 2 < sizes.count { layers.append(ReLU<S>()) }
        }
        return Sequential(inputFeatures: sizes[0], layers)
    }

    /// A small convolutional network for `image` inputs (default 28×28×1):
    /// Conv(3×3, 32, pad 1) → ReLU → MaxPool 2 → Conv(3×3, 64, pad 1) → ReLU → MaxPool 2 → Flatten
    /// → Linear(→ 128) → ReLU → Linear(→ classes). About 420k parameters for Fashion-MNIST.
    public static func smallConvolutional<S: NeuralScalar>(image: ImageShape = ImageShape(height: 28, width: 28, channels: 1),
                                                           classes: Int = 10, channels: (Int, Int) = (32, 64),
                                                           hidden: Int = 128,
                                                           rng: inout Xoshiro256StarStar) -> Sequential<S> {
        let conv1 = Conv2d<S>(input: image, outChannels: channels.0, kernelSize: 3, padding: 1, rng: &rng)
        let pool1 = MaxPool2d<S>(input: conv1.outputShape, kernelSize: 2)
        let conv2 = Conv2d<S>(input: pool1.outputShape, outChannels: channels.1, kernelSize: 3, padding: 1, rng: &rng)
        let pool2 = MaxPool2d<S>(input: conv2.outputShape, kernelSize: 2)
        return Sequential(inputFeatures: image.features, [
            conv1, ReLU<S>(), pool1, conv2, ReLU<S>(), pool2, Flatten<S>(),
            Linear<S>(pool2.outputShape.features, hidden, rng: &rng), ReLU<S>(), Linear<S>(hidden, classes, rng: &rng),
        ])
    }

    /// A tiny convolutional network whose K-FAC factors all fit a simulated thermodynamic device:
    /// Conv(5×5, 8, pad 2) → ReLU → MaxPool 2 → Conv(3×3, 16, pad 1) → ReLU → MaxPool 2 → Flatten
    /// → Linear(→ classes). For 28×28×1 inputs the factors are A 26², G 8²; A 73², G 16²; A 785², G 10²
    /// (8,954 parameters).
    public static func tinyConvolutional<S: NeuralScalar>(image: ImageShape = ImageShape(height: 28, width: 28, channels: 1),
                                                          classes: Int = 10, rng: inout Xoshiro256StarStar) -> Sequential<S> {
        let conv1 = Conv2d<S>(input: image, outChannels: 8, kernelSize: 5, padding: 2, rng: &rng)
        let pool1 = MaxPool2d<S>(input: conv1.outputShape, kernelSize: 2)
        let conv2 = Conv2d<S>(input: pool1.outputShape, outChannels: 16, kernelSize: 3, padding: 1, rng: &rng)
        let pool2 = MaxPool2d<S>(input: conv2.outputShape, kernelSize: 2)
        return Sequential(inputFeatures: image.features, [
            conv1, ReLU<S>(), pool1, conv2, ReLU<S>(), pool2, Flatten<S>(),
            Linear<S>(pool2.outputShape.features, classes, rng: &rng),
        ])
    }
}
