import ArgumentParser
import Optimizers

extension KFACWorkPlacement: ExpressibleByArgument {}

/// Options of a multi-process run, `mpirun -np N thermograd train --distributed …`
/// (docs/multi-process.md#running).
struct DistributedOptions: ParsableArguments {
    @Flag(help: "Run as one rank of an Open MPI job (mpirun -np N thermograd train --distributed …): each rank trains on its part of every global batch, gradients and K-FAC factors are summed over the ranks, rank 0 writes the run folder.")
    var distributed = false
    @Option(name: .customLong("kfac-broadcast"), help: "K-FAC/TK-FAC on several ranks: what a layer's owner rank broadcasts, inverses (after each refresh; every rank keeps all) or gradients (the preconditioned gradient, every step; each rank keeps its own layers) (default \(KFACWorkPlacement.inverses)).")
    var kfacBroadcast: KFACWorkPlacement?

    func validate() throws {
        if kfacBroadcast != nil && !distributed { throw ValidationError("--kfac-broadcast applies to --distributed runs only") }
    }

    /// What K-FAC's owners broadcast.
    var placement: KFACWorkPlacement { kfacBroadcast ?? .inverses }
}
