import Optimizers
import Reporting
import Solvers
import ThermoDevice

/// `thermograd experiment quantization` (docs/tkfac.md#quantisation, the TK-FAC paper's quantisation study): digital
/// K-FAC against TK-FAC with a `b`-bit DAC on the inputs (conservative PSD-preserving or plain rounding,
/// ideal ADC) and with a `b`-bit ADC on the outputs (ideal DAC), and Adam, on Fashion-MNIST.
///
/// Every arm shares `comparison` (model, batch, learning rates, K-FAC settings); TK-FAC arms differ from
/// digital K-FAC only in the factor solver. Plots: one SVG per bit width (inputs and outputs separately)
/// with Adam, K-FAC and the TK-FAC arms at that width. Table: final test accuracy ± standard deviation over
/// seeds, device time per step, device errors (plain rounding can make a factor indefinite: the refresh
/// fails and K-FAC keeps the previous inverses, or the raw gradient before the first success).
public struct QuantizationExperiment: Sendable, CustomStringConvertible {
    public var comparison = KFACComparisonSettings()
    /// TK-FAC settings other than the converters (method, samples, β, …).
    public var device = ThermodynamicKFACOptions()
    public var inputBits: [Int] = [4, 8]
    public var outputBits: [Int] = [4, 8]
    public var schemes: [QuantizationScheme] = [.conservative, .plainRounding]

    public init() {}

    /// The paper's full sweep: 4, 6, 8, 12, 16 bits for inputs and outputs, both schemes.
    public static let fullBits = [4, 6, 8, 12, 16]

    public func validate() throws(ExperimentError) {
        try comparison.validate()
        for b in inputBits + outputBits where !(1...24).contains(b) {
            throw .invalidSetting(name: "bits", value: "\(b)", requirement: "converter resolution 1…24 bits")
        }
        guard !schemes.isEmpty || inputBits.isEmpty else {
            throw .invalidSetting(name: "schemes", value: "[]", requirement: "at least one quantisation scheme for the input sweep")
        }
        do { _ = try device.configuration() } catch { throw .invalidSetting(name: "tkfac", value: "\(device)", requirement: error.description) }
    }

    /// Adam, digital K-FAC, and one TK-FAC arm per (input bits × scheme) and per output bits.
    public func arms() throws(ExperimentError) -> [ExperimentArm] {
        try validate()
        let inputGroups = inputBits.map { "input \($0) bits" }, outputGroups = outputBits.map { "output \($0) bits" }
        var arms = comparison.baselines(groups: inputGroups + outputGroups)
        do {
            for b in inputBits {
                for scheme in schemes {
                    var o = device
                    o.inputBits = b
                    o.quantization = scheme.rawValue
                    o.outputBits = nil
                    arms.append(try .thermodynamicKFAC(name: "TK-FAC in \(b)b \([QuantizationScheme.conservative: "cons.", .spectralShift: "spectral"][scheme] ?? "plain")",
                                                       groups: ["input \(b) bits"], training: comparison.kfacTraining,
                                                       kfac: comparison.kfac, options: o, measureUpdateError: true))
                }
            }
            for b in outputBits {
                var o = device
                o.inputBits = nil
                o.outputBits = b
                arms.append(try .thermodynamicKFAC(name: "TK-FAC out \(b)b", groups: ["output \(b) bits"],
                                                   training: comparison.kfacTraining, kfac: comparison.kfac, options: o,
                                                   measureUpdateError: true))
            }
        } catch { throw .invalidSetting(name: "tkfac", value: "\(device)", requirement: error.description) }
        return arms
    }

    /// Table columns beyond accuracy and loss: device time per step (critical path), the update's relative
    /// error against digital K-FAC at the last evaluation, the coupling DAC's zeroed off-diagonal fraction and
    /// conservative diagonal shift (relative to the mean diagonal), device errors and failed refreshes.
    public static var tableColumns: [ExperimentColumn] { [
        ("device s/step", 4, { r in r.metrics["solver_device_seconds"].map { $0 / Double(max(r.step, 1)) } }),
        ("‖ΔU‖/‖U‖", 3, { $0.metrics["solver_update_relative_error"] }),
        ("DAC zeroed", 3, { $0.metrics["solver_device_dac_zeroed_fraction"] }),
        ("DAC diag shift", 3, { $0.metrics["solver_device_dac_diagonal_shift"] }),
        ("device errors", 0, { $0.metrics["solver_device_errors"] }),
        ("failed refreshes", 0, { $0.metrics["kfac_failed_refreshes"] }),
    ] }

    public var description: String {
        "quantisation sweep: input bits \(inputBits) (\(schemes.map(\.rawValue).joined(separator: ", "))), output bits \(outputBits); "
            + "\(comparison); TK-FAC base \(device)"
    }
}
