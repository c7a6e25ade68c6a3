// NeuralNet: a tree of modules with explicit forward/backward passes, losses and the standard models.
//
// - `Module`: `forward(_:context:)` caches what `backward(_:options:)` needs; backward adds parameter
//   gradients (zeroed once per step with `zeroGradients()`) and can run again with a different output
//   gradient (the true-Fisher pass of K-FAC) without a new forward pass. `children` make a tree with
//   recursive, named traversal (`parametersWithPaths`, `namedModules`, `freeze`, `trainableParameters`).
// - `KroneckerFactored`: trainable layers that hand a curvature method their input activations `a` and
//   output gradients `g = ∂L/∂s` (docs/kfac.md#factors), captured only while `captureEnabled` is set.
//   `KroneckerBlock` groups the modules applying one weight (one capture per use) into one K-FAC block.
// - `Parameter`: a named tensor, its gradient and a trainable flag ("layers.0.weight"), shared by
//   optimisers and checkpoints.
// - Leaf modules: `Linear`, `Conv2d`, `ReLU`, `GELU`, `Tanh`, `MaxPool2d`, `AvgPool2d`, `Flatten`,
//   `LayerNorm`, `Embedding`, `Dropout`; containers `Sequential`, `Residual`, `Branches`; models in `Models`.
// - Losses: `SoftmaxCrossEntropy` (fused, stable, sampled labels for the true Fisher), `MeanSquaredError`.
//
// Layout: an activation is a `Matrix` whose rows are independent applications of the layer (examples,
// or examples × positions for layers with shared weights) and whose columns are features. Images are
// stored one example per row, channels last (NHWC: index `(y·W + x)·C + c`), so that a convolution is a
// single GEMM over all `batch · positions` patches.
