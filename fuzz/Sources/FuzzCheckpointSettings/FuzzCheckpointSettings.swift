import Foundation
import Training

/// The settings a checkpoint stores (metadata `configuration`, compared field by field on `--resume`) and
/// config.json: any text must compare to the current settings without a trap, and any JSON that decodes to a
/// `TrainingConfiguration` must validate (or be refused), print and estimate its memory without a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointSettings(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    let text = String(decoding: data, as: UTF8.self)
    _ = TrainingConfiguration().resumeDifferences(from: text)
    if let stored = try? JSONDecoder().decode(TrainingConfiguration.self, from: data) {
        _ = stored.resumeDifferences(from: TrainingConfiguration().resumeFingerprint())
        if (try? stored.validate()) != nil {
            _ = stored.description
            _ = stored.estimatedMemoryBytes()
        }
    }
    return 0
}
