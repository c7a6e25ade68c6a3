// Optimizers: parameter updates from gradients.
//
// - `Optimizer`: the one protocol every optimiser implements (update named parameters in place, count
//   steps, skip steps with NaN/Inf gradients, save and load state for checkpoints).
// - `FirstOrderOptimizer`: the base class of SGD, Adam and AdamW; a subclass states its per-parameter
//   state names and how to update one parameter (the mlx-swift Optimizers pattern). State is keyed by
//   the parameter's name (`"layers.0.weight"`), so second-order methods (K-FAC) can wrap any of them:
//   they overwrite `Parameter.gradient` with the preconditioned gradient and call `update`.
// - `LearningRateSchedule`: constant, cosine and linear decay, each with optional linear warm-up.
