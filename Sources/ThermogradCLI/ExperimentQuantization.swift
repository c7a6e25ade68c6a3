import ArgumentParser
import Experiments
import ThermoDevice

/// `thermograd experiment quantization`: digital K-FAC vs TK-FAC with quantised inputs (DAC, conservative or
/// plain) and outputs (ADC), vs Adam, on Fashion-MNIST.
struct ExperimentQuantization: TKFACArmsCommand {
    typealias Definition = QuantizationExperiment
    static let configuration = CommandConfiguration(
        commandName: "quantization",
        abstract: "TK-FAC under input (DAC) and output (ADC) quantisation against digital K-FAC and Adam.",
        discussion: """
        Arms: Adam, digital K-FAC (Cholesky), and TK-FAC (Method 1 by default) at each --dac-bits-sweep for each \
        --schemes (ideal ADC) and at each --adc-bits-sweep (ideal DAC). Writes quantization.csv (every arm, seed \
        and evaluation with device time, update error against digital K-FAC, device errors), \
        quantization.svg and one SVG per bit width (test accuracy and loss against step), and \
        quantization-table.txt (final test accuracy ± standard deviation over seeds).

        The coupling DAC is auto-ranged per matrix by default (full scale = the factor's absmax); \
        --dac-range 1 restores the fixed ±1 range, which rounds most couplings of a 785-wide factor to zero \
        at 8 bits. The table shows the fraction of zeroed couplings and the conservative diagonal shift.

        The default is a reduced, affordable run (1 seed, 300 steps, bits 4 and 8). The full sweep of the \
        issue (3 seeds, 4/6/8/12/16 bits, both schemes) is:
          thermograd experiment quantization --full --seeds 1 2 3 --steps 469
        and for the CNN whose factors fit a device (≤ 785 wide): add --model tiny-cnn.
        """
    )

    @OptionGroup(title: "Comparison") var comparison: ComparisonCommandOptions
    @OptionGroup(title: "TK-FAC method") var method: TKFACMethodOptions
    @OptionGroup(title: "TK-FAC device (converters are set per arm)") var device: DeviceOptions<TKFACDevice>
    @OptionGroup(title: "Converter sweeps") var converters: ConverterSweepOptions
    @Option(parsing: .upToNextOption, help: "Input quantisation schemes: conservative, plainRounding, spectralShift.")
    var schemes: [String] = ["conservative", "plainRounding"]
    @Flag(help: "Sweep 4, 6, 8, 12, 16 bits for inputs and outputs (overrides the two sweeps).")
    var full = false

    func configure(_ e: inout QuantizationExperiment) throws {
        e.inputBits = full ? QuantizationExperiment.fullBits : converters.inputBits
        e.outputBits = full ? QuantizationExperiment.fullBits : converters.outputBits
        e.schemes = try schemes.map { s in
            guard let q = QuantizationScheme(rawValue: s) else { throw ValidationError("--schemes: use conservative, spectralShift or plainRounding, got \(s)") }
            return q
        }
    }

    func run() throws { _ = try runArms(name: "quantization", title: "TK-FAC quantisation") }
}
