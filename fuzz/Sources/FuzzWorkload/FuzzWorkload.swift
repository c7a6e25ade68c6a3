import Foundation
import Predictions

/// Workload JSON (`thermograd predict --workload-file`): decode, validate and, when valid, predict every
/// optimiser's cost on an A100 with a device large enough for any layer. Any input must give a prediction or
/// a `PredictionError`, never a trap (integer overflow in shape products was one).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkload(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    guard let workload = try? Workload.decode(data, path: "input") else { return 0 }
    var analog = AnalogHardware()
    analog.deviceSize = Int.max
    if let model = try? StepCostModel(digital: .a100, analog: analog), let prediction = try? model.predict(workload) {
        _ = prediction.optimizers.map(\.totalSeconds)
    }
    return 0
}
