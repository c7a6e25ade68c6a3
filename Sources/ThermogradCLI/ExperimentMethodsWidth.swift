import ArgumentParser
import Experiments
import Foundation

/// `thermograd experiment methods-width`: TK-FAC Method 1 vs Method 2 over layer widths at equal device time and
/// equal energy (one simulated K-FAC cycle per width and budget; no training).
struct ExperimentMethodsWidth: ExperimentCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods-width",
        abstract: "TK-FAC Method 1 vs Method 2 over layer widths at equal device time and equal energy.",
        discussion: """
        For each --widths n: one square layer (synthetic activation-like and gradient factors, damped), one refresh \
        and --inverse-interval preconditioned gradients on the simulated devices, at each Method 1 --target-errors \
        and each Method 2 --analog-times (relaxation times per right-hand side). The update error is measured \
        against digital K-FAC on the same factors; device time and energy per step come from the simulator's \
        cost accounting (the cost model). Writes methods-width.csv, methods-width.svg (error against device time \
        and against energy, log-log) and methods-width-table.txt (both methods' errors interpolated at equal \
        device time and at equal energy, per width). See docs/tkfac.md, "Method 1 or Method 2".
        """
    )

    /// The experiment's defaults, the only place they are declared.
    private static let d = MethodsWidthExperiment()

    @Option(parsing: .upToNextOption, help: "Layer widths n (A and G are n × n).")
    var widths: [Int] = d.widths
    @Option(name: .customLong("target-errors"), parsing: .upToNextOption, help: "Method 1 target relative errors of each inverse.")
    var targetErrors: [Double] = d.targetErrors
    @Option(name: .customLong("analog-times"), parsing: .upToNextOption, help: "Method 2 analog times per right-hand side (relaxation times).")
    var analogTimes: [Double] = d.analogTimes
    @Option(name: .customLong("inverse-interval"), help: "Steps between refreshes (T_inv).")
    var inverseInterval: Int = d.inverseInterval
    @Option(help: "Damping as a fraction of each factor's mean diagonal.")
    var damping: Double = d.damping
    @OptionGroup(title: "TK-FAC device (method and budget are set per point)") var device: DeviceOptions<TKFACDevice>
    @Option(help: "Seed of the synthetic layers.")
    var seed: UInt64 = d.seed
    @Option(help: "Output folder.")
    var out: String = "runs/experiment-methods-width"

    func makeExperiment() throws -> MethodsWidthExperiment {
        var e = MethodsWidthExperiment()
        e.widths = widths
        e.targetErrors = targetErrors
        e.analogTimes = analogTimes
        e.inverseInterval = inverseInterval
        e.damping = damping
        e.seed = seed
        var o = e.device
        try device.apply(to: &o.device, target: .tkfac(e.device))
        e.device = o
        return e
    }

    func run() throws {
        let e = try experiment()
        print("thermograd experiment methods-width\n\(e)\n")
        let clock = ContinuousClock(), start = clock.now
        let points = try e.run { p in
            print(String(format: "  n %5d  M%d  budget %-5g  device %.3g s/step  energy %.3g J/step  error %.3f  (%.1f s)",
                         p.width, p.method, p.budget, p.deviceSecondsPerStep, p.energyJoulesPerStep, p.updateError, p.wallSeconds))
        }
        let wall = clock.now - start
        let settings = "β \(e.device.beta), T_inv \(e.inverseInterval), damping \(e.damping)·mean diag, seed \(e.seed)"
        let table = try e.write(points, to: out, settings: settings)
        print("\n" + table + "\nwall \(wall.components.seconds) s\nwrote \(out)/methods-width.csv, methods-width.svg, methods-width-table.txt")
    }
}
