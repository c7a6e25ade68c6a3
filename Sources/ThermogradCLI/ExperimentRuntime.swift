import ArgumentParser
import Experiments
import Foundation
import Linalg
import Predictions
import Reporting

/// `thermograd experiment runtime`: the TNGD paper's Fig. 2 — runtime per iteration of NGD (dense solve), NGD-CG,
/// NGD-Woodbury and TNGD against N, b and d_z, measured on this CPU and predicted by the cost model
/// (docs/tngd.md#runtime-per-iteration).
struct ExperimentRuntime: ExperimentCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "Runtime per iteration of NGD, NGD-CG, NGD-Woodbury and TNGD against N, b and d_z (the TNGD paper's Fig. 2).",
        discussion: """
        Each method trains an MLP inputs → h → d_z (h chosen for the requested parameter count N) on random \
        data; one full step (forward, backward, solve, update) is timed, median of --repeats after two warm-up \
        steps, on this CPU with --threads OpenBLAS threads. TNGD's measured time is the simulator's. Beside \
        every measurement the cost model (`thermograd predict`'s, digital rates measured on this CPU now) gives \
        its prediction: for the digital methods on this CPU, for TNGD on the modelled device (Jacobian and \
        transfers digital, the analog run t·τ). Writes runtime.csv, runtime.svg (one panel per axis, log scale, \
        measured solid, predicted dashed, settings under the panels) and runtime-table.txt.
        """
    )

    private static let d = RuntimeExperiment()

    @Option(parsing: .upToNextOption, help: "Parameter counts N of the N sweep.")
    var parameters: [Int] = d.parameterSweep
    @Option(parsing: .upToNextOption, help: "Batches b of the b sweep.")
    var batches: [Int] = d.batchSweep
    @Option(parsing: .upToNextOption, help: "Output dimensions d_z (classes) of the d_z sweep.")
    var outputs: [Int] = d.outputSweep
    @Option(name: .customLong("base-parameters"), help: "N while b or d_z is swept.")
    var baseParameters: Int = d.baseParameters
    @Option(name: .customLong("base-batch"), help: "b while N or d_z is swept.")
    var baseBatch: Int = d.baseBatch
    @Option(name: .customLong("base-outputs"), help: "d_z while N or b is swept.")
    var baseOutputs: Int = d.baseOutputs
    @Option(help: "Input features of the MLP.")
    var inputs: Int = d.inputs
    @Option(parsing: .upToNextOption, help: "Axes to sweep: parameters, batch, outputs.")
    var axes: [String] = RuntimeExperiment.Axis.allCases.map(\.rawValue)
    @Option(help: "Timed steps per method and point (median kept).")
    var repeats: Int = d.repeats
    @Option(name: .customLong("cg-iterations"), help: "NGD-CG iterations per step (fixed).")
    var cgIterations: Int = d.cgIterations
    @OptionGroup(title: "TNGD") var tngd: TNGDOptions
    @OptionGroup(title: "TNGD device") var device: DeviceOptions<TNGDDevice>
    @OptionGroup var threading: ThreadsOption<OneThread>
    @Option(help: "Output folder.")
    var out: String = "runs/experiment-runtime"

    func makeExperiment() throws -> RuntimeExperiment {
        var e = RuntimeExperiment()
        e.parameterSweep = parameters
        e.batchSweep = batches
        e.outputSweep = outputs
        e.baseParameters = baseParameters
        e.baseBatch = baseBatch
        e.baseOutputs = baseOutputs
        e.inputs = inputs
        e.repeats = repeats
        e.cgIterations = cgIterations
        e.axes = try axes.map { name in
            guard let a = RuntimeExperiment.Axis(rawValue: name) else {
                throw ValidationError("--axes: unknown axis '\(name)'; use parameters, batch or outputs")
            }
            return a
        }
        e.tngd = try tngd.settings(device: device, seed: 0)
        e.damping = e.tngd.damping
        return e
    }

    func run() throws {
        threading.apply()
        let e = try experiment()
        try OutputFolder.create(out)
        let cpu = DigitalHardware.measuredCPU()
        var schedule = KFACSchedule()
        schedule.cgIterations = e.cgIterations
        schedule.tngdAnalogTime = e.tngd.analogTime
        let model = try StepCostModel(digital: cpu, schedule: schedule)
        let load = SystemLoad.oneMinute
        let header = ["Runtime per iteration (TNGD paper, Fig. 2) · \(e.description)",
                      "measured on this CPU (\(BLASThreads.current) OpenBLAS thread\(BLASThreads.current == 1 ? "" : "s"), load average \(load)); "
                          + "predicted by the cost model with \(cpu.description)", "device: \(model.analog)"]
        header.forEach { print($0) }
        let records = try e.run(predict: { net, p in
            let w = Workload(model: net, name: "runtime-mlp", summary: "", batch: p.batch, outputDimension: p.outputs)
            let prediction = try model.predict(w)
            return Dictionary(uniqueKeysWithValues: RuntimeExperiment.Method.allCases.map { m in
                (m.rawValue, prediction.optimizer(m.rawValue)?.totalSeconds ?? .nan)
            })
        }, log: { print($0) })
        try write(records, e, header: header)
    }

    func write(_ records: [RuntimeExperiment.Record], _ e: RuntimeExperiment, header: [String]) throws {
        let csv = try CSVWriter(path: "\(out)/runtime.csv", columns: ["axis", "value", "parameters", "batch", "outputs", "method",
                                                                    "measured_seconds", "predicted_seconds"])
        for r in records {
            try csv.append([.text(r.point.axis.rawValue), .integer(r.point.value), .integer(r.point.parameters), .integer(r.point.batch),
                            .integer(r.point.outputs), .text(r.method.rawValue), .number(r.measuredSeconds),
                            .number(r.predictedSeconds ?? .nan)])
        }
        var table = TextTable(title: "Seconds per iteration: measured on this CPU (predicted by the cost model; TNGD's prediction is the device)",
                              headers: ["axis", "value", "N", "b", "d_z"] + e.methods.map(\.rawValue))
        let byPoint = Dictionary(grouping: records) { "\($0.point.axis.rawValue) \($0.point.value)" }
        for p in e.points {
            let rows = byPoint["\(p.axis.rawValue) \(p.value)"] ?? []
            table.append(["\(p.axis.rawValue)", "\(p.value)", "\(p.parameters)", "\(p.batch)", "\(p.outputs)"] + e.methods.map { m in
                guard let r = rows.first(where: { $0.method == m }) else { return "–" }
                return String(format: "%.3g", r.measuredSeconds) + (r.predictedSeconds.map { String(format: " (%.3g)", $0) } ?? "")
            })
        }
        let text = (header + [table.render()]).joined(separator: "\n")
        try AtomicFile.write(text + "\n", to: "\(out)/runtime-table.txt")
        print(table.render())
        let labels: [RuntimeExperiment.Axis: String] = [.parameters: "parameters N", .batch: "batch b", .outputs: "output dimension d_z"]
        let panels = e.axes.map { axis -> PlotPanel in
            let series = e.methods.enumerated().flatMap { i, m -> [PlotSeries] in
                let rs = records.filter { $0.point.axis == axis && $0.method == m }
                let x = rs.map { Double($0.point.value) }
                let color = LinePlot.palette[i % LinePlot.palette.count]
                return [PlotSeries(name: "\(m.rawValue) measured", x: x, y: rs.map { $0.measuredSeconds * 1e3 }, color: color, markers: true),
                        PlotSeries(name: "\(m.rawValue) predicted\(m == .tngd ? " (device)" : "")", x: x,
                                   y: rs.map { ($0.predictedSeconds ?? .nan) * 1e3 }, color: color, dashed: true)]
            }
            return PlotPanel(title: "against \(labels[axis]!)", xLabel: labels[axis]!, yLabel: "ms per iteration (log)", series: series,
                             logarithmicY: true)
        }
        var plot = LinePlot(title: "Runtime per iteration: NGD, NGD-CG, NGD-Woodbury, TNGD", panels: panels, columns: min(3, panels.count))
        plot.caption = header
        try plot.write(to: "\(out)/runtime.svg")
        print("wrote \(out)/runtime.csv, \(out)/runtime.svg and \(out)/runtime-table.txt")
    }
}
