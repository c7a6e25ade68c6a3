import Datasets
import Linalg

/// Three Gaussian clusters in 16 dimensions: a small, learnable, fixed problem. The cluster centres are
/// fixed (one RNG stream for every call); `seed` only draws the examples, so `clusters(count:seed: 1)` and
/// `clusters(count:seed: 2)` are a training set and a held-out test set of the *same* problem. (The centres
/// used to be drawn from `seed` as well, which made different seeds different problems — test accuracy
/// below chance for every optimiser — and equal seeds a test set copied from the training set.)
public func clusters(count: Int, seed: UInt64) -> LabeledImages {
    var rng = Xoshiro256StarStar(seed: seed, stream: 0x636C_7573)
    let centers = clusterCenters
    var x = Matrix<Float>(rows: count, columns: 16)
    var labels: [Int] = []
    for i in 0..<count {
        let c = rng.nextInt(below: 3)
        labels.append(c)
        for j in 0..<16 { x[i, j] = centers[c, j] + Float(rng.nextNormal()) }
    }
    return LabeledImages(images: x, labels: labels, height: 4, width: 4, channels: 1, classNames: ["a", "b", "c"])
}

/// The three centres of `clusters` (`3 × 16`, N(0, 1.5²) entries, fixed seed).
public let clusterCenters: Matrix<Float> = {
    var rng = Xoshiro256StarStar(seed: 0x5EED_C1A5)
    var centers = Matrix<Float>(rows: 3, columns: 16)
    centers.withUnsafeMutableBufferPointer { rng.fillNormal($0, std: 1.5) }
    return centers
}()
