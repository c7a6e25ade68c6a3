// Thermograd: one import for the whole library.
//
//     import Thermograd
//
// re-exports every public module, in pipeline order: dense linear algebra (Linalg), models with explicit
// forward/backward (NeuralNet), curvature — Kronecker factors, GGN products (Curvature), solvers — digital
// and on the simulated thermodynamic device (Solvers, ThermoDevice), optimisers from SGD to K-FAC, TK-FAC,
// NGD and TNGD (Optimizers), data (Datasets), BERT's WordPiece tokenizer (Text), the training loop, run folders and
// checkpoints (Training), reports (Reporting), the hardware cost model (Predictions) and the papers'
// experiments (Experiments). The documentation catalogue beside this file has a getting-started article.
@_exported import Communication
@_exported import Curvature
@_exported import Datasets
@_exported import Experiments
@_exported import Linalg
@_exported import NeuralNet
@_exported import Optimizers
@_exported import Predictions
@_exported import Reporting
@_exported import Solvers
@_exported import Text
@_exported import ThermoDevice
@_exported import Training
