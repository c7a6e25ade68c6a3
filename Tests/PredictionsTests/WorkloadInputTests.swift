import Foundation
import Predictions
import Testing

/// Workloads given as data (files, `transformer-<width>`) either predict or are refused with the field named:
/// shape products beyond 2⁵³ used to trap on Int overflow, and fractional or huge counts were reported as
/// "not valid JSON".
@Suite struct WorkloadInputTests {
    func workloadJSON(batch: String = "32", layer: String = #""inputs": 100, "outputs": 10"#) -> Data {
        Data(#"{"name": "w", "batch": \#(batch), "outputDimension": 10, "layers": [{"name": "l", \#(layer)}]}"#.utf8)
    }

    func message(_ data: Data) -> String? {
        do { _ = try Workload.decode(data, path: "w.json"); return nil } catch { return error.description }
    }

    @Test func fractionalAndOutOfRangeCountsNameTheField() {
        #expect(message(workloadJSON(layer: #""inputs": 784.5, "outputs": 10"#))?.contains("layers[0].inputs = 784.5 is not a whole number") == true)
        #expect(message(workloadJSON(batch: "1e30"))?.contains("field batch = 1e+30 is out of range") == true)
        #expect(message(workloadJSON(layer: #""inputs": 100, "outputs": 10, "count": 99999999999999999999"#))?
            .contains("layers[0].count") == true)
        #expect(message(workloadJSON(layer: #""inputs": "many", "outputs": 10"#))?.contains("layers[0].inputs") == true)
        #expect(message(workloadJSON(layer: #""outputs": 10"#))?.contains("missing field layers[0].inputs") == true)
        #expect(message(Data("{ not json".utf8))?.contains("not valid JSON") == true)
        #expect(message(workloadJSON()) == nil)
    }

    @Test(arguments: [
        (#""batch": 4611686018427387904"#, "batch × outputDimension"),
        (#""batch": 32, "layers": [{"name": "l", "inputs": 100, "outputs": 10, "count": 4611686018427387904}]"#, "× count"),
        (#""batch": 1048576, "layers": [{"name": "l", "inputs": 100, "outputs": 10, "positions": 4611686018427387904}]"#, "batch × positions"),
        (#""batch": 32, "layers": [{"name": "l", "inputs": 9223372036854775807, "outputs": 1}]"#, "(inputs + 1) × outputs"),
    ])
    func productsBeyondTwoToTheFiftyThreeAreRefused(fields: String, named: String) {
        var text = #"{"name": "w", "outputDimension": 10, "layers": [{"name": "l", "inputs": 100, "outputs": 10}], "#
        if fields.contains("layers") { text = #"{"name": "w", "outputDimension": 10, "# }
        let data = Data((text + fields + "}").utf8)
        #expect(message(data)?.contains(named) == true, "\(message(data) ?? "accepted")")
    }

    /// The largest accepted shapes predict finite times (every product stays exactly countable in Double).
    @Test func largestAcceptedWorkloadPredictsFiniteCosts() throws {
        let w = Workload(name: "edge", summary: "", batch: 1 << 20, outputDimension: 1 << 20,
                         layers: [WorkloadLayer("l", inputs: 1 << 26, outputs: 1 << 26, positions: 1 << 20, count: 1)])
        try w.validate()
        var analog = AnalogHardware()
        analog.deviceSize = Int.max
        let p = try StepCostModel(digital: .a100, analog: analog).predict(w)
        #expect(p.optimizers.allSatisfy { $0.totalSeconds.isFinite && $0.memoryBytes.isFinite })
    }

    /// Found by fuzz/FuzzWorkload: a narrow layer with a huge output count (10 × 3.8e11 parameters, inside 2⁵³)
    /// squared its factor order in Int (1.4e23) and trapped. The crasher (a duplicate "outputs" key) is replayed.
    @Test func hugeFactorOrderPredictsInsteadOfTrapping() throws {
        var analog = AnalogHardware()
        analog.deviceSize = Int.max
        let model = try StepCostModel(digital: .a100, analog: analog)
        let w = Workload(name: "wide", summary: "", batch: 32, outputDimension: 1000,
                         layers: [WorkloadLayer("l", inputs: 9, outputs: 377_777_777_777, positions: 1, count: 1)])
        try w.validate()
        #expect(try model.predict(w).optimizers.allSatisfy { $0.totalSeconds.isFinite })
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let crasher = repository.appendingPathComponent("fuzz/regressions/FuzzWorkload/duplicate-key-huge-factor.json")
        let replayed = try Workload.decode(try Data(contentsOf: crasher), path: crasher.path)
        #expect(try model.predict(replayed).optimizers.allSatisfy { $0.totalSeconds.isFinite })
    }

    @Test func hugeTransformerWidthIsRefused() throws {
        #expect(throws: PredictionError.self) { try Workload.builtin("transformer-4611686018427387904") }
        #expect(throws: PredictionError.self) { try Workload.builtin("transformer-27000001") }
        #expect(try Workload.builtin("transformer-1024").layers.count == 4)
    }

    @Test func workloadPathThatIsAFolderOrMissingIsNamed() {
        let folder = NSTemporaryDirectory()
        #expect(throws: PredictionError.unreadableFile(path: folder, detail: "it is a folder; name a JSON file")) {
            try Workload.load(path: folder)
        }
        #expect(throws: PredictionError.unreadableFile(path: "/nonexistent/w.json", detail: "no such file; check the path")) {
            try Workload.load(path: "/nonexistent/w.json")
        }
    }
}
