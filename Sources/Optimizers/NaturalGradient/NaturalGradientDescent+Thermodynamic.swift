import Curvature
import Solvers

extension NaturalGradientDescent {
    /// Thermodynamic natural gradient descent (TNGD, docs/tngd.md#digital-baselines): natural-gradient descent whose linear
    /// solver is the simulated device (`ThermodynamicLinearSolver`), which turns `∇ℓ` into
    /// `g̃ ≈ (F + λI)⁻¹∇ℓ` for the first-order optimiser `inner`:
    /// - `tngd`: plain SGD, `θ ← θ − η g̃` (optionally with momentum);
    /// - `tngd-adam`: Adam on `g̃` (the paper: β₁ = β₂ = 0).
    ///
    /// `t = 0` with `InitialState.gradient` passes `∇ℓ` through unchanged, so the step is exactly the inner
    /// optimiser's (bit for bit); `t → ∞` approaches natural-gradient descent on the damped GGN. `λ` and the
    /// loss normalisation come from `configuration`; metric columns are `tngd_…`.
    public static func thermodynamic(inner: any Optimizer<Scalar>,
                                     configuration: ThermodynamicNaturalGradientConfiguration) -> NaturalGradientDescent {
        NaturalGradientDescent(inner: inner, solver: ThermodynamicLinearSolver<Scalar>(configuration: configuration),
                               damping: configuration.damping, lossNormalization: configuration.lossNormalization,
                               label: "TNGD", settings: configuration.description)
    }

    /// The device solver when this is TNGD (its last readout, device cost, carried state), else nil.
    public var thermodynamicSolver: ThermodynamicLinearSolver<Scalar>? { solver as? ThermodynamicLinearSolver<Scalar> }
}
