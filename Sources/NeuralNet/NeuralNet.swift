// NeuralNet: layers with explicit forward/backward passes, losses and the standard models.
//
// - `Layer`: `forward(_:mode:)` caches what `backward(_:options:)` needs; backward can run again with a
//   different output gradient (the true-Fisher pass of K-FAC) without a new forward pass.
// - `KroneckerFactored`: trainable layers that hand a curvature method their input activations `a` and
//   output gradients `g = ∂L/∂s` (REFERENCE.md §2), captured only while `captureEnabled` is set.
// - `Parameter`: a named tensor and its gradient ("layers.0.weight"), shared by optimisers and checkpoints.
// - Layers: `Linear`, `Conv2d`, `ReLU`, `GELU`, `Tanh`, `MaxPool2d`, `AvgPool2d`, `Flatten`, `LayerNorm`,
//   `Embedding`, `Dropout`; the container `Sequential`; models in `Models`.
// - Losses: `SoftmaxCrossEntropy` (fused, stable, sampled labels for the true Fisher), `MeanSquaredError`.
//
// Layout: an activation is a `Matrix` whose rows are independent applications of the layer (examples,
// or examples × positions for layers with shared weights) and whose columns are features. Images are
// stored one example per row, channels last (NHWC: index `(y·W + x)·C + c`), so that a convolution is a
// single GEMM over all `batch · positions` patches.
