import Foundation
import Optimizers
import Reporting
import Solvers
import ThermoDevice

/// `thermograd experiment mitigation` (docs/device.md#error-mitigation, the TK-FAC paper's open question 3): TK-FAC
/// at low converter resolutions with and without each mitigation, against digital K-FAC, on Fashion-MNIST.
///
/// Arms, per output (ADC) resolution `b` (ideal DAC): plain, subtractively dithered, an ensemble of `K` devices
/// per factor, and both; per input (DAC) resolution (ideal ADC): the conservative scheme (nearest rounding), the
/// spectral-shift scheme, and an ensemble of `K` with stochastic rounding (nearest rounding is the same on every
/// device and would not average out). A reference arm at `referenceBits` output bits gives the target line
/// ("within 0.5 points of 16 bits"). Every arm measures `‖ΔU‖/‖U‖` against digital K-FAC on the same factors.
public struct MitigationExperiment: Sendable, CustomStringConvertible {
    public var comparison = KFACComparisonSettings()
    /// TK-FAC settings other than the converters and the mitigations (method, samples, β, …).
    public var device = ThermodynamicKFACOptions()
    public var inputBits: [Int] = [4, 8]
    public var outputBits: [Int] = [4, 8]
    /// Devices per factor of the ensemble arms.
    public var ensemble = 4
    /// Output resolution of the reference arm.
    public var referenceBits = 16

    public init() {}

    public func validate() throws(ExperimentError) {
        try comparison.validate()
        for b in inputBits + outputBits + [referenceBits] where !(1...24).contains(b) {
            throw .invalidSetting(name: "bits", value: "\(b)", requirement: "converter resolution 1…24 bits")
        }
        guard (2...64).contains(ensemble) else {
            throw .invalidSetting(name: "ensemble", value: "\(ensemble)", requirement: "2…64 devices per factor (1 is the plain arm)")
        }
        guard !(inputBits.isEmpty && outputBits.isEmpty) else {
            throw .invalidSetting(name: "bits", value: "none", requirement: "at least one input or output resolution")
        }
        do { _ = try device.configuration() } catch { throw .invalidSetting(name: "tkfac", value: "\(device)", requirement: error.description) }
    }

    /// One arm's converter and mitigation settings on top of `device`.
    struct Variant {
        var name: String
        var group: String
        /// The summary plot's series ("output: dither", …); the bits are the x coordinate.
        var series: String = ""
        var inputBits: Int? = nil
        var outputBits: Int? = nil
        var scheme = QuantizationScheme.conservative
        var stochastic = false
        var dither = false
        var ensemble = 1
    }

    /// The variants in table order: output sweep, then input sweep, then the reference.
    var variants: [Variant] {
        var v: [Variant] = []
        for b in outputBits {
            let g = "output \(b) bits"
            v.append(Variant(name: "out \(b)b", group: g, series: "ADC plain", outputBits: b))
            v.append(Variant(name: "out \(b)b dither", group: g, series: "ADC dither", outputBits: b, dither: true))
            v.append(Variant(name: "out \(b)b ×\(ensemble)", group: g, series: "ADC ensemble ×\(ensemble)", outputBits: b, ensemble: ensemble))
            v.append(Variant(name: "out \(b)b dither ×\(ensemble)", group: g, series: "ADC dither + ensemble ×\(ensemble)", outputBits: b,
                             dither: true, ensemble: ensemble))
        }
        for b in inputBits {
            let g = "input \(b) bits"
            v.append(Variant(name: "in \(b)b cons.", group: g, series: "DAC conservative", inputBits: b))
            v.append(Variant(name: "in \(b)b spectral", group: g, series: "DAC spectral shift", inputBits: b, scheme: .spectralShift))
            v.append(Variant(name: "in \(b)b cons. stoch. ×\(ensemble)", group: g, series: "DAC stochastic ensemble ×\(ensemble)",
                             inputBits: b, stochastic: true, ensemble: ensemble))
        }
        v.append(Variant(name: "out \(referenceBits)b (reference)", group: "reference", outputBits: referenceBits))
        return v
    }

    /// Digital K-FAC, then one TK-FAC arm per variant. Every group's plot shows digital K-FAC and the reference.
    public func arms() throws(ExperimentError) -> [ExperimentArm] {
        try validate()
        let variants = self.variants
        let groups = Array(Set(variants.map(\.group))).filter { $0 != "reference" }.sorted()
        var arms = [ExperimentArm.kfac(name: "K-FAC (digital)", groups: groups, training: comparison.kfacTraining,
                                       kfac: comparison.kfac)]
        do {
            for v in variants {
                var o = device
                o.inputBits = v.inputBits
                o.outputBits = v.outputBits
                o.quantization = v.scheme.rawValue
                o.stochasticRounding = v.stochastic
                o.outputDither = v.dither ? true : nil
                o.ensemble = v.ensemble > 1 ? v.ensemble : nil
                arms.append(try .thermodynamicKFAC(name: "TK-FAC \(v.name)", groups: v.group == "reference" ? groups : [v.group],
                                                   training: comparison.kfacTraining, kfac: comparison.kfac, options: o,
                                                   measureUpdateError: true))
            }
        } catch { throw .invalidSetting(name: "tkfac", value: "\(device)", requirement: error.description) }
        return arms
    }

    /// Table columns beyond accuracy and loss: device time per step (critical path), energy per step, the
    /// update's relative error against digital K-FAC, the coupling DAC's diagonal shift, device errors.
    public static var tableColumns: [ExperimentColumn] {
        let q = QuantizationExperiment.tableColumns
        let energy: ExperimentColumn =
            ("energy J/step", 4, { r in r.metrics["solver_device_energy_joules"].map { $0 / Double(max(r.step, 1)) } })
        // Device s/step, energy, ‖ΔU‖/‖U‖, DAC diagonal shift, device errors.
        return [q[0], energy, q[1], q[3], q[4]]
    }

    /// Final test accuracy and update error (mean over evaluations, averaged over seeds) against the converter
    /// resolution, one line per mitigation; digital K-FAC and the reference arm as flat dashed lines. `settings`
    /// (a short line) is printed in the title, and `header` with every arm's settings in the caption
    /// (`ExperimentResults.caption`), so the figure carries what made it.
    public func summaryPlot(_ results: ExperimentResults, settings: String, header: [String] = []) -> LinePlot {
        func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
        func accuracy(_ arm: String) -> Double? { mean(results.finalRecords(arm: arm).map { 100 * $0.testAccuracy }) }
        func error(_ arm: String) -> Double? {
            let seeds = Set(results.records.filter { $0.arm == arm }.map(\.seed))
            return mean(seeds.compactMap { MethodsExperiment.meanUpdateError(results, arm: arm, seed: $0) })
        }
        let measured = variants.filter { !$0.series.isEmpty }
        let bits = measured.compactMap { $0.inputBits ?? $0.outputBits }
        let span = [Double(bits.min() ?? 4), Double(bits.max() ?? 8)]
        func lines(_ value: (String) -> Double?) -> [PlotSeries] {
            var order: [String] = []
            for v in measured where !order.contains(v.series) { order.append(v.series) }
            return order.map { name in
                let points = measured.filter { $0.series == name }.compactMap { v -> PlotPoint? in
                    guard let y = value("TK-FAC " + v.name) else { return nil }
                    return PlotPoint(x: Double(v.inputBits ?? v.outputBits ?? 0), y: y)
                }
                return PlotSeries(name: name, points: points.sorted { $0.x < $1.x }, dashed: name.hasPrefix("DAC"), markers: true)
            }
        }
        var accuracyLines = lines(accuracy)
        let reference = "TK-FAC out \(referenceBits)b (reference)"
        for (name, arm) in [("K-FAC (digital)", "K-FAC (digital)"), ("\(referenceBits)-bit ADC", reference)] {
            if let y = accuracy(arm) { accuracyLines.append(PlotSeries(name: name, x: span, y: [y, y], dashed: true)) }
        }
        var errorLines = lines(error)
        if let y = error(reference) { errorLines.append(PlotSeries(name: "\(referenceBits)-bit ADC", x: span, y: [y, y], dashed: true)) }
        var plot = LinePlot(title: "TK-FAC error mitigation · \(settings)", panels: [
            PlotPanel(title: "Final test accuracy", xLabel: "converter bits", yLabel: "accuracy (%)", series: accuracyLines),
            PlotPanel(title: "Update error vs digital K-FAC (mean over evaluations)", xLabel: "converter bits",
                      yLabel: "‖U − U_K-FAC‖/‖U_K-FAC‖", series: errorLines, logarithmicY: true),
        ])
        plot.caption = results.caption(header)
        return plot
    }

    public var description: String {
        "mitigation: output bits \(outputBits) (plain, dither, ensemble ×\(ensemble), both), input bits \(inputBits) "
            + "(conservative, spectral shift, stochastic ensemble ×\(ensemble)), reference \(referenceBits)-bit ADC; "
            + "\(comparison); TK-FAC base \(device)"
    }
}
