import Communication
import Linalg
import NeuralNet
import Optimizers
import Solvers

extension ModelFactory {
    /// The optimiser `c` describes, built for `model`: first-order ones as `optimizer(_:totalSteps:)`;
    /// K-FAC and natural gradient wrap the first-order `c.curvatureInner` (same learning rate, schedule,
    /// momentum and weight decay) and take their settings from `c.kfac` / `c.naturalGradient`.
    /// With `distributed` (several ranks), K-FAC's and TK-FAC's factor solver is spread over the ranks
    /// (`DistributedFactorSolver`, docs/multi-process.md#k-fac-on-several-ranks).
    public static func optimizer(_ c: TrainingConfiguration, totalSteps: Int, model: Sequential<Float>,
                                 distributed: (communicator: any Communicator, placement: KFACWorkPlacement)? = nil)
        throws(OptimizerError) -> any Optimizer<Float> {
        guard c.optimizer.isCurvatureBased else { return try optimizer(c, totalSteps: totalSteps) }
        if c.optimizer.isThermodynamicNaturalGradient { return try thermodynamicNaturalGradient(c, totalSteps: totalSteps) }
        var innerConfiguration = c
        innerConfiguration.optimizer = c.curvatureInner
        let inner = try optimizer(innerConfiguration, totalSteps: totalSteps)
        do {
            switch c.optimizer {
            case .kfac:
                guard let distributed else { return try KFAC(model: model, inner: inner, configuration: c.kfac) }
                let local = c.kfac.solver.makeSolver(Float.self, retry: c.kfac.choleskyRetry)
                return try KFAC(model: model, inner: inner, configuration: c.kfac,
                                solver: spread(local, model: model, deviceSamples: nil, over: distributed))
            case .tkfac:
                let device = try c.thermodynamicKFAC.configuration()
                let local = try ThermodynamicFactorSolver<Float>(configuration: device, rawSources: model.kroneckerBlocks)
                let solver = distributed.map { spread(local, model: model, deviceSamples: { device.samples(order: $0) }, over: $0) } ?? local
                return try KFAC(model: model, inner: inner, configuration: c.kfac, solver: solver)
            default:
                if c.optimizer == .ngdExact {
                    // Refuse up front: the dense GGN of a large model cannot be allocated, and finding that out
                    // at the first step (or by swapping) is worse than a clear message now.
                    let outputs = model.kroneckerBlocks.last?.weight.value.rows ?? 1
                    try NaturalGradientDescent<Float>.checkDenseSize(.exact, parameters: model.parameterCount,
                                                                     jacobianRows: c.batchSize * outputs)
                }
                var ngd = c.naturalGradient
                ngd.method = c.optimizer == .ngdExact ? .exact : .conjugateGradient
                return try NaturalGradientDescent(inner: inner, configuration: ngd)
            }
        } catch {
            throw .invalidConfiguration(String(describing: error))
        }
    }

    /// `local` spread over the ranks, layers assigned by cost: `n_A³ + n_G³` for a digital solver (the two
    /// inversions), `N(n_A) n_A² + N(n_G) n_G²` for devices (`N(n)` readouts per factor of order `n`) (the simulated sampling of the two factors).
    static func spread(_ local: any FactorSolver<Float>, model: Sequential<Float>, deviceSamples: ((Int) -> Int)?,
                       over d: (communicator: any Communicator, placement: KFACWorkPlacement)) -> any FactorSolver<Float> {
        let costs = model.kroneckerBlocks.map { b -> (name: String, cost: Double) in
            let (na, ng) = (Double(b.weight.value.columns + (b.bias == nil ? 0 : 1)), Double(b.weight.value.rows))
            let (ia, ig) = (Int(na), Int(ng))
            return (b.name, deviceSamples.map { Double($0(ia)) * na * na + Double($0(ig)) * ng * ng } ?? (na * na * na + ng * ng * ng))
        }
        return DistributedFactorSolver(local: local, communicator: d.communicator, placement: d.placement, layerCosts: costs)
    }
}
