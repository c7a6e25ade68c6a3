// Training: the loop that turns a model, an optimiser and data into a trained model with a record.
//
// - `TrainingConfiguration`: every setting, validated, printed and saved with the run.
// - `TrainingStep`: one forward/loss/backward/update (shared with `bench train-step`).
// - `Trainer`: epochs, evaluation, progress line, metrics CSV, SVG curves, summary table, checkpoints.
// - `Checkpoint`, `SafetensorsFile`: weights + optimiser state + step + generator states, atomically.
