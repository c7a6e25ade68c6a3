import Curvature
import Linalg
import NeuralNet

/// Checkpoint state of K-FAC: the wrapped optimiser's state (prefix `inner.`), the EMA factors
/// (`kfac.<layer>.activation_factor`, `kfac.<layer>.gradient_factor`), the solver's cached state
/// (prefix `solver.`), and as scalars the counters, the current damping `λ` and the label-sampling RNG —
/// everything a resumed run needs to produce the same numbers as an uninterrupted one.
extension KFAC {
    public func stateTensors() -> [String: Matrix<Scalar>] {
        var out = coreTensors
        for (layer, f) in factors {
            out["kfac.\(layer).activation_factor"] = f.activation
            out["kfac.\(layer).gradient_factor"] = f.gradient
        }
        for (k, v) in solver.exportState() { out["solver.\(k)"] = v }
        return out
    }

    public func stateScalars() -> [String: String] {
        var out = coreScalars
        out["damping"] = String(damping)
        out["rng"] = samplingState.map(String.init).joined(separator: ",")
        out["solver"] = solver.name
        out["needs_refresh"] = String(refreshPending)
        out["empirical_fallbacks"] = String(empiricalFallbacks)
        out["nonfinite_factor_updates"] = String(nonFiniteFactorUpdates)
        out["failed_refreshes"] = String(failedRefreshes)
        return out
    }

    public func loadState(tensors: [String: Matrix<Scalar>], scalars: [String: String],
                          parameters: [Parameter<Scalar>]) throws(OptimizerError) {
        guard scalars["step"].flatMap(Int.init) != nil, scalars["skipped_steps"].flatMap(Int.init) != nil,
              let lambda = scalars["damping"].flatMap(Double.init), let refresh = scalars["needs_refresh"].flatMap(Bool.init),
              let rngText = scalars["rng"] else {
            throw .stateMismatch("K-FAC step counters, damping or RNG state missing")
        }
        guard scalars["solver"] == solver.name else {
            throw .stateMismatch("K-FAC state was saved with solver \(scalars["solver"] ?? "?"), this run uses \(solver.name)")
        }
        let words = rngText.split(separator: ",").compactMap { UInt64($0) }
        var restoredFactors: [String: KroneckerFactors<Scalar>] = [:]
        for block in blocks {
            let name = block.name
            guard let a = tensors["kfac.\(name).activation_factor"], let g = tensors["kfac.\(name).gradient_factor"] else { continue }
            let inFeatures = block.weight.value.columns + (block.bias == nil ? 0 : 1)
            guard a.rows == inFeatures, g.rows == block.weight.value.rows else {
                throw .stateMismatch("K-FAC factors of \(name) are \(a.rows)² and \(g.rows)², the layer needs \(inFeatures)² and \(block.weight.value.rows)²")
            }
            restoredFactors[name] = KroneckerFactors(activation: a, gradient: g)
        }
        try loadCore(tensors: tensors, scalars: scalars, parameters: parameters)
        do { try solver.importState(PreconditionedCore<Scalar>.stripping("solver.", tensors)) } catch { throw .stateMismatch(error.description) }
        do { try restore(damping: lambda, rng: words, factors: restoredFactors, needsRefresh: refresh,
                         counters: (Int(scalars["empirical_fallbacks"] ?? "0") ?? 0,
                                    Int(scalars["nonfinite_factor_updates"] ?? "0") ?? 0,
                                    Int(scalars["failed_refreshes"] ?? "0") ?? 0)) }
        catch { throw .stateMismatch("K-FAC RNG state: \(error)") }
    }
}
