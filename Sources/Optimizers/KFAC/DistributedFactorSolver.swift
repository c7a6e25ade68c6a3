import Communication
import Curvature
import Linalg
import Solvers

/// What K-FAC's ranks exchange about a layer's solver work, trading memory for communication as
/// KAISA's gradient-worker fraction does (docs/multi-process.md#k-fac-on-several-ranks).
public enum KFACWorkPlacement: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// After a refresh the owner broadcasts the layer's solver state (inverses, eigenbases, device
    /// state); every rank keeps every layer's and preconditions all gradients itself. Traffic every `T_inv`
    /// steps: `n_A² + n_G²` values per layer.
    case inverses
    /// Only the owner keeps a layer's state; it preconditions the layer's gradient every step and
    /// broadcasts `U`. Traffic every step: `n_G · n_A` values per layer; memory: own layers only.
    case gradients

    public var description: String { rawValue }
}

/// A `FactorSolver` spread over the ranks of a data-parallel K-FAC (KAISA-style): every layer has one
/// owner rank (`WorkAssignment.balanced` over the layers' costs), which alone runs the layer's
/// `refresh` — the inversions or, for TK-FAC, the simulated device runs, on devices seeded by the layer
/// name as in one process — and the results reach the other ranks as `placement` says.
///
/// Every rank must call `refresh`, `precondition`, `exportState` for the same layers in the same order
/// (K-FAC does: its factors and gradients are identical on every rank). A failure on the owner is
/// reported to every rank (`KFACError.otherRank`, or `.layerNotRefreshed` when that was the owner's
/// error), so K-FAC's counters and fallbacks stay identical; a failed collective ends the job.
/// `metrics` are this rank's (its own layers' refreshes and device time).
public final class DistributedFactorSolver<Scalar: BLASScalar & CommunicableScalar>: FactorSolver {
    /// The solver that does this rank's work.
    public let local: any FactorSolver<Scalar>
    public let communicator: any Communicator
    public let placement: KFACWorkPlacement
    /// Layer name → owner rank.
    public let owners: [String: Int]
    /// Layers whose state arrived by broadcast and is not yet in `local` (imported at the next use, once
    /// for all layers of a refresh round).
    private var pending: [String: [String: Matrix<Scalar>]] = [:]

    /// Spreads `layerCosts` (name, cost) over the communicator's ranks.
    public init(local: any FactorSolver<Scalar>, communicator: any Communicator, placement: KFACWorkPlacement,
                layerCosts: [(name: String, cost: Double)]) {
        self.local = local
        self.communicator = communicator
        self.placement = placement
        self.owners = WorkAssignment.balanced(layerCosts, ranks: communicator.size)
    }

    /// The local solver's name: a checkpoint's solver is the same with or without ranks.
    public var name: String { local.name }
    public var metrics: FactorSolverMetrics { local.metrics }

    private func owner(_ layer: String) -> Int { owners[layer] ?? 0 }
    private var rank: Int { communicator.rank }

    /// `local`'s state of one layer (its tensors are named `"<layer>.…"`).
    private func state(of layer: String) -> [String: Matrix<Scalar>] {
        local.exportState().filter { $0.key.hasPrefix(layer + ".") }
    }

    /// Broadcasts the owner's `payload`; a failure on the owner becomes the owner's error there and
    /// `otherRank` (or `layerNotRefreshed`) elsewhere. Communication failures end the job.
    private func share(_ layer: String, _ payload: Result<[String: Matrix<Scalar>], KFACError>?) throws(KFACError) -> [String: Matrix<Scalar>] {
        let root = owner(layer)
        let wire: Result<[String: Matrix<Scalar>], TensorBroadcastFailure>? = payload.map {
            $0.mapError { e in
                if case .layerNotRefreshed = e { return TensorBroadcastFailure("not refreshed") }
                return TensorBroadcastFailure(e.description)
            }
        }
        do { return try communicator.broadcastTensors(wire, root: root) } catch {
            if case let .remoteFailure(_, reason) = error {
                if case let .failure(own)? = payload { throw own }
                if reason == "not refreshed" { throw .layerNotRefreshed(layer: layer, solver: "\(name) on rank \(root)") }
                throw .otherRank(rank: root, layer: layer, reason: reason)
            }
            communicator.abort(message: "rank \(rank) of \(communicator.size): K-FAC \(layer): \(error)", code: 1)
        }
    }

    private func attempt<R>(_ body: () throws(KFACError) -> R) -> Result<R, KFACError> {
        do { return .success(try body()) } catch { return .failure(error) }
    }

    /// Imports the layers received since the last use into `local`, in one `importState`.
    private func importPending() throws(KFACError) {
        guard !pending.isEmpty else { return }
        var all = local.exportState()
        for (layer, tensors) in pending {
            all = all.filter { !$0.key.hasPrefix(layer + ".") }
            all.merge(tensors) { _, new in new }
        }
        pending = [:]
        try local.importState(all)
    }

    public func refresh(layer: String, factors: KroneckerFactors<Scalar>, damping: FactorDamping<Scalar>) throws(KFACError) {
        let mine = owner(layer) == rank
        switch placement {
        case .inverses:
            let payload = mine ? attempt { () throws(KFACError) in
                try local.refresh(layer: layer, factors: factors, damping: damping)
                return state(of: layer)
            } : nil
            let received = try share(layer, payload)
            if !mine { pending[layer] = received }
        case .gradients:
            let payload = mine ? attempt { () throws(KFACError) -> [String: Matrix<Scalar>] in
                try local.refresh(layer: layer, factors: factors, damping: damping)
                return [:]
            } : nil
            _ = try share(layer, payload)
        }
    }

    public func precondition(layer: String, gradient: Matrix<Scalar>) throws(KFACError) -> Matrix<Scalar> {
        switch placement {
        case .inverses:
            try importPending()
            return try local.precondition(layer: layer, gradient: gradient)
        case .gradients:
            let mine = owner(layer) == rank
            let payload = mine ? attempt { () throws(KFACError) in ["u": try local.precondition(layer: layer, gradient: gradient)] } : nil
            guard let u = try share(layer, payload)["u"], u.rows == gradient.rows, u.columns == gradient.columns else {
                throw .shapeMismatch(layer: layer, detail: "rank \(owner(layer)) sent no \(gradient.rows)×\(gradient.columns) direction")
            }
            return u
        }
    }

    /// Every layer's state. With `gradients` placement the owners broadcast their layers' state first
    /// (a collective: every rank must call this at the same step, as the trainer's checkpoints do).
    public func exportState() -> [String: Matrix<Scalar>] {
        switch placement {
        case .inverses:
            do { try importPending() } catch {
                communicator.abort(message: "rank \(rank) of \(communicator.size): importing K-FAC solver state: \(error)", code: 1)
            }
            return local.exportState()
        case .gradients:
            var all = local.exportState().filter { key, _ in !owners.keys.contains { key.hasPrefix($0 + ".") } }
            for layer in owners.keys.sorted() {
                let payload: Result<[String: Matrix<Scalar>], KFACError>? = owner(layer) == rank ? .success(state(of: layer)) : nil
                do { all.merge(try share(layer, payload)) { _, new in new } } catch {
                    communicator.abort(message: "rank \(rank) of \(communicator.size): gathering K-FAC state of \(layer): \(error)", code: 1)
                }
            }
            return all
        }
    }

    /// Every rank reads the same checkpoint and imports all of it.
    public func importState(_ state: [String: Matrix<Scalar>]) throws(KFACError) {
        pending = [:]
        try local.importState(state)
    }
}
