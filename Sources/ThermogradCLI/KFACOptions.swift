import ArgumentParser
import Curvature
import Optimizers
import Solvers
import Training

extension FisherType: ExpressibleByArgument {}
extension FactorSolverKind: ExpressibleByArgument {}
extension WeightSharingApproximation: ExpressibleByArgument {}

/// Options of the curvature-based optimisers (`--optimizer kfac|ngd-cg|ngd-exact`), shared by
/// `thermograd train` and `thermograd bench train-step`. Every option is optional: a setting the user did
/// not pass keeps the default of `KFACConfiguration` / `NaturalGradientConfiguration`, its one home (shown
/// in `--help`).
struct KFACOptions: ParsableArguments {
    private static let kfac = KFACConfiguration(), ngd = NaturalGradientConfiguration()

    @Option(help: defaulted("First-order optimiser that applies the K-FAC/NGD direction.", TrainingConfiguration().curvatureInner.rawValue))
    var inner: InnerOptimizerArgument?
    @Option(name: .customLong("kfac-fisher"), help: "K-FAC curvature: true (sampled labels), empirical, or ggn (exact, one backward per class) (default \(kfac.fisherType)).")
    var fisher: FisherType?
    @Option(name: .customLong("kfac-damping"), help: "K-FAC Tikhonov damping λ, initial value with --kfac-adaptive-damping (default \(kfac.damping)).")
    var damping: Double?
    @Flag(name: .customLong("kfac-no-pi"), help: "Damp both factors by √λ instead of the π-corrected split.")
    var noPiCorrection = false
    @Flag(name: .customLong("kfac-adaptive-damping"), help: "Levenberg–Marquardt adaptation of λ (one extra forward per adaptation).")
    var adaptiveDamping = false
    @Option(name: .customLong("kfac-damping-interval"), help: "Steps between LM adaptations (default \(AdaptiveDamping().interval)).")
    var dampingInterval: Int?
    @Option(name: .customLong("kfac-ema"), help: "EMA decay of the Kronecker factors (default \(kfac.factorDecay)).")
    var ema: Double?
    @Option(name: .customLong("kfac-cov-interval"), help: "T_cov: steps between factor updates (default \(kfac.factorUpdateInterval)).")
    var covarianceInterval: Int?
    @Option(name: .customLong("kfac-inv-interval"), help: "T_inv: steps between inversions, solver refreshes (default \(kfac.inverseUpdateInterval)).")
    var inverseInterval: Int?
    @Option(name: .customLong("kfac-kl-clip"), help: "KL-clipping constant c > 0, 0: off (default \(kfac.klClip.map { "\($0)" } ?? "0")).")
    var klClip: Double?

    /// A negative or non-finite `--kfac-kl-clip` is refused (only 0 means off).
    func validate() throws {
        if let klClip, !(klClip >= 0 && klClip.isFinite) {
            throw ValidationError("--kfac-kl-clip \(klClip) is invalid: use a positive constant such as 1e-3, or 0 to turn KL clipping off")
        }
    }
    @Option(name: .customLong("kfac-weight-decay"), help: "L2 weight decay added before preconditioning (default \(kfac.weightDecay)).")
    var weightDecay: Double?
    @Option(name: .customLong("kfac-solver"), help: "Factor solver: cholesky or eigen (default \(kfac.solver)).")
    var solver: FactorSolverKind?
    @Option(name: .customLong("kfac-approximation"), help: "Weight-sharing approximation: expand or reduce (default \(kfac.approximation)).")
    var approximation: WeightSharingApproximation?
    @Option(name: .customLong("ngd-damping"), help: "NGD damping λ in (F + λI) (default \(ngd.damping)).")
    var ngdDamping: Double?
    @Option(name: .customLong("ngd-cg-iterations"), help: "NGD-CG: maximum CG iterations per step (default \(ngd.cgMaxIterations)).")
    var cgIterations: Int?
    @Option(name: .customLong("ngd-cg-tolerance"), help: "NGD-CG: relative residual at which CG stops (default \(ngd.cgTolerance)).")
    var cgTolerance: Double?

    /// Writes the passed settings over the configurations' defaults into `c` (validated later with the rest).
    func apply(to c: inout TrainingConfiguration) {
        if let inner { c.curvatureInner = inner.kind }
        var k = KFACConfiguration()
        if let fisher { k.fisherType = fisher }
        if let damping { k.damping = damping }
        k.piCorrection = !noPiCorrection
        if adaptiveDamping { k.adaptiveDamping = dampingInterval.map { AdaptiveDamping(interval: $0) } ?? AdaptiveDamping() }
        if let ema { k.factorDecay = ema }
        if let covarianceInterval { k.factorUpdateInterval = covarianceInterval }
        if let inverseInterval { k.inverseUpdateInterval = inverseInterval }
        if let klClip { k.klClip = klClip > 0 ? klClip : nil }
        if let weightDecay { k.weightDecay = weightDecay }
        if let solver { k.solver = solver }
        if let approximation { k.approximation = approximation }
        k.seed = c.seed
        c.kfac = k
        var n = NaturalGradientConfiguration()
        if let ngdDamping { n.damping = ngdDamping }
        if let cgIterations { n.cgMaxIterations = cgIterations }
        if let cgTolerance { n.cgTolerance = cgTolerance }
        c.naturalGradient = n
    }
}
