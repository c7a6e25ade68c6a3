import Datasets
import Foundation

/// IDX arrays, plain and gzip'd: the bytes are parsed directly, and also written to a file and read back
/// through zlib (`IDXFile(contentsOf:)`), as `thermograd train --data-dir` reads them. Any input must give an
/// `IDXFile` or a `DatasetError`, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    for rank in [nil, 1, 3] { _ = try? IDXFile(parsing: bytes, path: "input", expectedDimensions: rank) }
    // A plain write to memory-backed /dev/shm when there is one (FileManager's atomic write made this target
    // twenty times slower than the others).
    let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
    let path = folder + "thermograd-fuzz-idx-\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    defer { unlink(path) }
    _ = try? IDXFile(contentsOf: path)
    return 0
}
