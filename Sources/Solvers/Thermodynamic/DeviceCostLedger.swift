import ThermoDevice

/// Device time and energy of TK-FAC, accumulated per optimiser step (docs/tkfac.md#device-time, docs/cost-model.md).
///
/// Every factor of every layer has its own device and layers run in parallel, so a step's **device time**
/// is the critical path: per layer, work on the `A` and `G` devices that can overlap (programming both,
/// Method 1's two inversions) counts once as the longer of the two, work that depends on the other factor's
/// answer (Method 2's `G` solve, then the `A` solve) adds up; across layers the slowest layer sets the step.
/// The **serial** time is everything on one device, one call after the other; energy always adds up.
///
/// A step is closed when a layer that was already preconditioned in the open step is touched again
/// (K-FAC refreshes and preconditions every layer once per step, in order).
struct DeviceCostLedger {
    /// Per layer, critical-path seconds within the open step.
    private var openStep: [String: Double] = [:]
    private var preconditioned: Set<String> = []
    /// Sum of the closed steps' critical paths.
    private(set) var parallelSeconds = 0.0
    /// Critical path of the last closed step.
    private(set) var lastStepSeconds = 0.0
    private(set) var closedSteps = 0
    /// Everything, term by term, as if on one device.
    private(set) var serial = DeviceCost()

    /// Marks the start of an operation on `layer`; closes the open step when `layer` was already
    /// preconditioned in it.
    mutating func begin(layer: String, precondition: Bool) {
        if preconditioned.contains(layer) { closeStep() }
        if precondition { preconditioned.insert(layer) }
    }

    /// Adds `cost` (already reduced to this layer's critical path by the caller) to the open step.
    mutating func add(layer: String, criticalPath seconds: Double, serial cost: DeviceCost) {
        openStep[layer, default: 0] += seconds
        serial = serial + cost
    }

    mutating func closeStep() {
        guard !openStep.isEmpty else { preconditioned.removeAll(); return }
        lastStepSeconds = openStep.values.max() ?? 0
        parallelSeconds += lastStepSeconds
        closedSteps += 1
        openStep.removeAll()
        preconditioned.removeAll()
    }

    init() {}

    /// A ledger continuing a checkpointed one: its totals, with no open step.
    init(restoring parallelSeconds: Double, closedSteps: Int, serial: DeviceCost) {
        self.parallelSeconds = parallelSeconds
        self.closedSteps = closedSteps
        self.serial = serial
    }

    /// Whether work has been added since the last closed step.
    var hasOpenStep: Bool { !openStep.isEmpty }

    /// Critical-path seconds including the open step.
    var totalParallelSeconds: Double { parallelSeconds + (openStep.values.max() ?? 0) }
}
