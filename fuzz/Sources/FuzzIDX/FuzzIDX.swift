import Datasets
import Foundation

/// IDX arrays, plain and gzip'd: the bytes are parsed directly, and also written to a file and read back
/// through zlib (`IDXFile(contentsOf:)`), as `thermograd train --data-dir` reads them. Any input must give an
/// `IDXFile` or a `DatasetError`, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    for rank in [nil, 1, 3] { _ = try? IDXFile(parsing: bytes, path: "input", expectedDimensions: rank) }
    let path = NSTemporaryDirectory() + "thermograd-fuzz-idx-\(getpid())"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    defer { unlink(path) }
    _ = try? IDXFile(contentsOf: path)
    return 0
}
