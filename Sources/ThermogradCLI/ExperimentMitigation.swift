import ArgumentParser
import Experiments

/// `thermograd experiment mitigation`: TK-FAC at low converter resolutions with and without each error
/// mitigation (ensembles, dithered ADC, spectral-shift quantisation), against digital K-FAC.
struct ExperimentMitigation: TKFACArmsCommand {
    typealias Definition = MitigationExperiment
    static let configuration = CommandConfiguration(
        commandName: "mitigation",
        abstract: "TK-FAC error mitigation (ensembles, dithered ADC, spectral shift) at low converter resolutions.",
        discussion: """
        Arms: digital K-FAC; per --adc-bits-sweep (ideal DAC) TK-FAC with a plain ADC, a subtractively dithered \
        ADC, an ensemble of --ensemble-size devices per factor, and both; per --dac-bits-sweep (ideal ADC) the \
        conservative scheme, the spectral-shift scheme and a stochastic-rounding ensemble; and a --reference-bits \
        ADC arm (the target: mitigated 4-bit output within 0.5 points of it). Every TK-FAC arm measures the \
        update error against digital K-FAC on the same factors. Writes mitigation.csv, mitigation.svg and one \
        SVG per group, mitigation-summary.svg (accuracy and update error against bits, one line per \
        mitigation, settings in the title, every arm's in the caption) and mitigation-table.txt. See docs/device.md, "Error mitigation".

        The default is a reduced run (1 seed, 300 steps); ensembles multiply the simulation time by --ensemble-size.
        """
    )

    @OptionGroup(title: "Comparison") var comparison: ComparisonCommandOptions
    @OptionGroup(title: "TK-FAC method") var method: TKFACMethodOptions
    @OptionGroup(title: "TK-FAC device (converters and mitigations are set per arm)") var device: DeviceOptions<TKFACDevice>
    @OptionGroup(title: "Converter sweeps") var converters: ConverterSweepOptions
    @Option(name: .customLong("ensemble-size"), help: "Devices per factor in the ensemble arms (2…64; the TK-FAC group's --ensemble is the base every arm overrides).")
    var ensemble: Int = 4
    @Option(name: .customLong("reference-bits"), help: "ADC resolution of the reference arm.")
    var referenceBits: Int = 16

    func configure(_ e: inout MitigationExperiment) {
        e.inputBits = converters.inputBits
        e.outputBits = converters.outputBits
        e.ensemble = ensemble
        e.referenceBits = referenceBits
    }

    func run() throws {
        let (e, results, caption, folder) = try runArms(name: "mitigation", title: "TK-FAC error mitigation")
        let schedule = try comparison.schedule()
        let seeds = Set(results.records.map(\.seed)).sorted().map(String.init).joined(separator: " ")
        let settings = "M\(e.device.method), \(schedule.steps.map { "\($0) steps" } ?? "epochs per arm"), batch \(e.comparison.batchSize), seeds \(seeds), "
            + "β \(e.device.beta), ensemble ×\(e.ensemble)"
        try e.summaryPlot(results, settings: settings, header: caption).write(to: "\(folder)/mitigation-summary.svg")
        print("wrote \(folder)/mitigation-summary.svg")
    }
}
