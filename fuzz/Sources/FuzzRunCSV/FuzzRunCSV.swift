import Foundation
import Reporting

/// Run-folder CSV files as `train --resume` reads them back (metrics.csv, epochs.csv): any text must parse,
/// and every row kept must have the header's width. The kept rows are written again and must read back equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunCSV(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    let table = CSVWriter.readAppended(text)
    precondition(table.rows.allSatisfy { $0.count == table.header.count }, "a kept row differs from the header's width")
    guard !table.header.isEmpty, !table.rows.isEmpty else { return 0 }
    // Written back with the writer's escaping and parsed again: the same rows (fields without "\r", which the
    // reader drops outside quotes by design).
    let rewritten = ([table.header] + table.rows).map { $0.map(CSVWriter.escape).joined(separator: ",") + "\n" }.joined()
    let again = CSVWriter.readAppended(rewritten)
    precondition(again.rows == table.rows && again.header == table.header, "CSV rows do not survive a write and a read")
    return 0
}
