import ArgumentParser
import Curvature
import Optimizers
import Solvers
import Training

extension FisherType: ExpressibleByArgument {}
extension FactorSolverKind: ExpressibleByArgument {}
extension WeightSharingApproximation: ExpressibleByArgument {}

/// Options of the curvature-based optimisers (`--optimizer kfac|ngd-cg|ngd-exact`), shared by
/// `thermograd train` and `thermograd bench train-step`. Defaults are `KFACConfiguration`'s and
/// `NaturalGradientConfiguration`'s (Martens & Grosse 2015; kfac-pytorch; the TNGD paper's λ = 0.01).
struct KFACOptions: ParsableArguments {
    @Option(help: "First-order optimiser that applies the K-FAC/NGD direction.")
    var inner: InnerOptimizerArgument = .sgd
    @Option(name: .customLong("kfac-fisher"), help: "K-FAC curvature: true (sampled labels), empirical, or ggn (exact, one backward per class).")
    var fisher: FisherType = .trueFisher
    @Option(name: .customLong("kfac-damping"), help: "K-FAC Tikhonov damping λ (initial value with --kfac-adaptive-damping).")
    var damping: Double = 1e-3
    @Flag(name: .customLong("kfac-no-pi"), help: "Damp both factors by √λ instead of the π-corrected split.")
    var noPiCorrection = false
    @Flag(name: .customLong("kfac-adaptive-damping"), help: "Levenberg–Marquardt adaptation of λ (one extra forward per adaptation).")
    var adaptiveDamping = false
    @Option(name: .customLong("kfac-damping-interval"), help: "Steps between LM adaptations.")
    var dampingInterval: Int = 5
    @Option(name: .customLong("kfac-ema"), help: "EMA decay of the Kronecker factors.")
    var ema: Double = 0.95
    @Option(name: .customLong("kfac-cov-interval"), help: "T_cov: steps between factor updates.")
    var covarianceInterval: Int = 1
    @Option(name: .customLong("kfac-inv-interval"), help: "T_inv: steps between inversions (solver refreshes).")
    var inverseInterval: Int = 10
    @Option(name: .customLong("kfac-kl-clip"), help: "KL-clipping constant c (0: off).")
    var klClip: Double = 1e-3
    @Option(name: .customLong("kfac-weight-decay"), help: "L2 weight decay added before preconditioning.")
    var weightDecay: Double = 0
    @Option(name: .customLong("kfac-solver"), help: "Factor solver: cholesky or eigen.")
    var solver: FactorSolverKind = .cholesky
    @Option(name: .customLong("kfac-approximation"), help: "Weight-sharing approximation: expand or reduce.")
    var approximation: WeightSharingApproximation = .expand
    @Option(name: .customLong("ngd-damping"), help: "NGD damping λ in (F + λI).")
    var ngdDamping: Double = 1e-2
    @Option(name: .customLong("ngd-cg-iterations"), help: "NGD-CG: maximum CG iterations per step.")
    var cgIterations: Int = 50
    @Option(name: .customLong("ngd-cg-tolerance"), help: "NGD-CG: relative residual at which CG stops.")
    var cgTolerance: Double = 1e-6

    /// Writes these settings into `c` (validated later with the rest of the configuration).
    func apply(to c: inout TrainingConfiguration) {
        c.curvatureInner = inner.kind
        var k = KFACConfiguration()
        k.fisherType = fisher
        k.damping = damping
        k.piCorrection = !noPiCorrection
        k.adaptiveDamping = adaptiveDamping ? AdaptiveDamping(interval: dampingInterval) : nil
        k.factorDecay = ema
        k.factorUpdateInterval = covarianceInterval
        k.inverseUpdateInterval = inverseInterval
        k.klClip = klClip > 0 ? klClip : nil
        k.weightDecay = weightDecay
        k.solver = solver
        k.approximation = approximation
        k.seed = c.seed
        c.kfac = k
        var n = NaturalGradientConfiguration()
        n.damping = ngdDamping
        n.cgMaxIterations = cgIterations
        n.cgTolerance = cgTolerance
        c.naturalGradient = n
    }
}
