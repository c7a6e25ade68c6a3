import Foundation
import Linalg
import Predictions
import Testing

/// Any workload within the countable range predicts finite, non-negative times and memory, and a workload
/// written as JSON reads back equal (seeded random shapes, log-uniform over 1…2²⁰ per field).
@Suite struct WorkloadPropertyTests {
    func logUniform(_ rng: inout Xoshiro256StarStar, upTo bits: Int) -> Int {
        Int(pow(2.0, rng.nextUniform() * Double(bits)).rounded(.down))
    }

    @Test func validWorkloadsPredictFiniteCostsAndRoundTrip() throws {
        var rng = Xoshiro256StarStar(seed: 53)
        var analog = AnalogHardware()
        analog.deviceSize = Int.max
        let model = try StepCostModel(digital: .h100, analog: analog)
        var predicted = 0
        for i in 0..<300 {
            let layers = (0..<rng.nextInt(in: 1...4)).map { j in
                WorkloadLayer("l\(j)", inputs: logUniform(&rng, upTo: 20) + 1, outputs: logUniform(&rng, upTo: 20) + 1,
                              positions: logUniform(&rng, upTo: 12) + 1, count: logUniform(&rng, upTo: 6) + 1, bias: rng.nextUniform() < 0.5)
            }
            let w = Workload(name: "w\(i)", summary: "", batch: logUniform(&rng, upTo: 12) + 1,
                             outputDimension: logUniform(&rng, upTo: 12) + 1, layers: layers)
            let json = try JSONEncoder().encode(w)
            guard (try? w.validate()) != nil else {
                // Refused as too large: then reading it from a file is refused the same way.
                #expect(throws: PredictionError.self) { try Workload.decode(json, path: "w.json") }
                continue
            }
            #expect(try Workload.decode(json, path: "w.json") == w)
            let p = try model.predict(w)
            for o in p.optimizers {
                #expect(o.totalSeconds.isFinite && o.totalSeconds > 0 && o.memoryBytes.isFinite && o.memoryBytes >= 0, "\(w) \(o.optimizer)")
            }
            predicted += 1
        }
        #expect(predicted > 100)
    }
}
